//! Rule kinds with logic of their own (MozDef alerts whose Python does more than a query and a
//! template): the lateral SSH policy, the IP-literal filter of proxy_drop_ip, and the Bro intel
//! sample text of multiple_intel_hits.

use std::collections::BTreeMap;
use std::net::IpAddr;

use ipnet::IpNet;
use regex::Regex;
use serde_json::{Map, Value};

use crate::template::{add_hostname, get_path, lookup, Resolver};

/// MozDef `ssh_lateral.json`: which SSH logins between internal hosts are outside policy.
#[derive(Debug, Clone)]
pub struct SshPolicy {
    host_must_match: Vec<Regex>,
    host_must_not_match: Vec<Regex>,
    alert_if_source: Vec<IpNet>,
    not_alert_if_source: Vec<IpNet>,
    ignore_users: Vec<Regex>,
    exceptions: Vec<(Regex, Regex, IpNet)>,
}

/// Python's `re.match`: anchored at the start only.
fn re_match(p: &str) -> Result<Regex, String> {
    ferrodef_query::check_regex(p).map_err(|e| format!("pattern '{p}': {e}"))?;
    Regex::new(&format!("^(?:{p})")).map_err(|e| format!("pattern '{p}': {e}"))
}

fn strings(cfg: &BTreeMap<String, Value>, key: &str) -> Result<Vec<String>, String> {
    match cfg.get(key) {
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| format!("config '{key}': {v} is not a string"))
            })
            .collect(),
        None => Ok(Vec::new()),
        Some(v) => Err(format!("config '{key}': {v} is not a list")),
    }
}

fn net(s: &str) -> Result<IpNet, String> {
    s.parse::<IpNet>()
        .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
        .map_err(|_| format!("'{s}' is not a network"))
}

