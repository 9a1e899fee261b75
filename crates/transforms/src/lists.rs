//! The console's watchlist and blocklist as the `watchlist` transform reads them: a
//! [`ListFeed`] shared between the API, which changes the lists (`crates/api/src/lists.rs`,
//! docs/lists.md) and keeps the feed current as it does, and the transform, which looks every
//! event up in it. No restart and no polling: a change is in force for the next event.
//!
//! Lookups cost a hash probe per address and prefix length in use, per host name and per
//! user name, whatever the number of entries (up to the lists' 100,000 each). Entries carry
//! their expiry, checked when they match: an expired entry never tags an event, even before
//! the API forgets it.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::{DateTime, Utc};
use ipnet::IpNet;
use parking_lot::RwLock;

/// Which list an entry is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListName {
    /// The watchlist: matching events are tagged `watchlist`.
    Watch,
    /// The blocklist: matching events are tagged `blocklisted`.
    Block,
}

/// What an entry matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Watched {
    /// An address or a network: `details.sourceipaddress`, `details.destinationipaddress`.
    Net(IpNet),
    /// A host name (lower case): the event's `hostname`.
    Host(String),
    /// A user name: `details.username`, `sourceusername`, `destinationusername`, `user`.
    User(String),
}

/// One entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedEntry {
    /// Its list.
    pub list: ListName,
    /// What it matches.
    pub watched: Watched,
    /// The entry's value as the lists show it (`203.0.113.7`, `198.51.100.0/24`).
    pub term: String,
    /// When it stops matching; never when absent.
    pub expires: Option<DateTime<Utc>>,
}

impl FeedEntry {
    fn in_force(&self, now: DateTime<Utc>) -> bool {
        self.expires.is_none_or(|e| e > now)
    }
}

/// The entries in force (and expired ones not yet removed), indexed for lookups.
#[derive(Default)]
pub struct ListFeed {
    index: RwLock<Index>,
    /// Entries held: events skip the lookups (and the lock) while it is zero.
    len: AtomicUsize,
}

#[derive(Default)]
struct Index {
    by_id: HashMap<String, FeedEntry>,
    /// Networks (truncated) → ids; single addresses are /32 and /128 networks.
    nets: HashMap<IpNet, Vec<String>>,
    /// Prefix lengths in use (with how many networks each), per family.
    v4_prefixes: BTreeMap<u8, usize>,
    v6_prefixes: BTreeMap<u8, usize>,
    hosts: HashMap<String, Vec<String>>,
    users: HashMap<String, Vec<String>>,
}

/// The first entry in force matched on each list.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Matches {
    /// On the watchlist: its term.
    pub watch: Option<String>,
    /// On the blocklist: its term.
    pub block: Option<String>,
}

impl Matches {
    fn note(&mut self, e: &FeedEntry) {
        let slot = match e.list {
            ListName::Watch => &mut self.watch,
            ListName::Block => &mut self.block,
        };
        if slot.is_none() {
            *slot = Some(e.term.clone());
        }
    }
}

impl Index {
    fn prefixes(&mut self, net: &IpNet) -> &mut BTreeMap<u8, usize> {
        match net {
            IpNet::V4(_) => &mut self.v4_prefixes,
            IpNet::V6(_) => &mut self.v6_prefixes,
        }
    }

    fn insert(&mut self, id: &str, e: FeedEntry) {
        match &e.watched {
            Watched::Net(n) => {
                let n = n.trunc();
                let ids = self.nets.entry(n).or_default();
                ids.push(id.to_string());
                if ids.len() == 1 {
                    *self.prefixes(&n).entry(n.prefix_len()).or_default() += 1;
                }
            }
            Watched::Host(h) => self.hosts.entry(h.clone()).or_default().push(id.into()),
            Watched::User(u) => self.users.entry(u.clone()).or_default().push(id.into()),
        }
        self.by_id.insert(id.to_string(), e);
    }

    fn remove(&mut self, id: &str) {
        let Some(e) = self.by_id.remove(id) else {
            return;
        };
        fn drop_id<K: std::hash::Hash + Eq>(
            m: &mut HashMap<K, Vec<String>>,
            k: &K,
            id: &str,
        ) -> bool {
            let Some(ids) = m.get_mut(k) else {
                return false;
            };
            ids.retain(|i| i != id);
            let empty = ids.is_empty();
            if empty {
                m.remove(k);
            }
            empty
        }
        match &e.watched {
            Watched::Net(n) => {
                let n = n.trunc();
                if drop_id(&mut self.nets, &n, id) {
                    let p = self.prefixes(&n);
                    if let Some(c) = p.get_mut(&n.prefix_len()) {
                        *c -= 1;
                        if *c == 0 {
                            p.remove(&n.prefix_len());
                        }
                    }
                }
            }
            Watched::Host(h) => {
                drop_id(&mut self.hosts, h, id);
            }
            Watched::User(u) => {
                drop_id(&mut self.users, u, id);
            }
        }
    }

    fn note_all(&self, ids: Option<&Vec<String>>, now: DateTime<Utc>, m: &mut Matches) {
        for id in ids.into_iter().flatten() {
            if let Some(e) = self.by_id.get(id).filter(|e| e.in_force(now)) {
                m.note(e);
            }
        }
    }
}

impl ListFeed {
    /// Adds entry `id`, or replaces it.
    pub fn upsert(&self, id: &str, entry: FeedEntry) {
        let mut ix = self.index.write();
        ix.remove(id);
        ix.insert(id, entry);
        self.len.store(ix.by_id.len(), Ordering::Release);
    }

