//! `watchlist`: tags events whose addresses, networks, host name or user names are on the
//! console's watchlist or blocklist (a [`ListFeed`] the API keeps current, docs/lists.md), and,
//! optionally, on the lists of a file re-read when it changes.

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use ferrodef_event::{Event, IP_FIELDS};
use parking_lot::RwLock;
use serde_json::Value;

use crate::clock::{Clock, SystemClock};
use crate::lists::{FeedEntry, ListFeed, ListName, Matches, Watched};
use crate::pipeline::{Outcome, Transform};

/// Tags events on the watchlist (`watchlist`, and the entry's value in
/// `details.watchlistterm`) or the blocklist (`blocklisted`).
///
/// The lists come from the console's lists (a [`ListFeed`], changed through the API: in force
/// for the next event, expired entries ignored) and, optionally, from a file, one entry per
/// line (`#` comments):
/// ```text
/// watch ip 203.0.113.7
/// watch cidr 198.51.100.0/24
/// block host evil.example.com
/// watch user svc-backup
/// ```
/// The file is checked for changes at most once per `CHECK_INTERVAL` (a second) and re-read
/// when it changed: no restart needed.
///
/// Addresses are looked for in the IP fields ([`ferrodef_event::IP_FIELDS`]),
/// host names in `hostname` (any case), user names in `details.username`, `sourceusername`,
/// `destinationusername` and `user`.
pub struct Watchlist {
    file: Option<FileLists>,
    feed: Option<Arc<ListFeed>>,
    clock: Arc<dyn Clock>,
}

/// The lists of a file.
struct FileLists {
    path: PathBuf,
    state: RwLock<WatchState>,
}

/// How often, at most, the watchlist file is checked for changes (a `stat` per event would
/// cost more than the matching).
pub(crate) const CHECK_INTERVAL: Duration = Duration::from_secs(1);

#[derive(Default)]
struct WatchState {
    lists: Arc<ListFeed>,
    mtime: Option<SystemTime>,
    checked: Option<Instant>,
    error: Option<String>,
}

fn parse_lists(text: &str, file: &std::path::Path) -> Result<ListFeed, String> {
    let feed = ListFeed::default();
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
        let list = match list {
            "watch" => ListName::Watch,
            "block" => ListName::Block,
            _ => return Err(bad("the list must be 'watch' or 'block'")),
        };
        let watched = match kind {
            "ip" => {
                let ip: IpAddr = value.parse().map_err(|_| bad("not an IP address"))?;
                Watched::Net(ip.into())
            }
            "cidr" => Watched::Net(value.parse().map_err(|_| bad("not a CIDR network"))?),
            "host" => Watched::Host(value.trim_end_matches('.').to_ascii_lowercase()),
            "user" => Watched::User(value.to_string()),
            _ => return Err(bad("the kind must be ip, cidr, host or user")),
        };
        feed.upsert(
            &format!("line-{}", i + 1),
            FeedEntry {
                list,
                watched,
                term: value.to_string(),
                expires: None,
            },
        );
    }
    Ok(feed)
}

impl Watchlist {
    /// A watchlist read from `file` (and re-read when it changes).
    pub fn from_file(file: PathBuf) -> Watchlist {
        Watchlist::new(Some(file), None, Arc::new(SystemClock))
    }

    /// A watchlist of the console's lists (`feed`) and of `file`, checking the file for
    /// changes and the entries for expiry by `clock`'s time.
    pub fn new(
        file: Option<PathBuf>,
        feed: Option<Arc<ListFeed>>,
        clock: Arc<dyn Clock>,
    ) -> Watchlist {
        let w = Watchlist {
            file: file.map(|path| FileLists {
                path,
                state: RwLock::new(WatchState::default()),
            }),
            feed,
            clock,
        };
        w.refresh(true);
        w
    }

    /// A watchlist read from `file`, checking it for changes by `clock`'s time.
    pub fn with_clock(file: PathBuf, clock: Arc<dyn Clock>) -> Watchlist {
        Watchlist::new(Some(file), None, clock)
    }

    /// The last problem reading the file, if any (the previous lists stay in force).
    pub fn error(&self) -> Option<String> {
        self.file
            .as_ref()
            .and_then(|f| f.state.read().error.clone())
    }

