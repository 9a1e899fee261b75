//! The in-memory matcher (`ferrodef_query::Matcher`, used by the rule engine and to search
//! alerts) finds exactly the events the store's search finds, for the same queries.

mod support;
use support::doc;

use chrono::{TimeZone, Utc};
use ferrodef_query::Matcher;
use ferrodef_store::tantivy_store::TantivyOptions;
use ferrodef_store::{SearchRequest, SortOrder, Store, TantivyStore};
use serde_json::{json, Value};

fn events() -> Vec<Value> {
    vec![
        json!({"summary": "Failed password for invalid user root from 10.1.2.3 port 22 ssh2",
            "category": "syslog", "hostname": "web1.example.com", "tags": ["ssh", "linux"],
            "details": {"program": "sshd", "sourceipaddress": "10.1.2.3", "username": "root", "port": 22}}),
        json!({"summary": "Accepted publickey for bob from 192.0.2.7 port 5555 ssh2",
            "category": "syslog", "hostname": "bastion.example.com",
            "details": {"program": "sshd", "sourceipaddress": "192.0.2.7", "username": "bob", "port": 5555, "ok": true}}),
        json!({"summary": "login invalid ldap_count_entries failed by 1.2.3.4", "category": "excategory",
            "hostname": "exhostname", "details": {"program": "sshd", "sourceipaddress": "1.2.3.4", "username": ""}}),
        json!({"summary": "Promisc: Interface eth0 set promiscuous on", "category": "promiscuous",
            "hostname": "h3", "details": {"dev": "veth12", "sourceipaddress": "2001:db8::1"}}),
        json!({"summary": "squid TCP_DENIED", "category": "proxy",
            "details": {"proxyaction": "TCP_DENIED", "host": "1.2.3.5", "destination": "http://evil/x.exe",
                "destinationport": "8443", "sourceipaddress": "not-an-ip", "changepairs": ["add:memberUid", "delete:member x"]}}),
        json!({"summary": "Scan::Address_Scan source 10.252.25.90", "category": "bro", "source": "notice",
            "details": {"note": "Scan::Address_Scan", "sourceipaddress": "10.99.88.77", "indicators": "10.99.88.77",
                "seen": "2016-12-30T01:00:00+00:00", "count": 2.5}}),
    ]
}

const QUERIES: &[&str] = &[
    "failed",
    "summary:FAILED AND details.program:sshd",
    "\"invalid user root\"",
    "\"user invalid\"",
    "\"failed password\"",
    "\"Password for\"",
    "\"password for invalid user\"",
    "\"password invalid\"",
    "summary:\"for bob\" OR summary:\"eth0 set\"",
    "\"promiscuous on\" AND NOT \"set promiscuous\"",
    "summary:(login OR keyboard)",
    "summary:ldap_count_entries",
    "summary:\"1.2.3.4\"",
    "summary:promisc*",
    "summary:/pass.*/",
    "NOT summary:veth*",
    "details.dev:veth*",
    "category:syslog",
    "category:Syslog",
    "details.username:\"\"",
    "NOT details.username:\"\"",
    "details.port:22",
    "details.port:[1000 TO 6000]",
    "details.port:>=22",
    "details.ok:true",
    "tags:ssh",
    "details.sourceipaddress:10.0.0.0/8",
    "details.sourceipaddress:1.2.3.4",
    "details.sourceipaddress:\"2001:db8::1\"",
    "details.sourceipaddress:[10.0.0.0 TO 10.255.255.255]",
    "details.sourceipaddress:not-an-ip",
    "details.sourceipaddress:10.1.*",
    "details.host:/[0-9a-fA-F]{1,4}.*/",
    "details.destination:/.*\\.(exe|sh|py|rb|bin)/",
    "details.destinationport:(\"443\" OR \"8443\")",
    "details.changepairs:/delete:.*member.*/",
    "details.note:\"Scan::Address_Scan\"",
    "_exists_:details.indicators",
    "_exists_:details",
    "_exists_:details.nothing",
    "hostname:/(web1|bast.*).*/",
    "hostname:*.example.com AND NOT hostname:bastion*",
    "details.seen:\"2016-12-30T01:00:00+00:00\"",
    "details.seen:[2016-12-01 TO 2017-01-01]",
    "details.count:2.5",
    "details.count:[2 TO 3]",
    "utctimestamp:[now-1h TO now]",
    "utctimestamp:<now-1d",
    "*",
    "category:syslog OR source:notice",
    "(category:proxy AND details.proxyaction:TCP_DENIED) OR NOT _exists_:details.program",
];

#[test]
fn matcher_finds_what_the_store_finds() {
    let dir = tempfile::tempdir().unwrap();
    let store = TantivyStore::open(dir.path(), TantivyOptions::default()).unwrap();
    let now = Utc.with_ymd_and_hms(2017, 1, 1, 1, 0, 0).unwrap();
    let t_recent = now - chrono::Duration::minutes(5);
    let t_old = now - chrono::Duration::days(2);
    let mut docs = Vec::new();
    let mut maps = Vec::new();
    for (i, mut v) in events().into_iter().enumerate() {
        let t = if i % 2 == 0 { t_recent } else { t_old };
        let obj = v.as_object_mut().unwrap();
        obj.insert("n".into(), json!(i));
        obj.insert("utctimestamp".into(), json!(t.to_rfc3339()));
        obj.insert("receivedtimestamp".into(), json!(t.to_rfc3339()));
        maps.push(obj.clone());
        docs.push(doc(i as u64 + 1, t, v));
    }
    store.index(docs).unwrap();
    store.commit(maps.len() as u64).unwrap();
    for q in QUERIES {
        let expr = ferrodef_query::parse(q).unwrap();
        let r = store
            .search(&SearchRequest {
                stream: "events".into(),
                query: expr.clone(),
                from: None,
                to: None,
                size: 100,
                sort_field: "utctimestamp".into(),
                order: SortOrder::Desc,
                now,
                budget: Default::default(),
            })
            .unwrap_or_else(|e| panic!("{q}: {e}"));
        let mut from_store: Vec<u64> = r.hits.iter().filter_map(|h| h["n"].as_u64()).collect();
        from_store.sort_unstable();
        let m = Matcher::new(&expr).unwrap_or_else(|e| panic!("{q}: {e}"));
        let from_matcher: Vec<u64> = maps
            .iter()
            .filter(|e| m.matches(e, now))
            .filter_map(|e| e["n"].as_u64())
            .collect();
        assert_eq!(from_matcher, from_store, "query {q}");
    }
}
