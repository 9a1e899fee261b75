//! The tantivy backend: partitions, replay idempotence, query translation, aggregation, retention.

mod support;
use support::doc;

use std::ops::Bound;
use std::sync::Arc;

use chrono::{Duration, TimeZone, Utc};
use ferrodef_query::Expr;
use ferrodef_store::tantivy_store::TantivyOptions;
use ferrodef_store::{AggRequest, SearchRequest, SortOrder, Store, TantivyStore};
use serde_json::{json, Value};

fn open(dir: &std::path::Path) -> Arc<dyn Store> {
    Arc::new(TantivyStore::open(dir, TantivyOptions::default()).unwrap())
}

fn search(store: &dyn Store, q: Expr) -> (u64, Vec<Value>) {
    let r = store
        .search(&SearchRequest {
            stream: "events".into(),
            query: q,
            from: None,
            to: None,
            size: 100,
            sort_field: "utctimestamp".into(),
            order: SortOrder::Desc,
            now: Utc::now(),
            budget: Default::default(),
        })
        .unwrap();
    (r.total, r.hits)
}

fn term(field: &str, value: &str) -> Expr {
    Expr::Term {
        field: Some(field.into()),
        value: value.into(),
    }
}

fn sample(store: &dyn Store) {
    let t0 = Utc.with_ymd_and_hms(2026, 11, 20, 10, 0, 0).unwrap();
    let t1 = Utc.with_ymd_and_hms(2026, 11, 21, 10, 0, 0).unwrap();
    store
        .index(vec![
            doc(1, t0, json!({"summary": "Failed password for root", "category": "authentication",
                "hostname": "a", "details": {"sourceipaddress": "10.0.0.1", "port": 22, "ok": false}})),
            doc(2, t1, json!({"summary": "Accepted publickey for bob", "category": "authentication",
                "hostname": "b", "tags": ["x", "y"], "details": {"sourceipaddress": "192.0.2.1", "port": 2222}})),
            doc(3, t1, json!({"summary": "GET /", "category": "web", "hostname": "b",
                "details": {"sourceipaddress": "not-an-ip", "status": "500"}})),
        ])
        .unwrap();
    store.commit(3).unwrap();
}

#[test]
fn partitions_by_day_and_searches_across_them() {
    let d = tempfile::tempdir().unwrap();
    let store = open(d.path());
    sample(&*store);
    let parts = store.partitions();
    let days: Vec<_> = parts.iter().map(|p| (p.day.as_str(), p.docs)).collect();
    assert_eq!(days, vec![("20261120", 1), ("20261121", 2)]);
    let (total, hits) = search(&*store, Expr::MatchAll);
    assert_eq!(total, 3);
    assert_eq!(
        hits[2]["summary"], "Failed password for root",
        "sorted newest first"
    );
    assert_eq!(search(&*store, term("category", "authentication")).0, 2);
    assert_eq!(search(&*store, term("summary", "FAILED")).0, 1);
    assert_eq!(
        search(&*store, term("hostname", "B")).0,
        0,
        "keywords are case-sensitive"
    );
    assert_eq!(search(&*store, term("tags", "y")).0, 1);
    assert_eq!(search(&*store, term("details.port", "2222")).0, 1);
    assert_eq!(
        search(&*store, term("details.status", "500")).0,
        1,
        "string \"500\""
    );
    assert_eq!(search(&*store, term("details.ok", "false")).0, 1);
    assert_eq!(
        search(&*store, term("details.sourceipaddress", "not-an-ip")).0,
        1
    );
    let cidr = Expr::Cidr {
        field: "details.sourceipaddress".into(),
        net: "10.0.0.0/8".parse().unwrap(),
    };
    assert_eq!(search(&*store, cidr).0, 1);
    let range = Expr::Range {
        field: "details.port".into(),
        lower: Bound::Included("100".into()),
        upper: Bound::Unbounded,
    };
    assert_eq!(search(&*store, range).0, 1);
    let exists = Expr::Exists {
        field: "details.port".into(),
    };
    assert_eq!(search(&*store, exists).0, 2);
    let not = Expr::And(vec![
        term("category", "authentication"),
        Expr::Not(Box::new(term("hostname", "a"))),
    ]);
    assert_eq!(search(&*store, not).0, 1);
    let phrase = Expr::Phrase {
        field: None,
        text: "publickey for bob".into(),
    };
    assert_eq!(search(&*store, phrase).0, 1);
    let re = |field: &str, pattern: &str| Expr::Regex {
        field: field.into(),
        pattern: pattern.into(),
    };
    assert_eq!(search(&*store, re("hostname", "[ab]")).0, 3);
    assert_eq!(
        search(&*store, re("hostname", "b")).0,
        2,
        "anchored on the whole value"
    );
    assert_eq!(
        search(&*store, re("details.sourceipaddress", "10\\..*")).0,
        1
    );
    assert_eq!(
        search(&*store, re("summary", "pass.*")).0,
        1,
        "over summary words"
    );
    let bad = Expr::Cidr {
        field: "hostname".into(),
        net: "10.0.0.0/8".parse().unwrap(),
    };
    assert!(store
        .search(&SearchRequest {
            stream: "events".into(),
            query: bad,
            from: None,
            to: None,
            size: 1,
            sort_field: "utctimestamp".into(),
            order: SortOrder::Desc,
            now: Utc::now(),
            budget: Default::default(),
        })
        .is_err());
}