    /// Removes entry `id` (nothing when it is unknown).
    pub fn remove(&self, id: &str) {
        let mut ix = self.index.write();
        ix.remove(id);
        self.len.store(ix.by_id.len(), Ordering::Release);
    }

    /// Entries held (expired ones included until removed).
    pub fn len(&self) -> usize {
        self.len.load(Ordering::Acquire)
    }

    /// Whether it holds no entry.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The entries in force at `now` that match these addresses, host name and user names.
    pub fn lookup<'a>(
        &self,
        ips: &[IpAddr],
        host: &str,
        users: impl IntoIterator<Item = &'a str>,
        now: DateTime<Utc>,
    ) -> Matches {
        let mut m = Matches::default();
        if self.is_empty() {
            return m;
        }
        let ix = self.index.read();
        for ip in ips {
            let prefixes = match ip {
                IpAddr::V4(_) => &ix.v4_prefixes,
                IpAddr::V6(_) => &ix.v6_prefixes,
            };
            for len in prefixes.keys() {
                if let Ok(net) = IpNet::new(*ip, *len) {
                    ix.note_all(ix.nets.get(&net.trunc()), now, &mut m);
                }
            }
        }
        if !ix.hosts.is_empty() && !host.is_empty() {
            let h = host.trim_end_matches('.');
            if h.bytes().any(|b| b.is_ascii_uppercase()) {
                ix.note_all(ix.hosts.get(&h.to_ascii_lowercase()), now, &mut m);
            } else {
                ix.note_all(ix.hosts.get(h), now, &mut m);
            }
        }
        if !ix.users.is_empty() {
            for u in users {
                ix.note_all(ix.users.get(u), now, &mut m);
            }
        }
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(list: ListName, watched: Watched, term: &str, expires: Option<&str>) -> FeedEntry {
        FeedEntry {
            list,
            watched,
            term: term.into(),
            expires: expires.map(|e| e.parse().unwrap()),
        }
    }

    #[test]
    fn lookups_by_address_network_host_and_user_respect_expiry_and_removal() {
        let f = ListFeed::default();
        let now: DateTime<Utc> = "2026-01-01T00:00:00Z".parse().unwrap();
        let ip = |s: &str| -> IpAddr { s.parse().unwrap() };
        assert_eq!(
            f.lookup(&[ip("203.0.113.7")], "h", ["u"], now),
            Matches::default()
        );
        f.upsert(
            "wl-1",
            entry(
                ListName::Watch,
                Watched::Net("203.0.113.7/32".parse().unwrap()),
                "203.0.113.7",
                None,
            ),
        );
        f.upsert(
            "bl-1",
            entry(
                ListName::Block,
                Watched::Net("198.51.100.0/24".parse().unwrap()),
                "198.51.100.0/24",
                None,
            ),
        );
        f.upsert(
            "wl-2",
            entry(
                ListName::Watch,
                Watched::Net("2001:db8::/32".parse().unwrap()),
                "2001:db8::/32",
                None,
            ),
        );
        f.upsert(
            "wl-3",
            entry(
                ListName::Watch,
                Watched::Host("evil.example.com".into()),
                "evil.example.com",
                None,
            ),
        );
        f.upsert(
            "wl-4",
            entry(
                ListName::Watch,
                Watched::User("mallory".into()),
                "mallory",
                Some("2026-01-02T00:00:00Z"),
            ),
        );
        assert_eq!(f.len(), 5);
        let m = f.lookup(&[ip("192.0.2.1"), ip("198.51.100.77")], "", [], now);
        assert_eq!(
            (m.watch, m.block.as_deref()),
            (None, Some("198.51.100.0/24"))
        );
        let m = f.lookup(&[ip("203.0.113.7")], "Evil.Example.COM", [], now);
        assert_eq!(m.watch.as_deref(), Some("203.0.113.7"));
        assert_eq!(
            f.lookup(&[], "EVIL.example.com.", [], now).watch.as_deref(),
            Some("evil.example.com")
        );
        assert_eq!(
            f.lookup(&[ip("2001:db8:1::5")], "", [], now)
                .watch
                .as_deref(),
            Some("2001:db8::/32")
        );
        assert_eq!(
            f.lookup(&[ip("203.0.113.8")], "", [], now),
            Matches::default()
        );
        assert_eq!(
            f.lookup(&[], "", ["mallory"], now).watch.as_deref(),
            Some("mallory")
        );
        // Expired: no match, though still held.
        let later: DateTime<Utc> = "2026-01-02T00:00:00Z".parse().unwrap();
        assert_eq!(f.lookup(&[], "", ["mallory"], later), Matches::default());
        // Removed: gone, and the prefix length with it.
        f.remove("bl-1");
        f.remove("nope");
        assert_eq!(
            f.lookup(&[ip("198.51.100.77")], "", [], now),
            Matches::default()
        );
        assert!(!f.index.read().v4_prefixes.contains_key(&24));
        // Replaced: the old value no longer matches.
        f.upsert(
            "wl-1",
            entry(
                ListName::Watch,
                Watched::Net("192.0.2.0/24".parse().unwrap()),
                "192.0.2.0/24",
                None,
            ),
        );
        assert_eq!(
            f.lookup(&[ip("203.0.113.7")], "", [], now),
            Matches::default()
        );
        assert_eq!(
            f.lookup(&[ip("192.0.2.9")], "", [], now).watch.as_deref(),
            Some("192.0.2.0/24")
        );
        assert_eq!(f.len(), 4);
    }
}