impl SshPolicy {
    /// Reads the policy from a rule's configuration (`hostmustmatch`, `hostmustnotmatch`,
    /// `alertifsource`, `notalertifsource`, `ignoreusers`, `exceptions` as
    /// `[user regex, host regex, network]`).
    pub fn from_config(cfg: &BTreeMap<String, Value>) -> Result<SshPolicy, String> {
        let res = |k: &str| -> Result<Vec<Regex>, String> {
            strings(cfg, k)?.iter().map(|p| re_match(p)).collect()
        };
        let nets = |k: &str| -> Result<Vec<IpNet>, String> {
            strings(cfg, k)?.iter().map(|p| net(p)).collect()
        };
        let mut exceptions = Vec::new();
        if let Some(Value::Array(a)) = cfg.get("exceptions") {
            for x in a {
                let t: Vec<&str> = x
                    .as_array()
                    .map(|v| v.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                if t.len() != 3 {
                    return Err(format!(
                        "config 'exceptions': {x} is not [user regex, host regex, network]"
                    ));
                }
                exceptions.push((re_match(t[0])?, re_match(t[1])?, net(t[2])?));
            }
        }
        Ok(SshPolicy {
            host_must_match: res("hostmustmatch")?,
            host_must_not_match: res("hostmustnotmatch")?,
            alert_if_source: nets("alertifsource")?,
            not_alert_if_source: nets("notalertifsource")?,
            ignore_users: res("ignoreusers")?,
            exceptions,
        })
    }

    /// MozDef's `onAggregation` of ssh_lateral over the sampled events of one host: the users
    /// and sources outside policy, or `None` when there is nothing to alert on.
    pub fn violations(
        &self,
        host: &str,
        samples: &[&Map<String, Value>],
    ) -> Option<(Vec<String>, Vec<String>)> {
        if !self.host_must_match.iter().any(|r| r.is_match(host))
            || self.host_must_not_match.iter().any(|r| r.is_match(host))
        {
            return None;
        }
        let line = Regex::new(r"^Accepted publickey for (\S+) from (\S+)").ok()?;
        let mut users = Vec::new();
        let mut sources = Vec::new();
        for e in samples {
            let Some(summary) = e.get("summary").and_then(Value::as_str) else {
                continue;
            };
            let Some(c) = line.captures(summary) else {
                continue;
            };
            let (user, src) = (&c[1], &c[2]);
            let Ok(ip) = src.parse::<IpAddr>() else {
                continue;
            };
            // One entry per matching `alertifsource` network, as MozDef's loop does.
            for n in &self.alert_if_source {
                if !n.contains(&ip)
                    || self.not_alert_if_source.iter().any(|x| x.contains(&ip))
                    || self.ignore_users.iter().any(|r| r.is_match(user))
                    || self
                        .exceptions
                        .iter()
                        .any(|(u, h, x)| u.is_match(user) && h.is_match(host) && x.contains(&ip))
                {
                    continue;
                }
                sources.push(src.to_string());
                users.push(user.to_string());
            }
        }
        if users.is_empty() {
            None
        } else {
            Some((users, sources))
        }
    }
}

/// The `x.sources` text of an ssh_lateral alert: each source with its name when internal.
pub fn lateral_sources(sources: &[String], resolver: Option<&Resolver>) -> String {
    sources
        .iter()
        .map(|s| add_hostname(s, "{0} ({1})", true, resolver))
        .collect::<Vec<_>>()
        .join(",")
}

/// Whether the event's field holds an IP address (MozDef's `netaddr.IPAddress(host)`).
pub fn is_ip_literal(e: ferrodef_event::Node<'_>, field: &str) -> bool {
    let mut parts = field.split('.');
    let mut cur = parts.next().and_then(|p| e.get(p));
    for p in parts {
        cur = cur.and_then(|c| c.get(p));
    }
    cur.and_then(ferrodef_event::Node::as_str)
        .is_some_and(|s| s.parse::<IpAddr>().is_ok())
}

/// multiple_intel_hits: `{addr} in {seenwhere} ` for the first three samples that carry a
/// source address and a `seenwhere` (a source address that is present but `null` counts and
/// prints `None`, as in MozDef's class).
pub fn intel_samples(samples: &[&Map<String, Value>]) -> String {
    let mut out = String::new();
    for e in samples.iter().take(3) {
        let (Some(src), Some(seen)) = (
            lookup(e, "details.sourceipaddress"),
            get_path(e, "details.seenwhere").and_then(Value::as_str),
        ) else {
            continue;
        };
        let dst = lookup(e, "details.destinationipaddress");
        let text = |v: Option<&Value>| v.map(crate::template::leaf_text).unwrap_or_default();
        let addr = if ["Conn::IN_RESP", "HTTP::IN_HOST_HEADER", "DNS::IN_REQUEST"]
            .iter()
            .any(|w| seen.contains(w))
        {
            text(Some(src))
        } else if [
            "Conn::IN_ORIG",
            "HTTP::IN_X_CLUSTER_CLIENT_IP_HEADER",
            "HTTP::IN_X_FORWARDED_FOR_HEADER",
        ]
        .iter()
        .any(|w| seen.contains(w))
        {
            text(dst)
        } else {
            String::new()
        };
        out.push_str(&format!("{addr} in {seen} "));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lateral_policy() {
        let cfg: BTreeMap<String, Value> = serde_json::from_value(json!({
            "hostmustmatch": [".*\\.enterprise\\.mozilla.com"],
            "hostmustnotmatch": ["ten-forward\\.enterprise\\.mozilla\\.com"],
            "alertifsource": ["10.0.0.0/8"],
            "notalertifsource": ["10.0.22.0/24"],
            "ignoreusers": [".*@\\S+.*"],
            "exceptions": [["kirk", ".*", "10.1.1.1/32"]]
        }))
        .unwrap_or_default();
        let p = match SshPolicy::from_config(&cfg) {
            Ok(p) => p,
            Err(e) => panic!("{e}"),
        };
        let ev = |s: &str| {
            json!({"summary": s})
                .as_object()
                .cloned()
                .unwrap_or_default()
        };
        let a = ev("Accepted publickey for user1 from 10.2.3.4 port 1 ssh2");
        let b = ev("Accepted publickey for kirk from 10.1.1.1 port 1 ssh2");
        let c = ev("Accepted publickey for user1 from 10.0.22.5 port 1 ssh2");
        let h = "x.enterprise.mozilla.com";
        assert_eq!(
            p.violations(h, &[&a, &b, &c]),
            Some((vec!["user1".into()], vec!["10.2.3.4".into()]))
        );
        assert_eq!(p.violations(h, &[&b, &c]), None);
        assert_eq!(
            p.violations("ten-forward.enterprise.mozilla.com", &[&a]),
            None
        );
        assert_eq!(p.violations("other.host", &[&a]), None);
    }
}