    fn refresh(&self, force: bool) {
        let Some(f) = &self.file else {
            return;
        };
        let now = self.clock.now();
        {
            let s = f.state.read();
            if !force
                && s.checked
                    .is_some_and(|c| now.saturating_duration_since(c) < CHECK_INTERVAL)
            {
                return;
            }
        }
        let mut s = f.state.write();
        s.checked = Some(now);
        let mtime = std::fs::metadata(&f.path).and_then(|m| m.modified()).ok();
        if !force && mtime == s.mtime {
            return;
        }
        match std::fs::read_to_string(&f.path) {
            Ok(text) => match parse_lists(&text, &f.path) {
                Ok(lists) => {
                    s.lists = Arc::new(lists);
                    s.error = None;
                    tracing::info!(file = %f.path.display(), "watchlist loaded");
                }
                Err(e) => {
                    tracing::warn!("watchlist not reloaded: {e}");
                    s.error = Some(e);
                }
            },
            Err(e) => {
                let msg = format!("watchlist {}: {e}", f.path.display());
                tracing::warn!("{msg}");
                s.error = Some(msg);
            }
        }
        s.mtime = mtime;
    }
}

/// Keys of `details` holding user names.
const USER_KEYS: [&str; 4] = ["username", "sourceusername", "destinationusername", "user"];

impl Transform for Watchlist {
    fn name(&self) -> &'static str {
        "watchlist"
    }

    fn apply(&self, ev: &mut Event) -> Outcome {
        self.refresh(false);
        let file = self.file.as_ref().map(|f| f.state.read().lists.clone());
        let sources = [file.as_deref(), self.feed.as_deref()];
        if sources.iter().all(|s| s.is_none_or(ListFeed::is_empty)) {
            return Outcome::Unchanged;
        }
        let mut ips = [None, None];
        for (slot, field) in ips.iter_mut().zip(IP_FIELDS) {
            *slot = ev
                .details
                .get(field.key)
                .and_then(Value::as_str)
                .and_then(|v| v.trim().parse::<IpAddr>().ok());
        }
        let ips: Vec<IpAddr> = ips.into_iter().flatten().collect();
        let now = self.clock.utc();
        let mut m = Matches::default();
        for src in sources.into_iter().flatten() {
            let users = USER_KEYS
                .iter()
                .filter_map(|k| ev.details.get(k).and_then(Value::as_str));
            let found = src.lookup(&ips, &ev.hostname, users, now);
            m.watch = m.watch.or(found.watch);
            m.block = m.block.or(found.block);
        }
        let mut changed = false;
        for (hit, tag) in [
            (m.watch.is_some(), "watchlist"),
            (m.block.is_some(), "blocklisted"),
        ] {
            if hit && !ev.tags.iter().any(|t| t == tag) {
                ev.tags.push(tag.to_string());
                changed = true;
            }
        }
        if let Some(term) = m.watch {
            changed |= ev
                .details
                .insert_if_absent("watchlistterm", Value::String(term));
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
        assert_eq!(e.details.get("watchlistterm"), Some(&json!("203.0.113.7")));
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

#[cfg(test)]
mod feed_tests {
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;
    use crate::clock::ManualClock;
    use crate::transforms::test_event as ev;
    use serde_json::json;

    #[test]
    fn the_consoles_lists_tag_as_they_change_and_until_entries_expire() {
        let clock = ManualClock::new();
        let feed = Arc::new(ListFeed::default());
        let w = Watchlist::new(None, Some(feed.clone()), clock.clone());
        let sample = || {
            ev(
                json!({"hostname": "web-1", "details": {"sourceipaddress": "203.0.113.7", "username": "alice"}}),
            )
        };
        let mut e = sample();
        assert_eq!(w.apply(&mut e), Outcome::Unchanged);
        assert!(e.tags.is_empty());
        let expires = clock.utc() + chrono::Duration::hours(1);
        feed.upsert(
            "wl-a",
            FeedEntry {
                list: ListName::Watch,
                watched: Watched::User("alice".into()),
                term: "alice".into(),
                expires: Some(expires),
            },
        );
        feed.upsert(
            "bl-b",
            FeedEntry {
                list: ListName::Block,
                watched: Watched::Net("203.0.113.0/24".parse().unwrap()),
                term: "203.0.113.0/24".into(),
                expires: None,
            },
        );
        let mut e = sample();
        assert_eq!(w.apply(&mut e), Outcome::Changed);
        assert_eq!(e.tags, vec!["watchlist", "blocklisted"]);
        assert_eq!(e.details.get("watchlistterm"), Some(&json!("alice")));
        // Past its expiry the watch entry no longer tags; the block entry does.
        clock.advance(Duration::from_secs(3600));
        let mut e = sample();
        w.apply(&mut e);
        assert_eq!(e.tags, vec!["blocklisted"]);
        assert!(e.details.get("watchlistterm").is_none());
        feed.remove("bl-b");
        let mut e = sample();
        assert_eq!(w.apply(&mut e), Outcome::Unchanged);
    }
}
