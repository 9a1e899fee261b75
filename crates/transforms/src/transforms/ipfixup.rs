//! `ipfixup`: source and destination addresses checked, made canonical and classified.

use std::net::IpAddr;

use ferrodef_event::{Event, DESTINATION_IP, SOURCE_IP};
use serde_json::Value;

use crate::geoip::is_public;
use crate::pipeline::{Outcome, Transform};

/// Validates and normalizes `details.sourceipaddress`/`destinationipaddress`: accepts
/// `1.2.3.4:22` and `[2001:db8::1]:22` forms, writes the canonical address, adds
/// `<side>ipv4address` or `<side>ipv6address`, and marks non-public addresses with
/// `<side>ipprivate: true`. A value that is no address is left as sent and the event is tagged
/// `invalid_ip`.
pub struct IpFixup;

fn parse_ip_loose(s: &str) -> Option<IpAddr> {
    let s = s.trim();
    if let Ok(ip) = s.parse() {
        return Some(ip);
    }
    if let Some(rest) = s.strip_prefix('[') {
        return rest.split_once(']').and_then(|(ip, _)| ip.parse().ok());
    }
    let (ip, port) = s.rsplit_once(':')?;
    port.parse::<u16>().ok()?;
    ip.parse::<std::net::Ipv4Addr>().ok().map(IpAddr::V4)
}

impl Transform for IpFixup {
    fn name(&self) -> &'static str {
        "ipfixup"
    }

    fn apply(&self, ev: &mut Event) -> Outcome {
        let mut changed = false;
        for keys in IP_KEYS {
            let Some(Value::String(raw)) = ev.details.get(keys.address) else {
                continue;
            };
            match parse_ip_loose(raw) {
                Some(ip) => {
                    let ip = match ip {
                        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
                        v4 => v4,
                    };
                    // A dotted quad that parses as such is already canonical (the parser
                    // rejects leading zeros): no need to print it again.
                    let canonical = if ip.is_ipv4() && raw.parse::<std::net::Ipv4Addr>().is_ok() {
                        raw.clone()
                    } else {
                        ip.to_string()
                    };
                    if canonical != *raw {
                        ev.details
                            .insert(keys.address, Value::String(canonical.clone()));
                    }
                    let fam = if ip.is_ipv4() { keys.v4 } else { keys.v6 };
                    ev.details.insert(fam, Value::String(canonical));
                    if !is_public(ip) {
                        ev.details.insert(keys.private, Value::Bool(true));
                    }
                    changed = true;
                }
                None => {
                    if !ev.tags.iter().any(|t| t == "invalid_ip") {
                        ev.tags.push("invalid_ip".into());
                    }
                    changed = true;
                }
            }
        }
        if changed {
            Outcome::Changed
        } else {
            Outcome::Unchanged
        }
    }
}

/// The `details` keys IpFixup reads and writes for one IP field ([`ferrodef_event::IP_FIELDS`]).
struct IpKeys {
    address: &'static str,
    v4: &'static str,
    v6: &'static str,
    private: &'static str,
}

const IP_KEYS: [IpKeys; 2] = [
    IpKeys {
        address: SOURCE_IP.key,
        v4: "sourceipv4address",
        v6: "sourceipv6address",
        private: "sourceipprivate",
    },
    IpKeys {
        address: DESTINATION_IP.key,
        v4: "destinationipv4address",
        v6: "destinationipv6address",
        private: "destinationipprivate",
    },
];

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::pipeline::Pipeline;
    use crate::transforms::test_event as ev;
    use serde_json::json;

    #[test]
    fn ipfixup_normalizes_and_marks() {
        let p = Pipeline::new(vec![Arc::new(IpFixup)]);
        let mut e = ev(
            json!({"details": {"sourceipaddress": "10.0.0.1:5555", "destinationipaddress": "::ffff:8.8.8.8"}}),
        );
        p.run(&mut e);
        assert_eq!(e.details["sourceipaddress"], "10.0.0.1");
        assert_eq!(e.details["sourceipv4address"], "10.0.0.1");
        assert_eq!(e.details["sourceipprivate"], true);
        assert_eq!(e.details["destinationipaddress"], "8.8.8.8");
        assert!(!e.details.contains_key("destinationipprivate"));
        assert_eq!(e.plugins, vec!["ipfixup"]);
        let mut e = ev(json!({"details": {"sourceipaddress": "[2001:4860::1]:443"}}));
        p.run(&mut e);
        assert_eq!(e.details["sourceipv6address"], "2001:4860::1");
        let mut e = ev(json!({"details": {"sourceipaddress": "not-an-ip"}}));
        p.run(&mut e);
        assert_eq!(e.details["sourceipaddress"], "not-an-ip", "kept as sent");
        assert!(e.tags.contains(&"invalid_ip".to_string()));
        let mut e = ev(json!({"summary": "no ip"}));
        p.run(&mut e);
        assert!(e.plugins.is_empty(), "unchanged events record no plugin");
    }
}
