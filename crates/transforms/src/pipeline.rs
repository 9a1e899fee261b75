//! The transform pipeline: an ordered, configurable list of transforms that runs on every
//! event after normalization. A transform may add fields and tags, change the category, route
//! the event to another stream, or drop it (counted by the caller, never silent). Every
//! transform that changed an event is recorded in the event's `plugins` list, like MozDef's.

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use ferrodef_event::Event;
use ipnet::IpNet;
use parking_lot::RwLock;
use serde::Deserialize;
use serde_json::Value;

use crate::geoip::{is_public, GeoConfig, GeoIp};

/// What a transform did to an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Nothing.
    Unchanged,
    /// Changed it (fields, tags, category).
    Changed,
    /// Send it to another stream.
    Route(String),
    /// Do not store it; the reason is counted.
    Drop(String),
}

/// One transform.
pub trait Transform: Send + Sync {
    /// Its name, as in the configuration and in `plugins`.
    fn name(&self) -> &'static str;
    /// Applies it.
    fn apply(&self, ev: &mut Event) -> Outcome;
}

/// What the pipeline decided for an event.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Verdict {
    /// Another stream than `events`, if a transform routed it.
    pub stream: Option<String>,
    /// `(transform, reason)` when a transform dropped it.
    pub dropped: Option<(String, String)>,
}

/// `[transforms]` of the config file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransformsConfig {
    /// Enabled transforms, in order. Known: `parsers`, `ipfixup`, `geoip`, `watchlist`, `drop`.
    #[serde(default = "default_order")]
    pub order: Vec<String>,
    /// GeoIP databases.
    #[serde(default)]
    pub geoip: GeoIpSettings,
    /// Watchlist / blocklist file.
    #[serde(default)]
    pub watchlist: WatchlistSettings,
    /// Events to drop: each entry is `field=value` (exact match), e.g. `category=debugnoise`.
    #[serde(default)]
    pub drop: Vec<String>,
}

fn default_order() -> Vec<String> {
    vec![
        "parsers".into(),
        "ipfixup".into(),
        "geoip".into(),
        "watchlist".into(),
    ]
}

impl Default for TransformsConfig {
    fn default() -> Self {
        TransformsConfig {
            order: default_order(),
            geoip: GeoIpSettings::default(),
            watchlist: WatchlistSettings::default(),
            drop: Vec::new(),
        }
    }
}

/// `[transforms.geoip]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GeoIpSettings {
    /// City (or country) `.mmdb`.
    pub city_db: Option<PathBuf>,
    /// Country `.mmdb` (used when there is no city one).
    pub country_db: Option<PathBuf>,
    /// ASN `.mmdb`.
    pub asn_db: Option<PathBuf>,
}

/// `[transforms.watchlist]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WatchlistSettings {
    /// The list file (see [`Watchlist`]); re-read when it changes, without a restart.
    pub file: Option<PathBuf>,
}

/// The configured pipeline.
pub struct Pipeline {
    transforms: Vec<Arc<dyn Transform>>,
}

impl Pipeline {
    /// Builds the pipeline; returns warnings for the startup log (e.g. a missing GeoIP
    /// database). An unknown transform name is an error.
    pub fn from_config(cfg: &TransformsConfig) -> Result<(Pipeline, Vec<String>), String> {
        let mut transforms: Vec<Arc<dyn Transform>> = Vec::new();
        let mut warnings = Vec::new();
        for name in &cfg.order {
            match name.as_str() {
                "parsers" => transforms.push(Arc::new(Parsers)),
                "ipfixup" => transforms.push(Arc::new(IpFixup)),
                "geoip" => {
                    let (g, w) = GeoIp::open(&GeoConfig {
                        city_db: cfg.geoip.city_db.clone(),
                        country_db: cfg.geoip.country_db.clone(),
                        asn_db: cfg.geoip.asn_db.clone(),
                        cache_size: 65_536,
                    });
                    warnings.extend(w);
                    if !g.is_enabled() && w_is_empty(&cfg.geoip) {
                        warnings.push(
                            "GeoIP: no database configured ([transforms.geoip] city_db/country_db/asn_db); geoip enrichment is off"
                                .into(),
                        );
                    }
                    if g.is_enabled() {
                        transforms.push(geo_transform(g));
                    }
                }
                "watchlist" => {
                    if let Some(file) = &cfg.watchlist.file {
                        let w = Watchlist::from_file(file.clone());
                        if let Some(e) = w.error() {
                            warnings.push(e);
                        }
                        transforms.push(Arc::new(w));
                    }
                }
                "drop" => transforms.push(Arc::new(DropRules::parse(&cfg.drop)?)),
                other => {
                    return Err(format!(
                        "[transforms] order: unknown transform '{other}' (known: parsers, ipfixup, geoip, watchlist, drop)"
                    ))
                }
            }
        }
        Ok((Pipeline { transforms }, warnings))
    }

