//! Impossible travel on events carrying the GeoIP transform's geolocation (the coordinates,
//! cities and accuracy radii are those of MaxMind's test databases).

use chrono::{DateTime, Duration, TimeZone, Utc};
use ferrodef_event::{RuleKind, Severity};
use ferrodef_geomodel::{GeoConfig, GeoModel, GeoModelError};
use serde_json::{json, Value};

fn t(h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, h, m, 0).unwrap()
}

/// (ip, city, country, lat, lon, accuracy radius)
type Geo = (&'static str, &'static str, &'static str, f64, f64, f64);
const LONDON: Geo = ("81.2.69.142", "London", "GB", 51.5142, -0.0931, 10.0);
const BOXFORD: Geo = ("2.125.160.216", "Boxford", "GB", 51.75, -1.25, 100.0);
const LINKOPING: Geo = ("89.160.20.112", "Linköping", "SE", 58.4167, 15.6167, 76.0);
const MILTON: Geo = ("216.160.83.56", "Milton", "US", 47.2513, -122.3149, 22.0);
const CHANGCHUN: Geo = ("175.16.199.0", "Changchun", "CN", 43.88, 125.3228, 100.0);

/// A successful sshd login, as the parsers and the GeoIP transform leave it.
fn login(user: &str, g: Geo, at: DateTime<Utc>) -> Value {
    let (ip, city, country, lat, lon, radius) = g;
    json!({
        "utctimestamp": at.to_rfc3339(),
        "category": "authentication",
        "hostname": "bastion",
        "summary": format!("Accepted publickey for {user} from {ip} port 50022 ssh2"),
        "details": {
            "username": user, "sourceipaddress": ip, "success": true,
            "sourceipgeolocation": {"city": city, "country_code": country,
                "latitude": lat, "longitude": lon, "accuracy_radius": radius},
            "sourceipgeopoint": format!("{lat},{lon}")
        }
    })
}

#[test]
fn london_then_milton_within_an_hour_alerts() {
    let mut m = GeoModel::new(GeoConfig::default());
    assert!(m
        .observe(&login("alice", LONDON, t(10, 0)), t(10, 0))
        .is_none());
    let ev = login("alice", MILTON, t(10, 30));
    let a = m
        .observe(&ev, t(10, 31))
        .expect("London to Seattle in 30 minutes");
    assert_eq!(
        a.summary,
        "alice seen in London,GB then Milton,US (7734.76 KM in 30.00 minutes)"
    );
    assert_eq!(a.category, "geomodel");
    assert_eq!(a.tags, vec!["geomodel"]);
    assert_eq!(a.severity, Severity::Info);
    assert!(!a.notify_mozdefbot);
    assert_eq!(a.rule_kind, RuleKind::Geomodel);
    assert_eq!(a.classname, "AlertGeoModel");
    assert_eq!(a.key.as_deref(), Some("alice"));
    assert_eq!(a.utctimestamp, t(10, 31));
    assert_eq!(a.events, vec![ev]);
    let d = &a.details;
    assert_eq!(d["username"], "alice");
    assert_eq!(d["sourceipaddress"], "216.160.83.56");
    assert_eq!(d["sourceipv4address"], "216.160.83.56");
    assert_eq!(d["hops"][0]["origin"]["city"], "London");
    assert_eq!(d["hops"][0]["origin"]["ip"], "81.2.69.142");
    assert_eq!(d["hops"][0]["origin"]["geopoint"], "51.5142,-0.0931");
    assert_eq!(
        d["hops"][0]["destination"]["observed"],
        "2026-11-22T10:30:00+00:00"
    );
    assert_eq!(d["hops"][0]["destination"]["country"], "US");
    assert_eq!(d["seconds"], 1800.0);
    let speed = d["speed_kmh"].as_f64().unwrap();
    assert!((speed - 15_469.5).abs() < 1.0, "{speed}");
    // Staying in Milton: no alert; the state follows the user.
    assert!(m
        .observe(&login("alice", MILTON, t(12, 0)), t(12, 0))
        .is_none());
    assert_eq!(m.places("alice").unwrap().len(), 2);
}

#[test]
fn possible_travel_and_nearby_places_do_not_alert() {
    let mut m = GeoModel::new(GeoConfig::default());
    // London to Linköping (about 1,260 km) in three hours: a flight.
    assert!(m.observe(&login("bob", LONDON, t(8, 0)), t(8, 0)).is_none());
    assert!(m
        .observe(&login("bob", LINKOPING, t(11, 0)), t(11, 0))
        .is_none());
    // The same in one hour is not.
    let mut m = GeoModel::new(GeoConfig::default());
    assert!(m.observe(&login("bob", LONDON, t(8, 0)), t(8, 0)).is_none());
    assert!(m
        .observe(&login("bob", LINKOPING, t(9, 0)), t(9, 0))
        .is_some());
    // London to Boxford (about 85 km) in five minutes: within the radius allowance (100 km
    // accuracy of Boxford, 50 km default for London: the smaller pads 180 s; 84 km take 303 s).
    let mut m = GeoModel::new(GeoConfig::default());
    assert!(m
        .observe(&login("carol", LONDON, t(8, 0)), t(8, 0))
        .is_none());
    assert!(m
        .observe(&login("carol", BOXFORD, t(8, 5)), t(8, 5))
        .is_none());
    // …but not in one minute.
    let mut m = GeoModel::new(GeoConfig::default());
    assert!(m
        .observe(&login("carol", LONDON, t(8, 0)), t(8, 0))
        .is_none());
    assert!(m
        .observe(&login("carol", BOXFORD, t(8, 1)), t(8, 1))
        .is_some());
}

#[test]
fn only_successful_public_located_logins_count() {
    let cfg = GeoConfig {
        ignore_users: vec!["svc-deploy".into()],
        ignore_networks: vec!["216.160.83.0/24".parse().unwrap()],
        ..GeoConfig::default()
    };
    let mut m = GeoModel::new(cfg);
    assert!(m
        .observe(&login("dave", LONDON, t(9, 0)), t(9, 0))
        .is_none());
    let far = |f: &dyn Fn(&mut Value)| {
        let mut e = login("dave", CHANGCHUN, t(9, 10));
        f(&mut e);
        e
    };
    let cases: Vec<(&str, Value)> = vec![
        ("failure", far(&|e| e["details"]["success"] = json!(false))),
        (
            "success as text",
            far(&|e| e["details"]["success"] = json!("true")),
        ),
        (
            "no username",
            far(&|e| e["details"]["username"] = json!("")),
        ),
        ("other category", far(&|e| e["category"] = json!("web"))),
        (
            "private address",
            far(&|e| e["details"]["sourceipaddress"] = json!("10.1.2.3")),
        ),
        (
            "not an address",
            far(&|e| e["details"]["sourceipaddress"] = json!("bastion")),
        ),
        (
            "no city",
            far(&|e| {
                e["details"]["sourceipgeolocation"]
                    .as_object_mut()
                    .unwrap()
                    .remove("city");
            }),
        ),
        (
            "no coordinates",
            far(&|e| {
                e["details"]["sourceipgeolocation"]
                    .as_object_mut()
                    .unwrap()
                    .remove("latitude");
            }),
        ),
        (
            "bad latitude",
            far(&|e| e["details"]["sourceipgeolocation"]["latitude"] = json!(123.0)),
        ),
        (
            "no geolocation and no lookup",
            far(&|e| {
                e["details"]
                    .as_object_mut()
                    .unwrap()
                    .remove("sourceipgeolocation");
            }),
        ),
        ("no details", json!({"category": "authentication"})),
    ];
    for (what, e) in &cases {
        assert!(m.observe(e, t(9, 10)).is_none(), "{what}");
    }
    assert_eq!(m.places("dave").unwrap().len(), 1, "nothing recorded");
    // Ignored users and networks.
    assert!(m
        .observe(&login("svc-deploy", LONDON, t(9, 0)), t(9, 0))
        .is_none());
    assert!(m
        .observe(&login("svc-deploy", CHANGCHUN, t(9, 1)), t(9, 1))
        .is_none());
    assert!(m.places("svc-deploy").is_none());
    assert!(m
        .observe(&login("dave", MILTON, t(9, 11)), t(9, 11))
        .is_none());
    // The real thing still fires.
    assert!(m
        .observe(&login("dave", CHANGCHUN, t(9, 12)), t(9, 12))
        .is_some());
}

#[test]
fn old_places_are_forgotten() {
    let mut m = GeoModel::new(GeoConfig::default());
    assert!(m
        .observe(&login("erin", LONDON, t(1, 0)), t(1, 0))
        .is_none());
    // More than a day later, London is forgotten (and Changchun would be reachable anyway).
    let later = t(1, 0) + Duration::hours(25);
    assert!(m.observe(&login("erin", CHANGCHUN, later), later).is_none());
    assert_eq!(m.places("erin").unwrap().len(), 1);
}

#[test]
fn state_survives_a_restart_and_the_alert_fires_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("geomodel.json");
    // First start: no file yet.
    let mut m = GeoModel::load(&path, GeoConfig::default()).unwrap();
    assert_eq!(m.users(), 0);
    assert!(m
        .observe(&login("frank", LONDON, t(10, 0)), t(10, 0))
        .is_none());
    m.save(&path).unwrap();
    drop(m);
    // Restart: London is remembered, so Changchun fires.
    let mut m = GeoModel::load(&path, GeoConfig::default()).unwrap();
    assert_eq!(m.places("frank").unwrap()[0].city, "London");
    let ev = login("frank", CHANGCHUN, t(10, 20));
    let a = m.observe(&ev, t(10, 20)).expect("fires after the restart");
    assert!(
        a.summary
            .starts_with("frank seen in London,GB then Changchun,CN"),
        "{}",
        a.summary
    );
    m.save(&path).unwrap();
    drop(m);
    // Restart again and the same login is replayed: it does not fire twice.
    let mut m = GeoModel::load(&path, GeoConfig::default()).unwrap();
    assert!(m.observe(&ev, t(10, 21)).is_none());
    // Nothing but the state file in the directory (the temporary file was renamed).
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("geomodel.json")]);
}