/// The bytes of the files in a directory (a partition's index is one flat directory).
fn files_bytes(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap())
        .filter(|m| m.is_file())
        .map(|m| m.len())
        .sum()
}

#[test]
fn partitions_report_their_size_on_disk_after_each_commit() {
    let d = tempfile::tempdir().unwrap();
    let store = open(d.path());
    sample(&*store);
    let size = |day: &str| {
        store
            .partitions()
            .into_iter()
            .find(|p| p.stream == "events" && p.day == day)
            .map(|p| p.bytes)
            .unwrap()
    };
    let dir = |day: &str| d.path().join("events").join(day);
    let (first, second) = (size("20261120"), size("20261121"));
    assert!(first > 0, "a committed partition has files");
    assert_eq!(first, files_bytes(&dir("20261120")));
    assert_eq!(second, files_bytes(&dir("20261121")));
    // More documents in one day: its size is measured again at once, the other's is not.
    let t1 = Utc.with_ymd_and_hms(2026, 11, 21, 11, 0, 0).unwrap();
    let more = (4..200)
        .map(|i| {
            doc(
                i,
                t1,
                json!({"summary": format!("event number {i} with some words"), "category": "web"}),
            )
        })
        .collect();
    store.index(more).unwrap();
    store.commit(199).unwrap();
    let grown = size("20261121");
    assert!(grown > second, "{grown} > {second}");
    assert_eq!(grown, files_bytes(&dir("20261121")));
    assert_eq!(size("20261120"), first);
    // Measured from the files after a restart too.
    drop(store);
    let store = open(d.path());
    for p in store.partitions() {
        assert!(p.bytes > 0, "{p:?}");
        assert_eq!(p.bytes, files_bytes(&dir(&p.day)), "{p:?}");
    }
}

#[test]
fn replayed_documents_are_not_indexed_twice() {
    let d = tempfile::tempdir().unwrap();
    {
        let store = open(d.path());
        sample(&*store);
    }
    let store = open(d.path());
    // Replaying the same sequence numbers after a restart adds nothing.
    let t = Utc.with_ymd_and_hms(2026, 11, 21, 11, 0, 0).unwrap();
    let added = store
        .index(vec![
            doc(2, t, json!({"summary": "dup"})),
            doc(3, t, json!({"summary": "dup"})),
            doc(4, t, json!({"summary": "new"})),
        ])
        .unwrap();
    assert_eq!(added, 1);
    store.commit(4).unwrap();
    assert_eq!(search(&*store, Expr::MatchAll).0, 4);
}

#[test]
fn aggregations_merge_partitions() {
    let d = tempfile::tempdir().unwrap();
    let store = open(d.path());
    sample(&*store);
    let r = store
        .aggregate(&AggRequest {
            stream: "events".into(),
            query: Expr::MatchAll,
            from: Some(Utc.with_ymd_and_hms(2026, 11, 20, 0, 0, 0).unwrap()),
            to: Some(Utc.with_ymd_and_hms(2026, 11, 22, 0, 0, 0).unwrap()),
            terms: Some("hostname".into()),
            size: 10,
            interval: Some("1d".into()),
            now: Utc::now(),
            budget: Default::default(),
        })
        .unwrap();
    assert_eq!(r.total, 3);
    let terms: Vec<(Value, u64)> = r
        .terms
        .unwrap()
        .into_iter()
        .map(|b| (b.key, b.count))
        .collect();
    assert_eq!(terms, vec![(json!("b"), 2), (json!("a"), 1)]);
    let h = r.histogram.unwrap();
    let counts: Vec<(String, u64)> = h.iter().map(|b| (b.key.clone(), b.count)).collect();
    assert_eq!(
        counts,
        vec![
            ("2026-11-20T00:00:00Z".to_string(), 1),
            ("2026-11-21T00:00:00Z".to_string(), 2),
            ("2026-11-22T00:00:00Z".to_string(), 0)
        ]
    );
    assert_eq!(h[1].terms.as_ref().unwrap()[0].key, json!("b"));
}

