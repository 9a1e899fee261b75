//! Small GeoIP databases built at test time, in the three schemas the enricher reads (MaxMind's
//! GeoIP2/GeoLite2 City and ASN, and ip-location-db's one-field `{"country_code": …}`), with
//! records shaped like MaxMind's documented examples. Written with `mmdb-writer` into a
//! directory the caller owns; tests read them through the real `maxminddb` reader.
//!
//! | network | city db | country db | asn db |
//! |---|---|---|---|
//! | 81.2.69.0/24 | GB, London, 51.5142,-0.0931 | GB | 20712 Andrews & Arnold Ltd |
//! | 1.0.16.0/24 | JP, Tokyo, 35.6895,139.6917 | JP | – |
//! | 8.8.8.0/24 | US, no city, 37.751,-97.822 | US | 15169 GOOGLE |
//! | 2001:4860::/32 | US, no city, 37.751,-97.822 | US | 15169 GOOGLE |

use std::path::{Path, PathBuf};

use ipnet::IpNet;
use mmdb_writer::{Value, Writer};

/// Paths of the databases [`write`] made.
pub struct GeoFixture {
    pub city: PathBuf,
    pub country: PathBuf,
    pub asn: PathBuf,
}

fn names(en: &str) -> Value {
    Value::map([("en", Value::from(en))])
}

fn city_record(
    iso: &str,
    country: &str,
    continent: &str,
    city: Option<&str>,
    lat: f64,
    lon: f64,
) -> Value {
    let mut fields = vec![
        ("continent", Value::map([("code", Value::from(continent))])),
        (
            "country",
            Value::map([("iso_code", Value::from(iso)), ("names", names(country))]),
        ),
        (
            "location",
            Value::map([
                ("latitude", Value::from(lat)),
                ("longitude", Value::from(lon)),
            ]),
        ),
    ];
    if let Some(city) = city {
        fields.push(("city", Value::map([("names", names(city))])));
    }
    Value::map(fields)
}

fn save(writer: &Writer, path: &Path) {
    let bytes = writer.to_bytes().expect("fixture database serializes");
    std::fs::write(path, bytes).expect("fixture database written");
}

fn net(s: &str) -> IpNet {
    s.parse().expect("fixture network")
}

/// Writes the three databases into `dir`.
pub fn write(dir: &Path) -> GeoFixture {
    let gb = city_record(
        "GB",
        "United Kingdom",
        "EU",
        Some("London"),
        51.5142,
        -0.0931,
    );
    let us = city_record("US", "United States", "NA", None, 37.751, -97.822);
    let jp = city_record("JP", "Japan", "AS", Some("Tokyo"), 35.6895, 139.6917);
    let mut city = Writer::new("GeoLite2-City");
    city.insert_value(net("81.2.69.0/24"), gb).unwrap();
    city.insert_value(net("1.0.16.0/24"), jp).unwrap();
    city.insert_value(net("8.8.8.0/24"), us.clone()).unwrap();
    city.insert_value(net("2001:4860::/32"), us).unwrap();

    let mut country = Writer::new("iptoasn-country");
    for (n, cc) in [
        ("81.2.69.0/24", "GB"),
        ("1.0.16.0/24", "JP"),
        ("8.8.8.0/24", "US"),
        ("2001:4860::/32", "US"),
    ] {
        country
            .insert_value(net(n), Value::map([("country_code", Value::from(cc))]))
            .unwrap();
    }

    let mut asn = Writer::new("GeoLite2-ASN");
    for (n, number, org) in [
        ("81.2.69.0/24", 20712u32, "Andrews & Arnold Ltd"),
        ("8.8.8.0/24", 15169, "GOOGLE"),
        ("2001:4860::/32", 15169, "GOOGLE"),
    ] {
        let record = Value::map([
            ("autonomous_system_number", Value::from(number)),
            ("autonomous_system_organization", Value::from(org)),
        ]);
        asn.insert_value(net(n), record).unwrap();
    }

    let fixture = GeoFixture {
        city: dir.join("city.mmdb"),
        country: dir.join("country.mmdb"),
        asn: dir.join("asn.mmdb"),
    };
    save(&city, &fixture.city);
    save(&country, &fixture.country);
    save(&asn, &fixture.asn);
    fixture
}