    /// A pipeline of the given transforms.
    pub fn new(transforms: Vec<Arc<dyn Transform>>) -> Pipeline {
        Pipeline { transforms }
    }

    /// Names of the active transforms, in order.
    pub fn names(&self) -> Vec<&'static str> {
        self.transforms.iter().map(|t| t.name()).collect()
    }

    /// Runs every transform on the event, recording the ones that changed it.
    pub fn run(&self, ev: &mut Event) -> Verdict {
        let mut verdict = Verdict::default();
        for t in &self.transforms {
            match t.apply(ev) {
                Outcome::Unchanged => {}
                Outcome::Changed => ev.plugins.push(t.name().to_string()),
                Outcome::Route(stream) => {
                    ev.plugins.push(t.name().to_string());
                    verdict.stream = Some(stream);
                }
                Outcome::Drop(reason) => {
                    verdict.dropped = Some((t.name().to_string(), reason));
                    return verdict;
                }
            }
        }
        verdict
    }
}

fn w_is_empty(g: &GeoIpSettings) -> bool {
    g.city_db.is_none() && g.country_db.is_none() && g.asn_db.is_none()
}

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

/// The `details` keys IpFixup reads and writes for one side of a connection.
struct IpKeys {
    address: &'static str,
    v4: &'static str,
    v6: &'static str,
    private: &'static str,
}

const IP_KEYS: [IpKeys; 2] = [
    IpKeys {
        address: "sourceipaddress",
        v4: "sourceipv4address",
        v6: "sourceipv6address",
        private: "sourceipprivate",
    },
    IpKeys {
        address: "destinationipaddress",
        v4: "destinationipv4address",
        v6: "destinationipv6address",
        private: "destinationipprivate",
    },
];

/// Runs the parser of the event's program (`processname`, else `details.program`) on its
/// summary: fields go into `details`, the parser's category and tags are applied.
pub struct Parsers;

impl Transform for Parsers {
    fn name(&self) -> &'static str {
        "parsers"
    }

    fn apply(&self, ev: &mut Event) -> Outcome {
        // Joined multi-record audit events were parsed whole at the source.
        if ev.details.contains_key("auditrecords") {
            return Outcome::Unchanged;
        }
        let program = match ev.details.get("program").and_then(Value::as_str) {
            Some(p) if ev.processname == "UNKNOWN" || ev.processname.is_empty() => p.to_string(),
            _ => ev.processname.clone(),
        };
        let Some(parsed) = ferrodef_parsers::parse_by_program(&program, &ev.summary) else {
            return Outcome::Unchanged;
        };
        apply_parsed(ev, parsed);
        Outcome::Changed
    }
}

/// Puts a parser's result into an event: fields into `details`, its category, its tags.
pub fn apply_parsed(ev: &mut Event, parsed: ferrodef_parsers::Parsed) {
    ev.details.extend(parsed.fields);
    if let Some(c) = parsed.category {
        ev.category = c.to_string();
    }
    for t in parsed.tags {
        if !ev.tags.iter().any(|x| x == t) {
            ev.tags.push(t.to_string());
        }
    }
}

struct GeoTransform(GeoIp);

/// The GeoIP enricher as a transform.
pub fn geo_transform(g: GeoIp) -> Arc<dyn Transform> {
    Arc::new(GeoTransform(g))
}

