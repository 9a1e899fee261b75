//! Impossible travel located with MaxMind's real test City database (shared corpora,
//! `geoip/maxmind_test_data/GeoLite2-City-Test.mmdb`), through the GeoIP enricher ferrodef runs:
//! both as a lookup function given to the model and as the `details.sourceipgeolocation` the
//! GeoIP transform writes.

use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use ferrodef_geomodel::{GeoConfig, GeoModel};
use ferrodef_transforms::geoip::{GeoConfig as GeoIpConfig, GeoIp};
use serde_json::{json, Value};

#[path = "../../../tests-support/corpora.rs"]
mod support;
use support::corpora;

fn geoip() -> GeoIp {
    let (g, warnings) = GeoIp::open(&GeoIpConfig {
        city_db: Some(corpora().join("geoip/maxmind_test_data/GeoLite2-City-Test.mmdb")),
        country_db: None,
        asn_db: None,
        cache_size: 64,
    });
    assert!(warnings.is_empty(), "{warnings:?}");
    g
}

fn t(h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, h, m, 0).unwrap()
}

/// A Windows 4624 as the Windows normalizer leaves it (no geolocation yet).
fn logon(user: &str, ip: &str, at: DateTime<Utc>) -> Value {
    json!({"utctimestamp": at.to_rfc3339(), "category": "authentication",
           "details": {"eventid": 4624, "username": user, "sourceipaddress": ip,
                       "success": true, "TargetUserName": user, "IpAddress": ip}})
}

#[test]
fn located_by_a_lookup_function() {
    let g = Arc::new(geoip());
    let mut m = GeoModel::new(GeoConfig::default()).with_lookup(Box::new(move |ip| g.lookup(ip)));
    // 81.2.69.142 is London, 175.16.199.0 Changchun in MaxMind's test data.
    assert!(m
        .observe(&logon("jdoe", "81.2.69.142", t(9, 0)), t(9, 0))
        .is_none());
    let a = m
        .observe(&logon("jdoe", "175.16.199.0", t(10, 0)), t(10, 0))
        .expect("8,185 km in an hour");
    assert!(
        a.summary
            .starts_with("jdoe seen in London,GB then Changchun,CN (81"),
        "{}",
        a.summary
    );
    assert_eq!(a.details["hops"][0]["destination"]["latitude"], 43.88);
    // 67.43.156.0 has a location but no city (Bhutan's centre): ignored, as MozDef did.
    assert!(m
        .observe(&logon("jdoe", "67.43.156.0", t(10, 5)), t(10, 5))
        .is_none());
    assert_eq!(m.places("jdoe").unwrap().len(), 2);
}

#[test]
fn located_by_the_geoip_enricher() {
    let g = geoip();
    let mut m = GeoModel::new(GeoConfig::default());
    let enriched = |user: &str, ip: &str, at| {
        let mut ev = logon(user, ip, at);
        let mut details: ferrodef_event::Details =
            serde_json::from_value(ev["details"].take()).unwrap();
        assert!(g.enrich(&mut details), "{ip} located");
        ev["details"] = serde_json::to_value(&details).unwrap();
        ev
    };
    let first = enriched("kim", "216.160.83.56", t(9, 0));
    assert_eq!(
        first["details"]["sourceipgeolocation"]["accuracy_radius"],
        22
    );
    assert!(m.observe(&first, t(9, 0)).is_none());
    // Milton, WA to San Diego (about 1,640 km) in three hours: a flight; in one hour: not.
    assert!(m
        .observe(&enriched("kim", "214.78.0.0", t(12, 0)), t(12, 0))
        .is_none());
    let a = m
        .observe(&enriched("kim", "216.160.83.56", t(13, 0)), t(13, 0))
        .expect("San Diego to Milton in an hour");
    assert!(
        a.summary
            .starts_with("kim seen in San Diego,US then Milton,US"),
        "{}",
        a.summary
    );
}
