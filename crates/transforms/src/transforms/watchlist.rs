//! `watchlist`: tags for listed addresses, networks, host names and user names, from a file
//! re-read when it changes.

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use ferrodef_event::Event;
use ipnet::IpNet;
use parking_lot::RwLock;
use serde_json::Value;

use crate::clock::{Clock, SystemClock};
use crate::pipeline::{Outcome, Transform};

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
/// most once per `CHECK_INTERVAL` (a second) and re-read when it changed: no restart needed.
pub struct Watchlist {
    file: PathBuf,
    state: RwLock<WatchState>,
    clock: Arc<dyn Clock>,
}

/// How often, at most, the watchlist file is checked for changes (a `stat` per event would
/// cost more than the matching).
pub(crate) const CHECK_INTERVAL: Duration = Duration::from_secs(1);

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
        Watchlist::with_clock(file, Arc::new(SystemClock))
    }

    /// A watchlist read from `file`, checking it for changes by `clock`'s time.
    pub fn with_clock(file: PathBuf, clock: Arc<dyn Clock>) -> Watchlist {
        let w = Watchlist {
            file,
            state: RwLock::new(WatchState::default()),
            clock,
        };
        w.refresh(true);
        w
    }

    /// The last problem reading the file, if any (the previous lists stay in force).
    pub fn error(&self) -> Option<String> {
        self.state.read().error.clone()
    }

    fn refresh(&self, force: bool) {
        let now = self.clock.now();
        {
            let s = self.state.read();
            if !force
                && s.checked
                    .is_some_and(|c| now.saturating_duration_since(c) < CHECK_INTERVAL)
            {
                return;
            }
        }
        let mut s = self.state.write();
        s.checked = Some(now);
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
    use std::sync::Arc;

    use super::*;
    use crate::clock::ManualClock;
    use crate::pipeline::Pipeline;
    use crate::transforms::test_event as ev;
    use serde_json::json;

    #[test]
    fn watchlist_tags_and_reloads_without_restart() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("w.txt");
        std::fs::write(&file, "# lists\nwatch ip 203.0.113.7\nblock cidr 198.51.100.0/24\nwatch user svc\nblock host Evil.example.com\n").unwrap();
        let clock = ManualClock::new();
        let w = Arc::new(Watchlist::with_clock(file.clone(), clock.clone()));
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
        // Change the file (with a modification time of its own): not looked at again within
        // the check interval, picked up after it without a restart.
        std::fs::write(&file, "block ip 192.0.2.1\n").unwrap();
        let t = SystemTime::now() + Duration::from_secs(2);
        let f = std::fs::File::options().write(true).open(&file).unwrap();
        f.set_modified(t).unwrap();
        let mut e = ev(json!({"details": {"sourceipaddress": "192.0.2.1"}}));
        p.run(&mut e);
        assert!(e.tags.is_empty(), "checked again too soon: {:?}", e.tags);
        clock.advance(CHECK_INTERVAL);
        let mut e = ev(json!({"details": {"sourceipaddress": "192.0.2.1"}}));
        p.run(&mut e);
        assert_eq!(e.tags, vec!["blocklisted"]);
        // A broken file keeps the previous lists and reports the line.
        clock.advance(CHECK_INTERVAL);
        std::fs::write(&file, "block ip nope\n").unwrap();
        f.set_modified(t + Duration::from_secs(5)).unwrap();
        let mut e = ev(json!({"details": {"sourceipaddress": "192.0.2.1"}}));
        p.run(&mut e);
        assert_eq!(e.tags, vec!["blocklisted"]);
        assert!(w.error().unwrap().contains("w.txt:1"), "{:?}", w.error());
    }
}