#[test]
fn retention_drops_old_days_only() {
    let d = tempfile::tempdir().unwrap();
    let store = open(d.path());
    sample(&*store);
    let now = Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap();
    let dropped = store.apply_retention(1, now).unwrap();
    assert_eq!(dropped, vec!["events/20261120".to_string()]);
    assert!(!d.path().join("events/20261120").exists());
    assert_eq!(search(&*store, Expr::MatchAll).0, 2);
    // Writing to a dropped day recreates it.
    store
        .index(vec![doc(
            10,
            now - Duration::days(2),
            json!({"summary": "late"}),
        )])
        .unwrap();
    store.commit(10).unwrap();
    assert_eq!(search(&*store, Expr::MatchAll).0, 3);
}

#[test]
fn retention_keeps_an_old_day_until_its_last_receipt_is_old_too() {
    let d = tempfile::tempdir().unwrap();
    let store = open(d.path());
    let day = Utc.with_ymd_and_hms(2025, 1, 10, 12, 0, 0).unwrap();
    let received = Utc.with_ymd_and_hms(2026, 11, 20, 9, 0, 0).unwrap();
    let mut imported = doc(1, day, json!({"summary": "imported"}));
    imported.receivedtimestamp = received;
    store.index(vec![imported]).unwrap();
    store.commit(1).unwrap();
    // The day is long past the retention period, its receipt is not.
    let dropped = store
        .apply_retention(90, received + Duration::days(89))
        .unwrap();
    assert!(dropped.is_empty(), "{dropped:?}");
    assert_eq!(search(&*store, Expr::MatchAll).0, 1);
    // 90 days after its receipt it goes.
    let dropped = store
        .apply_retention(90, received + Duration::days(91))
        .unwrap();
    assert_eq!(dropped, vec!["events/20250110".to_string()]);
    assert_eq!(search(&*store, Expr::MatchAll).0, 0);
}

#[test]
fn a_store_of_another_format_is_refused_by_name() {
    use ferrodef_store::tantivy_store::{FORMAT, FORMAT_FILE};
    // New store: the format is written; reopening works.
    let d = tempfile::tempdir().unwrap();
    drop(open(d.path()));
    let written = std::fs::read_to_string(d.path().join(FORMAT_FILE)).unwrap();
    assert_eq!(written.trim(), FORMAT);
    sample(&*open(d.path()));
    assert_eq!(search(&*open(d.path()), Expr::MatchAll).0, 3);
    // Another format named in the file.
    std::fs::write(d.path().join(FORMAT_FILE), "ferrodef-tantivy 1\n").unwrap();
    let e = TantivyStore::open(d.path(), TantivyOptions::default())
        .err()
        .expect("refused");
    assert!(e.to_string().contains("'ferrodef-tantivy 1'"), "{e}");
    // Partitions without the file: written by a version before the file existed.
    std::fs::remove_file(d.path().join(FORMAT_FILE)).unwrap();
    let e = TantivyStore::open(d.path(), TantivyOptions::default())
        .err()
        .expect("refused");
    assert!(e.to_string().contains("older ferrodef"), "{e}");
}

