//! A store that fails on purpose (failpoints `store-add-document`, `store-commit`): failures
//! stay in their partition, are reported with the sequence number to index again from, and
//! indexing again after `reopen_failed` leaves every document exactly once.
//!
//! Failpoints are global to the process: each test runs in a process of its own under
//! `cargo nextest` (the workspace's test runner).
#![cfg(feature = "failpoints")]

mod support;

use chrono::{DateTime, TimeZone, Utc};
use ferrodef_query::Expr;
use ferrodef_store::tantivy_store::TantivyOptions;
use ferrodef_store::{PartitionFailure, Store, StoreError, StoredDoc, TantivyStore};
use serde_json::json;

fn day(d: u32) -> DateTime<Utc> {
    // 2026-11-29, 2026-11-30, 2026-12-01 for d = 0, 1, 2.
    Utc.with_ymd_and_hms(2026, 11, 29, 10, 0, 0).unwrap() + chrono::Duration::days(d.into())
}

fn doc(seq: u64, d: u32) -> StoredDoc {
    support::doc(
        seq,
        day(d),
        json!({"summary": format!("event {seq}"), "details": {"seq": seq}}),
    )
}

/// Documents 1..=n, on the three days in turn (seq 1 on day 0, 2 on day 1, 3 on day 2...).
fn docs(range: std::ops::RangeInclusive<u64>) -> Vec<StoredDoc> {
    range.map(|s| doc(s, ((s - 1) % 3) as u32)).collect()
}

fn count_day(store: &dyn Store, d: u32) -> u64 {
    search_count(store, Expr::MatchAll, Some(d))
}

fn search_count(store: &dyn Store, query: Expr, d: Option<u32>) -> u64 {
    support::count(store, query, d.map(day), d.map(day))
}

/// Each document 1..=n is found exactly once.
fn assert_each_once(store: &dyn Store, n: u64) {
    for seq in 1..=n {
        let q = Expr::Term {
            field: Some("details.seq".into()),
            value: seq.to_string(),
        };
        assert_eq!(search_count(store, q, None), 1, "document {seq}");
    }
    assert_eq!(search_count(store, Expr::MatchAll, None), n);
}

fn failures(r: Result<impl std::fmt::Debug, StoreError>) -> Vec<PartitionFailure> {
    match r {
        Err(StoreError::Partitions(f)) => f,
        other => panic!("expected partition failures, got {other:?}"),
    }
}

fn open(dir: &std::path::Path) -> TantivyStore {
    TantivyStore::open(dir, TantivyOptions::default()).unwrap()
}

#[test]
fn a_failing_partition_is_isolated_reported_and_indexed_again_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    // Committed before the failure: stays.
    assert_eq!(store.index(docs(1..=3)).unwrap(), 3);
    store.commit(3).unwrap();

    // Documents 4..=9; on day 1 (2026-11-30): 5 and 8. Adding 8 fails: 5 (uncommitted) is lost
    // with it, so day 1 is broken from 5.
    fail::cfg("store-add-document", "return(seq=8)").unwrap();
    let f = failures(store.index(docs(4..=9)));
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].partition, "events/20261130");
    assert_eq!(f[0].from_seq, 5);
    assert_eq!(f[0].doc_seq, Some(8));
    assert!(f[0].error.contains("failpoint"), "{}", f[0].error);
    let msg = StoreError::Partitions(f.clone()).to_string();
    assert!(
        msg.starts_with("indexing failed in 1 partition(s): events/20261130 from seq 5: "),
        "{msg}"
    );
    fail::remove("store-add-document");

    // Later documents for the broken partition are refused, with the same failure.
    let f2 = failures(store.index(docs(10..=12)));
    assert_eq!(f2, f);
    // The other partitions carry on and commit.
    store.commit(12).unwrap();
    assert_eq!(count_day(&store, 0), 4); // 1, 4, 7, 10
    assert_eq!(count_day(&store, 1), 1); // 2 only
    assert_eq!(count_day(&store, 2), 4); // 3, 6, 9, 12

    // The indexer reopens and indexes again from the lowest failed seq.
    assert_eq!(store.reopen_failed(), vec!["events/20261130".to_string()]);
    assert!(store.reopen_failed().is_empty());
    assert_eq!(store.index(docs(5..=12)).unwrap(), 3); // 5, 8, 11
    store.commit(12).unwrap();
    assert_each_once(&store, 12);
    drop(store);

    // And after a restart, a replay of everything adds nothing.
    let store = open(dir.path());
    assert_eq!(store.index(docs(1..=12)).unwrap(), 0);
    assert_each_once(&store, 12);
}