impl Transform for GeoTransform {
    fn name(&self) -> &'static str {
        "geoip"
    }
    fn apply(&self, ev: &mut Event) -> Outcome {
        if self.0.enrich(&mut ev.details) {
            Outcome::Changed
        } else {
            Outcome::Unchanged
        }
    }
}

/// Drops events whose field equals a value (`category=debugnoise`, `details.program=cron`).
pub struct DropRules(Vec<(String, String)>);

impl DropRules {
    /// Parses `field=value` rules.
    pub fn parse(rules: &[String]) -> Result<DropRules, String> {
        rules
            .iter()
            .map(|r| {
                r.split_once('=')
                    .map(|(f, v)| (f.trim().to_string(), v.trim().to_string()))
                    .filter(|(f, _)| !f.is_empty())
                    .ok_or_else(|| format!("[transforms] drop: '{r}' is not field=value"))
            })
            .collect::<Result<_, _>>()
            .map(DropRules)
    }
}

/// A top-level or `details.*` field of an event, as text.
pub fn field_text(ev: &Event, field: &str) -> Option<String> {
    Some(match field {
        "category" => ev.category.clone(),
        "hostname" => ev.hostname.clone(),
        "processname" => ev.processname.clone(),
        "processid" => ev.processid.clone(),
        "severity" => ev.severity.as_str().to_string(),
        "source" => ev.source.clone(),
        "summary" => ev.summary.clone(),
        f => match ev.details.get(f.strip_prefix("details.")?)? {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        },
    })
}

impl Transform for DropRules {
    fn name(&self) -> &'static str {
        "drop"
    }
    fn apply(&self, ev: &mut Event) -> Outcome {
        for (f, v) in &self.0 {
            if field_text(ev, f).as_deref() == Some(v.as_str()) {
                return Outcome::Drop(format!("{f}={v}"));
            }
        }
        Outcome::Unchanged
    }
}

/// Watchlists and blocklists of IP addresses, networks, host names and user names.
///
/// File format, one entry per line (`#` comments):
/// ```text
/// watch ip 203.0.113.7
/// watch cidr 198.51.100.0/24
/// block host evil.example.com
/// watch user svc-backup
/// ```
/// Matching events get the tag `watchlist` or `blocklisted`. The file is checked for changes at
/// most once a second and re-read when it changed: no restart needed.
pub struct Watchlist {
    file: PathBuf,
    state: RwLock<WatchState>,
}

#[derive(Default)]
struct WatchState {
    lists: Lists,
    mtime: Option<SystemTime>,
    checked: Option<Instant>,
    error: Option<String>,
}

#[derive(Default)]
struct Lists {
    /// (blocklist?, network)
    nets: Vec<(bool, IpNet)>,
    hosts: Vec<(bool, String)>,
    users: Vec<(bool, String)>,
}

fn parse_lists(text: &str, file: &std::path::Path) -> Result<Lists, String> {
    let mut l = Lists::default();
    for (i, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let bad = |m: &str| format!("{}:{}: {m}: '{line}'", file.display(), i + 1);
        let mut parts = line.split_whitespace();
        let (Some(list), Some(kind), Some(value), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad("expected 'watch|block ip|cidr|host|user VALUE'"));
        };
        let block = match list {
            "watch" => false,
            "block" => true,
            _ => return Err(bad("the list must be 'watch' or 'block'")),
        };
        match kind {
            "ip" => {
                let ip: IpAddr = value.parse().map_err(|_| bad("not an IP address"))?;
                l.nets.push((block, IpNet::from(ip)));
            }
            "cidr" => l
                .nets
                .push((block, value.parse().map_err(|_| bad("not a CIDR network"))?)),
            "host" => l.hosts.push((block, value.to_ascii_lowercase())),
            "user" => l.users.push((block, value.to_string())),
            _ => return Err(bad("the kind must be ip, cidr, host or user")),
        }
    }
    Ok(l)
}