#[test]
fn a_partition_with_fast_ip_fields_still_reads_and_writes() {
    // Partitions written before the IP fields became indexed-only have fast IP columns; CIDR,
    // exact and range queries follow each partition's own schema.
    use ferrodef_store::tantivy_store::schema::Fields;
    use ferrodef_store::tantivy_store::{FORMAT, FORMAT_FILE};
    use tantivy::schema::{FieldEntry, FieldType, IpAddrOptions, Schema};
    let d = tempfile::tempdir().unwrap();
    let mut b = Schema::builder();
    for (_, entry) in Fields::new().schema.fields() {
        match entry.field_type() {
            FieldType::IpAddr(_) => b.add_field(FieldEntry::new_ip_addr(
                entry.name().to_string(),
                IpAddrOptions::default().set_indexed().set_fast(),
            )),
            _ => b.add_field(entry.clone()),
        };
    }
    let old = b.build();
    let ip = old.get_field("ip_src").unwrap();
    assert!(old.get_field_entry(ip).is_fast());
    let part = d.path().join("events").join("20261120");
    std::fs::create_dir_all(&part).unwrap();
    drop(tantivy::Index::create_in_dir(&part, old).unwrap());
    std::fs::write(d.path().join(FORMAT_FILE), format!("{FORMAT}\n")).unwrap();

    let store = open(d.path());
    sample(&*store);
    let cidr = |net: &str| Expr::Cidr {
        field: "details.sourceipaddress".into(),
        net: net.parse().unwrap(),
    };
    assert_eq!(search(&*store, cidr("10.0.0.0/8")).0, 1);
    assert_eq!(search(&*store, cidr("0.0.0.0/0")).0, 2);
    assert_eq!(
        search(&*store, term("details.sourceipaddress", "192.0.2.1")).0,
        1
    );
    // The old partition kept its fast column; the new day got the current schema.
    let reopened = tantivy::Index::open_in_dir(&part).unwrap().schema();
    assert!(reopened.get_field_entry(ip).is_fast());
    let new_day = tantivy::Index::open_in_dir(d.path().join("events").join("20261121"))
        .unwrap()
        .schema();
    assert!(!new_day.get_field_entry(ip).is_fast());
}

#[test]
fn timestamp_is_found_in_its_own_field_and_in_older_partitions() {
    // New partitions keep a date `timestamp` in a fast date field of its own; partitions
    // created before that field existed keep it in the JSON field. Queries and aggregations on
    // `timestamp` find it in both, and also values that are not dates (kept as strings).
    use ferrodef_store::tantivy_store::schema::Fields;
    use ferrodef_store::tantivy_store::{FORMAT, FORMAT_FILE};
    use tantivy::schema::Schema;
    let d = tempfile::tempdir().unwrap();
    let mut b = Schema::builder();
    for (_, entry) in Fields::new().schema.fields() {
        if entry.name() != "timestamp" {
            b.add_field(entry.clone());
        }
    }
    let old = b.build();
    let part = d.path().join("events").join("20261120");
    std::fs::create_dir_all(&part).unwrap();
    drop(tantivy::Index::create_in_dir(&part, old).unwrap());
    std::fs::write(d.path().join(FORMAT_FILE), format!("{FORMAT}\n")).unwrap();

    let store = open(d.path());
    let t0 = Utc.with_ymd_and_hms(2026, 11, 20, 10, 0, 0).unwrap();
    let t1 = Utc.with_ymd_and_hms(2026, 11, 21, 10, 0, 0).unwrap();
    store
        .index(vec![
            doc(
                1,
                t0,
                json!({"timestamp": "2026-11-20T09:59:00.123Z", "n": 1}),
            ),
            doc(
                2,
                t1,
                json!({"timestamp": "2026-11-21T09:59:00.456Z", "n": 2}),
            ),
            doc(3, t1, json!({"timestamp": "yesterday at noon", "n": 3})),
            doc(4, t1, json!({"n": 4})),
        ])
        .unwrap();
    store.commit(4).unwrap();
    let ns = |q: Expr| -> Vec<i64> {
        let mut v: Vec<i64> = search(&*store, q)
            .1
            .iter()
            .map(|h| h["n"].as_i64().unwrap())
            .collect();
        v.sort();
        v
    };
    let range = |lo: &str, hi: &str| Expr::Range {
        field: "timestamp".into(),
        lower: Bound::Included(lo.into()),
        upper: Bound::Included(hi.into()),
    };
    assert_eq!(ns(term("timestamp", "2026-11-20T09:59:00.123Z")), vec![1]);
    assert_eq!(ns(term("timestamp", "2026-11-21T09:59:00.456Z")), vec![2]);
    assert_eq!(
        ns(term("timestamp", "2026-11-21T10:59:00.456+01:00")),
        vec![2]
    );
    assert_eq!(
        ns(term("timestamp", "2026-11-21T09:59:00.457Z")),
        Vec::<i64>::new()
    );
    assert_eq!(ns(term("timestamp", "yesterday at noon")), vec![3]);
    assert_eq!(
        ns(range("2026-11-20T00:00:00Z", "2026-11-22T00:00:00Z")),
        vec![1, 2]
    );
    assert_eq!(
        ns(range("2026-11-21T00:00:00Z", "2026-11-22T00:00:00Z")),
        vec![2]
    );
    assert_eq!(
        ns(Expr::Range {
            field: "timestamp".into(),
            lower: Bound::Excluded("2026-11-20T09:59:00.123Z".into()),
            upper: Bound::Unbounded,
        }),
        vec![2]
    );
    assert_eq!(
        ns(Expr::Exists {
            field: "timestamp".into()
        }),
        vec![1, 2, 3]
    );
    assert_eq!(
        ns(Expr::Wildcard {
            field: Some("timestamp".into()),
            pattern: "yester*".into()
        }),
        vec![3]
    );
    let r = store
        .aggregate(&AggRequest {
            stream: "events".into(),
            query: Expr::MatchAll,
            from: None,
            to: None,
            terms: Some("timestamp".into()),
            size: 10,
            interval: None,
            now: Utc::now(),
            budget: Default::default(),
        })
        .unwrap();
    let counts: u64 = r.terms.unwrap().iter().map(|b| b.count).sum();
    assert_eq!(counts, 2, "the two dates, from both partitions");
    // The old partition kept its schema; the new day has the field.
    let has_field = |day: &str| {
        tantivy::Index::open_in_dir(d.path().join("events").join(day))
            .unwrap()
            .schema()
            .get_field("timestamp")
            .is_ok()
    };
    assert!(!has_field("20261120"));
    assert!(has_field("20261121"));
}