#[test]
fn a_failing_day_fails_from_its_first_uncommitted_document() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    fail::cfg("store-add-document", "return(20261130)").unwrap();
    let f = failures(store.index(docs(1..=6)));
    assert_eq!(f.len(), 1);
    assert_eq!((f[0].from_seq, f[0].doc_seq), (2, Some(2)));
    fail::remove("store-add-document");
    store.commit(6).unwrap();
    assert_eq!(count_day(&store, 1), 0);
    assert_eq!(count_day(&store, 0) + count_day(&store, 2), 4);
    store.reopen_failed();
    assert_eq!(store.index(docs(2..=6)).unwrap(), 2);
    store.commit(6).unwrap();
    assert_each_once(&store, 6);
}

#[test]
fn a_failing_commit_is_isolated_and_indexed_again_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    assert_eq!(store.index(docs(1..=6)).unwrap(), 6);
    fail::cfg("store-commit", "return(20261201)").unwrap();
    let f = failures(store.commit(6));
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].partition, "events/20261201");
    assert_eq!((f[0].from_seq, f[0].doc_seq), (3, None));
    fail::remove("store-commit");
    assert_eq!(count_day(&store, 0), 2);
    assert_eq!(count_day(&store, 1), 2);
    assert_eq!(count_day(&store, 2), 0);
    // Still broken until reopened: its documents are refused.
    assert_eq!(failures(store.index(docs(7..=9))), f);
    assert_eq!(store.reopen_failed(), vec!["events/20261201".to_string()]);
    assert_eq!(store.index(docs(3..=9)).unwrap(), 3); // 3, 6, 9
    store.commit(9).unwrap();
    assert_each_once(&store, 9);
}

#[test]
fn every_partition_failing_to_commit_is_listed() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    store.index(docs(1..=3)).unwrap();
    fail::cfg("store-commit", "return").unwrap();
    let f = failures(store.commit(3));
    fail::remove("store-commit");
    let names: Vec<_> = f
        .iter()
        .map(|f| (f.partition.as_str(), f.from_seq))
        .collect();
    assert_eq!(
        names,
        vec![
            ("events/20261129", 1),
            ("events/20261130", 2),
            ("events/20261201", 3)
        ]
    );
    assert_eq!(search_count(&store, Expr::MatchAll, None), 0);
}

#[test]
fn a_writer_closed_to_make_room_that_fails_to_commit_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let opts = TantivyOptions {
        max_open_writers: 1,
        ..TantivyOptions::default()
    };
    let store = TantivyStore::open(dir.path(), opts).unwrap();
    fail::cfg("store-commit", "return(20261129)").unwrap();
    // Day 0's writer is closed (committed) to open day 1's: that commit fails.
    let f = failures(store.index(vec![doc(1, 0), doc(2, 0), doc(3, 1)]));
    fail::remove("store-commit");
    assert_eq!(f.len(), 1);
    assert_eq!(
        (f[0].partition.as_str(), f[0].from_seq),
        ("events/20261129", 1)
    );
    store.commit(3).unwrap();
    assert_eq!(count_day(&store, 0), 0);
    assert_eq!(count_day(&store, 1), 1);
    store.reopen_failed();
    assert_eq!(
        store.index(vec![doc(1, 0), doc(2, 0), doc(3, 1)]).unwrap(),
        2
    );
    store.commit(3).unwrap();
    assert_each_once(&store, 3);
}

#[test]
fn retention_keeps_broken_and_uncommitted_partitions() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    store.index(docs(1..=3)).unwrap();
    store.commit(3).unwrap();
    // Day 1 broken, day 2 has an uncommitted document, day 0 is clean.
    fail::cfg("store-add-document", "return(20261130)").unwrap();
    failures(store.index(docs(4..=6)));
    fail::remove("store-add-document");
    // Day 0's document 4 went in too: commit it, then add one to day 2 only.
    store.commit(6).unwrap();
    store.index(vec![doc(7, 2)]).unwrap();

    let now = day(2) + chrono::Duration::days(30);
    let dropped = store.apply_retention(1, now).unwrap();
    assert_eq!(dropped, vec!["events/20261129".to_string()]);
    let days: Vec<String> = store.partitions().into_iter().map(|p| p.day).collect();
    assert_eq!(days, vec!["20261130", "20261201"]);

    // Once committed and reopened, they go too.
    store.commit(7).unwrap();
    store.reopen_failed();
    let dropped = store.apply_retention(1, now).unwrap();
    assert_eq!(
        dropped,
        vec!["events/20261130".to_string(), "events/20261201".to_string()]
    );
    assert!(store.partitions().is_empty());
}