impl Watchlist {
    /// A watchlist read from `file` (and re-read when it changes).
    pub fn from_file(file: PathBuf) -> Watchlist {
        let w = Watchlist {
            file,
            state: RwLock::new(WatchState::default()),
        };
        w.refresh(true);
        w
    }

    /// The last problem reading the file, if any (the previous lists stay in force).
    pub fn error(&self) -> Option<String> {
        self.state.read().error.clone()
    }

    fn refresh(&self, force: bool) {
        {
            let s = self.state.read();
            if !force
                && s.checked
                    .is_some_and(|c| c.elapsed() < Duration::from_secs(1))
            {
                return;
            }
        }
        let mut s = self.state.write();
        s.checked = Some(Instant::now());
        let mtime = std::fs::metadata(&self.file)
            .and_then(|m| m.modified())
            .ok();
        if !force && mtime == s.mtime {
            return;
        }
        match std::fs::read_to_string(&self.file) {
            Ok(text) => match parse_lists(&text, &self.file) {
                Ok(lists) => {
                    s.lists = lists;
                    s.error = None;
                    tracing::info!(file = %self.file.display(), "watchlist loaded");
                }
                Err(e) => {
                    tracing::warn!("watchlist not reloaded: {e}");
                    s.error = Some(e);
                }
            },
            Err(e) => {
                let msg = format!("watchlist {}: {e}", self.file.display());
                tracing::warn!("{msg}");
                s.error = Some(msg);
            }
        }
        s.mtime = mtime;
    }
}

