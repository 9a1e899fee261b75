//! GeoIP enrichment from MaxMind-format (`.mmdb`) databases.
//!
//! Reads the GeoIP2/GeoLite2 City, Country and ASN schemas, and the one-field
//! `{"country_code": "US"}` schema of ip-location-db's free databases. For
//! `details.sourceipaddress` and `details.destinationipaddress` it adds, as MozDef's `geoip`
//! plugin did, `details.<source|destination>ipgeolocation` (`country_code`, `country_name`,
//! `city`, `continent_code`, `latitude`, `longitude`, `time_zone`, `accuracy_radius`, `asn`,
//! `as_organization`)
//! and `details.<source|destination>ipgeopoint` (`"lat,lon"`). Private, loopback and other
//! non-public addresses are not looked up. Lookups are cached.

use std::net::IpAddr;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ferrodef_event::{DESTINATION_IP, SOURCE_IP};
use lru::LruCache;
use maxminddb::Reader;
use parking_lot::Mutex;
use serde_json::{Map, Value};

/// Where the databases are. Any may be missing.
#[derive(Debug, Clone, Default)]
pub struct GeoConfig {
    /// A City database (GeoIP2/GeoLite2 City), or a Country one.
    pub city_db: Option<PathBuf>,
    /// A Country database (MaxMind schema or `{country_code}`), used when there is no City one.
    pub country_db: Option<PathBuf>,
    /// An ASN database (GeoLite2 ASN schema).
    pub asn_db: Option<PathBuf>,
    /// How many addresses the cache keeps.
    pub cache_size: usize,
}

/// What is known of an address.
pub type GeoRecord = Map<String, Value>;

/// The GeoIP enricher.
pub struct GeoIp {
    location: Option<Reader<Vec<u8>>>,
    asn: Option<Reader<Vec<u8>>>,
    cache: Mutex<LruCache<IpAddr, Option<Arc<GeoHit>>>>,
}

/// A cached lookup, ready to be copied into events.
struct GeoHit {
    /// The `…ipgeolocation` object.
    location: Value,
    /// The `…ipgeopoint` text (`"lat,lon"`), when the location has coordinates.
    geopoint: Option<String>,
}

fn open(path: &Path, what: &str, warnings: &mut Vec<String>) -> Option<Reader<Vec<u8>>> {
    match Reader::open_readfile(path) {
        Ok(r) => Some(r),
        Err(e) => {
            warnings.push(format!(
                "GeoIP {what} database {} not usable ({e}); {what} enrichment is off",
                path.display()
            ));
            None
        }
    }
}

/// Whether an address is worth looking up (public unicast).
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            !(v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_broadcast()
                || v4.is_documentation()
                || v4.is_unspecified()
                || v4.is_multicast()
                || o[0] == 0
                || (o[0] == 100 && (o[1] & 0xc0) == 64) // 100.64.0.0/10 shared
                || o[0] >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let s = v6.segments();
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00 // unique local
                || (s[0] & 0xffc0) == 0xfe80 // link local
                || (s[0] == 0x2001 && s[1] == 0x0db8)) // documentation
        }
    }
}

fn get<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(v, |v, k| v.get(k))
}

impl GeoIp {
    /// Opens the configured databases. A missing or broken database is not an error: it comes
    /// back as a warning (for the startup log) and that enrichment is off.
    pub fn open(cfg: &GeoConfig) -> (GeoIp, Vec<String>) {
        let mut warnings = Vec::new();
        let location = cfg
            .city_db
            .as_deref()
            .and_then(|p| open(p, "city", &mut warnings))
            .or_else(|| {
                cfg.country_db
                    .as_deref()
                    .and_then(|p| open(p, "country", &mut warnings))
            });
        let asn = cfg
            .asn_db
            .as_deref()
            .and_then(|p| open(p, "ASN", &mut warnings));
        let size = NonZeroUsize::new(cfg.cache_size.max(1)).unwrap_or(NonZeroUsize::MIN);
        (
            GeoIp {
                location,
                asn,
                cache: Mutex::new(LruCache::new(size)),
            },
            warnings,
        )
    }

    /// Whether any database is loaded.
    pub fn is_enabled(&self) -> bool {
        self.location.is_some() || self.asn.is_some()
    }

    fn raw(reader: &Reader<Vec<u8>>, ip: IpAddr) -> Option<Value> {
        reader.lookup(ip).ok()?.decode::<Value>().ok().flatten()
    }

    /// Looks an address up (cached). `None` when nothing is known or it is not public.
    pub fn lookup(&self, ip: IpAddr) -> Option<GeoRecord> {
        match &self.cached(ip)?.location {
            Value::Object(m) => Some(m.clone()),
            _ => None,
        }
    }