/// A crash between making a partition's directory and its first index file leaves a directory
/// without `meta.json`: the store still opens (the directory is set aside, never read), and the
/// same day's partition is created anew when its events are indexed again.
#[test]
fn a_partition_cut_short_at_creation_is_set_aside() {
    let dir = tempfile::tempdir().unwrap();
    let t = Utc.with_ymd_and_hms(2026, 11, 30, 10, 0, 0).unwrap();
    {
        let store = TantivyStore::open(dir.path(), TantivyOptions::default()).unwrap();
        store
            .index(vec![doc(
                1,
                t - Duration::days(1),
                json!({"summary": "kept"}),
            )])
            .unwrap();
        store.commit(1).unwrap();
    }
    let cut = dir.path().join("events").join("20261130");
    std::fs::create_dir_all(&cut).unwrap();
    std::fs::write(cut.join(".tantivy-meta.lock"), b"").unwrap();
    let store = TantivyStore::open(dir.path(), TantivyOptions::default())
        .expect("opens despite the partition cut short");
    assert!(!cut.exists(), "set aside");
    let aside: Vec<String> = std::fs::read_dir(dir.path().join("events"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("20261130.incomplete-"))
        .collect();
    assert_eq!(aside.len(), 1, "{aside:?}");
    store
        .index(vec![doc(2, t, json!({"summary": "again"}))])
        .unwrap();
    store.commit(2).unwrap();
    assert_eq!(support::count(&store, Expr::MatchAll, None, None), 2);
}

#[test]
fn a_from_time_inside_a_documents_millisecond_finds_it() {
    // Indexed to the millisecond: a document at .123789 is found from .123456 (the store's
    // pages of a stream start at the time of the last document read, to the nanosecond).
    let tmp = tempfile::tempdir().unwrap();
    let store = open(tmp.path());
    let t =
        Utc.with_ymd_and_hms(2026, 11, 20, 10, 0, 0).unwrap() + Duration::nanoseconds(123_789_000);
    store
        .index(vec![doc(1, t, json!({"summary": "in the millisecond"}))])
        .unwrap();
    store.commit(1).unwrap();
    let from = t - Duration::nanoseconds(333_000);
    let r = store
        .search(&SearchRequest {
            stream: "events".into(),
            query: Expr::MatchAll,
            from: Some(from),
            to: None,
            size: 10,
            sort_field: "utctimestamp".into(),
            order: SortOrder::Asc,
            now: Utc::now(),
            budget: Default::default(),
        })
        .unwrap();
    assert_eq!(r.total, 1);
}