impl Transform for Watchlist {
    fn name(&self) -> &'static str {
        "watchlist"
    }

    fn apply(&self, ev: &mut Event) -> Outcome {
        self.refresh(false);
        let s = self.state.read();
        let mut hit = [false, false]; // [watch, block]
        if !s.lists.nets.is_empty() {
            for key in ["sourceipaddress", "destinationipaddress"] {
                if let Some(ip) = ev
                    .details
                    .get(key)
                    .and_then(Value::as_str)
                    .and_then(|v| v.trim().parse::<IpAddr>().ok())
                {
                    for (block, net) in &s.lists.nets {
                        if net.contains(&ip) {
                            hit[usize::from(*block)] = true;
                        }
                    }
                }
            }
        }
        for (block, h) in &s.lists.hosts {
            if h.eq_ignore_ascii_case(&ev.hostname) {
                hit[usize::from(*block)] = true;
            }
        }
        if !s.lists.users.is_empty() {
            for key in ["username", "sourceusername", "destinationusername", "user"] {
                if let Some(u) = ev.details.get(key).and_then(Value::as_str) {
                    for (block, name) in &s.lists.users {
                        if name == u {
                            hit[usize::from(*block)] = true;
                        }
                    }
                }
            }
        }
        let mut changed = false;
        for (i, tag) in ["watchlist", "blocklisted"].iter().enumerate() {
            if hit[i] && !ev.tags.iter().any(|t| t == tag) {
                ev.tags.push((*tag).to_string());
                changed = true;
            }
        }
        if changed {
            Outcome::Changed
        } else {
            Outcome::Unchanged
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalize::{normalize, NormalizeContext};
    use serde_json::json;

    fn ev(v: Value) -> Event {
        normalize(
            v,
            &NormalizeContext {
                now: chrono::Utc::now(),
                mozdefhostname: "t".into(),
                default_tz: chrono_tz::UTC,
                source: None,
            },
        )
        .unwrap()
    }

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

    #[test]
    fn watchlist_tags_and_reloads_without_restart() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("w.txt");
        std::fs::write(&file, "# lists\nwatch ip 203.0.113.7\nblock cidr 198.51.100.0/24\nwatch user svc\nblock host Evil.example.com\n").unwrap();
        let w = Arc::new(Watchlist::from_file(file.clone()));
        assert!(w.error().is_none());
        let p = Pipeline::new(vec![w.clone()]);
        let mut e = ev(json!({"details": {"sourceipaddress": "203.0.113.7"}}));
        p.run(&mut e);
        assert_eq!(e.tags, vec!["watchlist"]);
        assert_eq!(e.plugins, vec!["watchlist"]);
        let mut e = ev(
            json!({"hostname": "evil.example.com", "details": {"destinationipaddress": "198.51.100.9", "username": "svc"}}),
        );
        p.run(&mut e);
        assert_eq!(e.tags, vec!["watchlist", "blocklisted"]);
        let mut e = ev(json!({"details": {"sourceipaddress": "192.0.2.1"}}));
        p.run(&mut e);
        assert!(e.tags.is_empty());
        // Change the file: picked up without a restart.
        std::thread::sleep(Duration::from_millis(1100));
        std::fs::write(&file, "block ip 192.0.2.1\n").unwrap();
        let t = SystemTime::now() + Duration::from_secs(2);
        let f = std::fs::File::options().write(true).open(&file).unwrap();
        f.set_modified(t).unwrap();
        let mut e = ev(json!({"details": {"sourceipaddress": "192.0.2.1"}}));
        p.run(&mut e);
        assert_eq!(e.tags, vec!["blocklisted"]);
        // A broken file keeps the previous lists and reports the line.
        std::thread::sleep(Duration::from_millis(1100));
        std::fs::write(&file, "block ip nope\n").unwrap();
        f.set_modified(t + Duration::from_secs(5)).unwrap();
        let mut e = ev(json!({"details": {"sourceipaddress": "192.0.2.1"}}));
        p.run(&mut e);
        assert_eq!(e.tags, vec!["blocklisted"]);
        assert!(w.error().unwrap().contains("w.txt:1"), "{:?}", w.error());
    }

    #[test]
    fn parsers_transform_sets_fields_and_category() {
        let p = Pipeline::new(vec![Arc::new(Parsers), Arc::new(IpFixup)]);
        let mut e = ev(json!({"processname": "sshd", "category": "syslog",
            "summary": "Failed password for invalid user admin from 198.51.100.23 port 52311 ssh2"}));
        p.run(&mut e);
        assert_eq!(e.category, "authentication");
        assert_eq!(e.details["username"], "admin");
        assert_eq!(e.details["success"], false);
        assert_eq!(e.details["sourceipv4address"], "198.51.100.23");
        assert_eq!(e.plugins, vec!["parsers", "ipfixup"]);
        let mut e = ev(json!({"details": {"program": "sudo"},
            "summary": "averez : TTY=ttys004 ; PWD=/Users/averez ; USER=root ; COMMAND=/usr/bin/su"}));
        p.run(&mut e);
        assert_eq!(e.details["username"], "averez");
        let mut e = ev(
            json!({"processname": "cron", "summary": "(root) CMD (run-parts /etc/cron.hourly)"}),
        );
        p.run(&mut e);
        assert!(e.plugins.is_empty());
    }

    #[test]
    fn drop_rules_and_config() {
        let cfg: TransformsConfig = toml::from_str(
            "order = [\"drop\", \"ipfixup\"]\ndrop = [\"category=noise\", \"details.program=cron\"]\n",
        )
        .unwrap();
        let (p, warnings) = Pipeline::from_config(&cfg).unwrap();
        assert!(warnings.is_empty());
        assert_eq!(p.names(), vec!["drop", "ipfixup"]);
        let mut e = ev(json!({"category": "noise"}));
        assert_eq!(
            p.run(&mut e).dropped,
            Some(("drop".into(), "category=noise".into()))
        );
        let mut e = ev(json!({"details": {"program": "cron"}}));
        assert!(p.run(&mut e).dropped.is_some());
        let mut e = ev(json!({"category": "auth"}));
        assert_eq!(p.run(&mut e), Verdict::default());
        let bad: TransformsConfig = toml::from_str("order = [\"nope\"]").unwrap();
        assert!(Pipeline::from_config(&bad).err().unwrap().contains("nope"));
        let cfg: TransformsConfig =
            toml::from_str("order = [\"geoip\"]\n[geoip]\ncity_db = \"/nonexistent.mmdb\"\n")
                .unwrap();
        let (p, warnings) = Pipeline::from_config(&cfg).unwrap();
        assert!(p.names().is_empty());
        assert!(warnings[0].contains("/nonexistent.mmdb"), "{warnings:?}");
    }
}