#[test]
fn users_are_bounded_and_evictions_reported() {
    let cfg = GeoConfig {
        max_users: 2,
        max_locations: 2,
        ..GeoConfig::default()
    };
    let mut m = GeoModel::new(cfg.clone());
    m.observe(&login("u1", LONDON, t(10, 0)), t(10, 0));
    m.observe(&login("u2", LONDON, t(10, 0)), t(10, 0));
    // u1 seen again: u2 is now the least recently seen.
    m.observe(&login("u1", LONDON, t(10, 5)), t(10, 5));
    m.observe(&login("u3", LONDON, t(10, 6)), t(10, 6));
    assert_eq!(m.users(), 2);
    assert!(m.places("u2").is_none(), "u2 evicted");
    assert!(m.places("u1").is_some());
    assert_eq!(m.evicted_users(), 1);
    assert_eq!(m.take_evictions(), 1);
    assert_eq!(m.take_evictions(), 0);
    // Places per user: the oldest goes.
    for (i, g) in [LONDON, LINKOPING, MILTON].into_iter().enumerate() {
        let at = t(12, 0) + Duration::hours(10 * i as i64);
        m.observe(&login("u1", g, at), at);
    }
    let cities: Vec<_> = m
        .places("u1")
        .unwrap()
        .iter()
        .map(|p| p.city.clone())
        .collect();
    assert_eq!(cities, vec!["Linköping", "Milton"]);
    // Loading a state saved with more users than allowed keeps the most recent ones.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.json");
    let mut big = GeoModel::new(GeoConfig::default());
    for u in ["a", "b", "c", "d"] {
        big.observe(&login(u, LONDON, t(10, 0)), t(10, 0));
    }
    big.save(&path).unwrap();
    let mut small = GeoModel::load(&path, cfg).unwrap();
    assert_eq!(small.users(), 2);
    assert!(small.places("d").is_some() && small.places("c").is_some());
    assert_eq!(small.take_evictions(), 2);
}

#[test]
fn a_bad_state_file_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("geomodel.json");
    std::fs::write(&path, "{\"version\": 1,\n \"users\": [oops]}").unwrap();
    let e = GeoModel::load(&path, GeoConfig::default()).err().unwrap();
    assert!(matches!(e, GeoModelError::Format { line: 2, .. }), "{e:?}");
    assert!(e.to_string().contains("geomodel.json"), "{e}");
    std::fs::write(&path, "{\"version\": 9, \"users\": []}").unwrap();
    let e = GeoModel::load(&path, GeoConfig::default()).err().unwrap();
    assert!(e.to_string().contains("version 9"), "{e}");
    // Saving into a directory that does not exist names the file.
    let m = GeoModel::new(GeoConfig::default());
    let e = m.save(&dir.path().join("nope/geomodel.json")).unwrap_err();
    assert!(e.to_string().contains("nope"), "{e}");
}
