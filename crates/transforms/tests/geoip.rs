//! GeoIP enrichment on small databases built at test time (`support/geoip_fixture.rs`): the
//! City, Country-only and ASN schemas, IPv4 and IPv6, and what is not looked up.

#[path = "support/geoip_fixture.rs"]
mod geoip_fixture;

use ferrodef_event::Details;
use ferrodef_transforms::geoip::{GeoConfig, GeoIp};
use serde_json::{json, Value};

fn open(city: bool, country: bool, asn: bool) -> (GeoIp, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let f = geoip_fixture::write(dir.path());
    let (g, warnings) = GeoIp::open(&GeoConfig {
        city_db: city.then_some(f.city),
        country_db: country.then_some(f.country),
        asn_db: asn.then_some(f.asn),
        cache_size: 16,
    });
    assert!(warnings.is_empty(), "{warnings:?}");
    (g, dir)
}

fn details(pairs: &[(&'static str, &str)]) -> Details {
    let mut d = Details::new();
    for (k, v) in pairs {
        d.insert(*k, Value::from(*v));
    }
    d
}

#[test]
fn city_and_asn_give_location_geopoint_and_network_owner() {
    let (g, _dir) = open(true, false, true);
    assert!(g.is_enabled());
    let mut d = details(&[("sourceipaddress", "81.2.69.142")]);
    assert!(g.enrich(&mut d));
    assert_eq!(
        d["sourceipgeolocation"],
        json!({
            "country_code": "GB", "country_name": "United Kingdom", "city": "London",
            "continent_code": "EU", "latitude": 51.5142, "longitude": -0.0931,
            "asn": 20712, "as_organization": "Andrews & Arnold Ltd"
        })
    );
    assert_eq!(d["sourceipgeopoint"], "51.5142,-0.0931");
}

#[test]
fn country_only_database_and_ipv6() {
    let (g, _dir) = open(false, true, false);
    let mut d = details(&[
        ("sourceipaddress", "8.8.8.8"),
        ("destinationipaddress", "2001:4860:4860::8888"),
    ]);
    assert!(g.enrich(&mut d));
    assert_eq!(d["sourceipgeolocation"], json!({"country_code": "US"}));
    assert_eq!(d["destinationipgeolocation"], json!({"country_code": "US"}));
    assert!(
        !d.contains_key("sourceipgeopoint"),
        "no coordinates, no geopoint: {d:?}"
    );
    let gb = g.lookup("81.2.69.1".parse().unwrap()).unwrap();
    assert_eq!(gb["country_code"], "GB");
}

#[test]
fn city_database_wins_over_country_database() {
    let (g, _dir) = open(true, true, false);
    let rec = g.lookup("8.8.4.4".parse().unwrap());
    assert_eq!(rec, None, "8.8.4.4 is outside every fixture network");
    let rec = g.lookup("8.8.8.8".parse().unwrap()).unwrap();
    assert_eq!(rec["country_name"], "United States", "{rec:?}");
}

#[test]
fn private_unknown_and_invalid_addresses_add_nothing() {
    let (g, _dir) = open(true, true, true);
    let mut d = details(&[
        ("sourceipaddress", "10.0.0.1"),
        ("destinationipaddress", "not an address"),
    ]);
    assert!(!g.enrich(&mut d));
    assert_eq!(d.len(), 2, "{d:?}");
    let mut d = details(&[("sourceipaddress", "192.0.2.1")]);
    assert!(!g.enrich(&mut d), "documentation range is not looked up");
    let mut d = details(&[("sourceipaddress", "1.1.1.1")]);
    assert!(!g.enrich(&mut d), "public but in no database");
}

#[test]
fn lookups_need_no_files_after_open() {
    let (g, dir) = open(true, false, true);
    let first = g.lookup("81.2.69.142".parse().unwrap()).unwrap();
    // The databases are read into memory at open: removing the files changes nothing.
    drop(dir);
    for _ in 0..3 {
        assert_eq!(g.lookup("81.2.69.142".parse().unwrap()).unwrap(), first);
    }
}
