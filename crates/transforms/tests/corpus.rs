//! Corpus conformance of the transforms, on the shared corpora (`FERRODEF_CORPORA`): MozDef's
//! keyMapping cases (`mozdef/mq_parse_cases.json`), MaxMind's test databases and a real
//! country database (`geoip/`).

use std::net::IpAddr;

use chrono::{Datelike, TimeZone, Utc};
use ferrodef_transforms::geoip::{is_public, GeoConfig, GeoIp};
use ferrodef_transforms::normalize::{normalize, normalize_incoming, NormalizeContext};
use serde_json::Value;

#[path = "../../../tests-support/corpora.rs"]
mod support;
use support::corpora;

fn mozdef_cases() -> Value {
    let path = corpora().join("mozdef/mq_parse_cases.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

fn ctx() -> NormalizeContext {
    NormalizeContext {
        now: Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap(),
        mozdefhostname: "sample".into(),
        default_tz: chrono_tz::UTC,
        source: None,
    }
}

fn get<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    // "details.x" addresses details["x"]; other dotted keys are literal top-level keys.
    match path.split_once('.') {
        Some(("details", b)) => v.get("details")?.get(b),
        _ => v.get(path),
    }
}

/// MozDef's own keyMapping test cases (`tests/mq/test_esworker_eventtask.py`).
#[test]
fn mozdef_keymapping_cases() {
    let data = mozdef_cases();
    let year = ctx().now.year().to_string();
    let mut n = 0;
    let mut failures = Vec::new();
    for case in data["cases"].as_array().unwrap() {
        if !case["plugin"].as_str().unwrap().contains("keyMapping") {
            continue;
        }
        n += 1;
        let test = case["test"].as_str().unwrap();
        let ev = normalize(case["input"].clone(), &ctx()).unwrap();
        let out = serde_json::to_value(&ev).unwrap();
        for (k, want) in case["expected"].as_object().unwrap() {
            let want = match want {
                Value::String(s) => Value::String(s.replace("<CURRENT_YEAR>", &year)),
                other => other.clone(),
            };
            let got = get(&out, k).cloned().unwrap_or(Value::Null);
            if got != want {
                failures.push(format!("{test}: {k}: want {want}, got {got}"));
            }
        }
        if test.ends_with("test_details_nondict") {
            let mut keys: Vec<_> = out["details"]
                .as_object()
                .unwrap()
                .keys()
                .cloned()
                .collect();
            keys.sort();
            assert_eq!(keys, vec!["message", "payload"]);
        }
        if let Some(rel) = case.get("expected_relations") {
            assert_eq!(rel[0], "receivedtimestamp != utctimestamp");
            assert_ne!(out["receivedtimestamp"], out["utctimestamp"], "{test}");
        }
    }
    assert_eq!(n, 4);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// MozDef's case inputs read as [`ferrodef_event::Incoming`] (the HTTP path) normalize to the
/// events their `serde_json::Value` gives.
#[test]
fn mozdef_inputs_normalize_alike_as_incoming() {
    let data = mozdef_cases();
    let cases = data["cases"].as_array().unwrap();
    assert!(cases.len() >= 4);
    for case in cases {
        let text = case["input"].to_string();
        let by_value = normalize(serde_json::from_str(&text).unwrap(), &ctx());
        let by_incoming = normalize_incoming(serde_json::from_str(&text).unwrap(), &ctx());
        match (by_value, by_incoming) {
            (Ok(a), Ok(b)) => assert_eq!(
                serde_json::to_string(&a).unwrap(),
                serde_json::to_string(&b).unwrap(),
                "{text}"
            ),
            (Err(a), Err(b)) => assert_eq!(a, b, "{text}"),
            (a, b) => panic!("{text}: {a:?} vs {b:?}"),
        }
    }
}

fn get_path<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(v, |v, k| v.get(k))
}

fn geo(city: Option<&str>, country: Option<&str>, asn: Option<&str>) -> (GeoIp, Vec<String>) {
    GeoIp::open(&GeoConfig {
        city_db: city.map(|f| corpora().join("geoip").join(f)),
        country_db: country.map(|f| corpora().join("geoip").join(f)),
        asn_db: asn.map(|f| corpora().join("geoip").join(f)),
        cache_size: 1000,
    })
}

fn cases(db: &str) -> Value {
    let all: Value = serde_json::from_str(
        &std::fs::read_to_string(corpora().join("geoip/maxmind_test_data/lookup_cases.json"))
            .unwrap(),
    )
    .unwrap();
    all[db].clone()
}

/// MaxMind's City test database: every recorded lookup gives the recorded country, city and
/// location (documentation ranges such as 2001:db8::/32 are skipped as non-public).
#[test]
fn city_lookup_cases() {
    let (g, w) = geo(
        Some("maxmind_test_data/GeoLite2-City-Test.mmdb"),
        None,
        None,
    );
    assert!(w.is_empty(), "{w:?}");
    let c = cases("GeoLite2-City-Test");
    let mut checked = 0;
    let mut failures = Vec::new();
    for case in c["cases"].as_array().unwrap() {
        let ip: IpAddr = case["ip"].as_str().unwrap().parse().unwrap();
        if !is_public(ip) {
            continue;
        }
        let exp = &case["expected"];
        let got = g.lookup(ip).unwrap_or_default();
        let want = [
            (
                "country_code",
                get_path(exp, &["country", "iso_code"])
                    .or_else(|| get_path(exp, &["registered_country", "iso_code"])),
            ),
            ("city", get_path(exp, &["city", "names", "en"])),
            ("latitude", get_path(exp, &["location", "latitude"])),
            ("longitude", get_path(exp, &["location", "longitude"])),
            (
                "accuracy_radius",
                get_path(exp, &["location", "accuracy_radius"]),
            ),
        ];
        for (k, v) in want {
            let same = match (got.get(k), v) {
                (Some(Value::Number(a)), Some(Value::Number(b))) => a.as_f64() == b.as_f64(),
                (a, b) => a == b,
            };
            if !same {
                failures.push(format!("{ip} {k}: want {v:?}, got {:?}", got.get(k)));
            }
        }
        checked += 1;
    }
    assert!(checked > 300, "{checked}");
    assert!(
        failures.is_empty(),
        "{}",
        failures[..failures.len().min(10)].join("\n")
    );
    for ip in c["not_found"].as_array().unwrap() {
        assert!(g.lookup(ip.as_str().unwrap().parse().unwrap()).is_none());
    }
}

#[test]
fn asn_lookup_cases() {
    let (g, _) = geo(None, None, Some("maxmind_test_data/GeoLite2-ASN-Test.mmdb"));
    let c = cases("GeoLite2-ASN-Test");
    let mut checked = 0;
    for case in c["cases"].as_array().unwrap() {
        let ip: IpAddr = case["ip"].as_str().unwrap().parse().unwrap();
        if !is_public(ip) {
            continue;
        }
        let got = g.lookup(ip).unwrap_or_default();
        assert_eq!(
            got.get("asn"),
            case["expected"].get("autonomous_system_number"),
            "{ip}"
        );
        assert_eq!(
            got.get("as_organization"),
            case["expected"].get("autonomous_system_organization"),
            "{ip}"
        );
        checked += 1;
    }
    assert!(checked > 1000, "{checked}");
}

#[test]
fn real_country_database() {
    let (g, _) = geo(None, Some("country_mmdb/iptoasn-country.mmdb"), None);
    let mut d = ferrodef_event::Details::new();
    d.insert("sourceipaddress", Value::from("8.8.8.8"));
    d.insert("destinationipaddress", Value::from("10.0.0.1"));
    assert!(g.enrich(&mut d));
    assert_eq!(d["sourceipgeolocation"]["country_code"], "US");
    assert!(
        !d.contains_key("destinationipgeolocation"),
        "private addresses are not looked up"
    );
    assert_eq!(
        g.lookup("81.2.69.142".parse().unwrap()).unwrap()["country_code"],
        "GB"
    );
    assert_eq!(
        g.lookup("2001:4860:4860::8888".parse().unwrap()).unwrap()["country_code"],
        "US"
    );
}

#[test]
fn enrich_adds_geopoint_like_mozdef() {
    let (g, _) = geo(
        Some("maxmind_test_data/GeoLite2-City-Test.mmdb"),
        None,
        Some("maxmind_test_data/GeoLite2-ASN-Test.mmdb"),
    );
    let mut d = ferrodef_event::Details::new();
    d.insert("sourceipaddress", Value::from("81.2.69.142"));
    assert!(g.enrich(&mut d));
    let loc = &d["sourceipgeolocation"];
    assert_eq!(loc["country_code"], "GB");
    assert_eq!(loc["city"], "London");
    assert!(d["sourceipgeopoint"].as_str().unwrap().contains(','));
}

/// Every event of SigmaHQ's Windows regression samples (the event's XML as JSON; some files
/// hold several) normalizes to the Windows convention: `details.eventid`, `channel`,
/// `computer`, `providername` from `System`, `hostname` the computer, every EventData field
/// under its own name with its value.
#[test]
fn sigma_windows_samples_normalize_to_the_windows_convention() {
    fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "json") {
                out.push(p);
            }
        }
    }
    let mut files = Vec::new();
    walk(&corpora().join("sigma/regression_windows"), &mut files);
    assert!(files.len() > 90, "{}", files.len());
    let mut events = 0;
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        for doc in serde_json::Deserializer::from_str(&text).into_iter::<Value>() {
            let doc = doc.unwrap_or_else(|e| panic!("{}: {e}", f.display()));
            let sys = &doc["Event"]["System"];
            let ev =
                normalize(doc.clone(), &ctx()).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
            let d = |k: &str| ev.details.get(k).cloned().unwrap_or(Value::Null);
            let at = f.display();
            assert_eq!(d("eventid"), sys["EventID"], "{at}");
            assert_eq!(d("channel"), sys["Channel"], "{at}");
            assert_eq!(d("computer"), sys["Computer"], "{at}");
            assert_eq!(
                d("providername"),
                sys["Provider"]["#attributes"]["Name"],
                "{at}"
            );
            assert_eq!(Some(ev.hostname.as_str()), sys["Computer"].as_str(), "{at}");
            let data = doc["Event"]["EventData"].as_object().into_iter().flatten();
            // `#attributes` are the EventData element's own (its template name), not data.
            for (k, v) in data.filter(|(k, _)| *k != "#attributes") {
                assert_eq!(&d(k), v, "{at}: {k}");
            }
            events += 1;
        }
    }
    assert!(events >= files.len(), "{events}");
}