    fn cached(&self, ip: IpAddr) -> Option<Arc<GeoHit>> {
        if !self.is_enabled() || !is_public(ip) {
            return None;
        }
        if let Some(hit) = self.cache.lock().get(&ip) {
            return hit.clone();
        }
        let hit = self.lookup_uncached(ip).map(|rec| {
            let geopoint = match (
                rec.get("latitude").and_then(Value::as_f64),
                rec.get("longitude").and_then(Value::as_f64),
            ) {
                (Some(lat), Some(lon)) => Some(format!("{lat},{lon}")),
                _ => None,
            };
            Arc::new(GeoHit {
                location: Value::Object(rec),
                geopoint,
            })
        });
        self.cache.lock().put(ip, hit.clone());
        hit
    }

    fn lookup_uncached(&self, ip: IpAddr) -> Option<GeoRecord> {
        let mut out = Map::new();
        if let Some(v) = self.location.as_ref().and_then(|r| Self::raw(r, ip)) {
            let country_code = get(&v, &["country", "iso_code"])
                .or_else(|| get(&v, &["registered_country", "iso_code"]))
                .or_else(|| v.get("country_code"));
            let fields = [
                ("country_code", country_code),
                ("country_name", get(&v, &["country", "names", "en"])),
                ("city", get(&v, &["city", "names", "en"])),
                ("continent_code", get(&v, &["continent", "code"])),
                ("latitude", get(&v, &["location", "latitude"])),
                ("longitude", get(&v, &["location", "longitude"])),
                ("time_zone", get(&v, &["location", "time_zone"])),
                // Kilometres around the point the address is likely in (impossible travel
                // allows for it).
                ("accuracy_radius", get(&v, &["location", "accuracy_radius"])),
                ("postal_code", get(&v, &["postal", "code"])),
            ];
            for (k, val) in fields {
                if let Some(val) = val {
                    out.insert(k.into(), val.clone());
                }
            }
        }
        if let Some(v) = self.asn.as_ref().and_then(|r| Self::raw(r, ip)) {
            if let Some(n) = v.get("autonomous_system_number") {
                out.insert("asn".into(), n.clone());
            }
            if let Some(o) = v.get("autonomous_system_organization") {
                out.insert("as_organization".into(), o.clone());
            }
        }
        (!out.is_empty()).then_some(out)
    }

    /// Adds geolocation for the source and destination addresses of `details`. Returns whether
    /// anything was added.
    pub fn enrich(&self, details: &mut ferrodef_event::Details) -> bool {
        let mut changed = false;
        for (address, location, geopoint) in [
            (SOURCE_IP.key, "sourceipgeolocation", "sourceipgeopoint"),
            (
                DESTINATION_IP.key,
                "destinationipgeolocation",
                "destinationipgeopoint",
            ),
        ] {
            let ip = details
                .get(address)
                .and_then(Value::as_str)
                .and_then(|s| s.trim().parse::<IpAddr>().ok());
            let Some(hit) = ip.and_then(|ip| self.cached(ip)) else {
                continue;
            };
            if let Some(point) = &hit.geopoint {
                details.insert(geopoint, Value::String(point.clone()));
            }
            details.insert(location, hit.location.clone());
            changed = true;
        }
        changed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn geo(city: Option<&str>) -> (GeoIp, Vec<String>) {
        GeoIp::open(&GeoConfig {
            city_db: city.map(PathBuf::from),
            country_db: None,
            asn_db: None,
            cache_size: 1000,
        })
    }

    #[test]
    fn missing_database_is_a_warning() {
        let (g, w) = geo(Some("nope/missing.mmdb"));
        assert!(!g.is_enabled());
        assert_eq!(w.len(), 1);
        assert!(w[0].contains("missing.mmdb"), "{w:?}");
        let mut d = ferrodef_event::Details::new();
        d.insert("sourceipaddress", Value::from("8.8.8.8"));
        assert!(!g.enrich(&mut d));
    }

    #[test]
    fn public_address_classification() {
        for ip in [
            "10.1.2.3",
            "192.168.0.1",
            "127.0.0.1",
            "172.16.0.1",
            "100.64.1.1",
            "169.254.0.1",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:10.0.0.1",
            "2001:db8::1",
        ] {
            assert!(!is_public(ip.parse().unwrap()), "{ip}");
        }
        for ip in [
            "8.8.8.8",
            "81.2.69.142",
            "2001:4860:4860::8888",
            "::ffff:8.8.8.8",
        ] {
            assert!(is_public(ip.parse().unwrap()), "{ip}");
        }
    }
}
