//! Queries that cannot hurt the store (timeouts, pattern expansion) and terms aggregations that
//! count exactly on many segments and partitions.

mod support;
use support::doc;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use ferrodef_query::Expr;
use ferrodef_store::tantivy_store::TantivyOptions;
use ferrodef_store::{
    AggRequest, Budget, SearchRequest, SortOrder, Store, StoreError, StoredDoc, TantivyStore,
};
use serde_json::json;

/// A store that never merges: every commit stays a segment of its own.
fn open_unmerged(dir: &std::path::Path) -> Arc<TantivyStore> {
    let opts = TantivyOptions {
        merge_min_segments: usize::MAX,
        writer_memory_bytes: 15 << 20,
        writer_threads: 1,
        ..TantivyOptions::default()
    };
    Arc::new(TantivyStore::open(dir, opts).unwrap())
}

fn search_req(query: Expr, budget: Budget) -> SearchRequest {
    SearchRequest {
        stream: "events".into(),
        query,
        from: None,
        to: None,
        size: 10,
        sort_field: "utctimestamp".into(),
        order: SortOrder::Desc,
        now: Utc::now(),
        budget,
    }
}

fn agg_req(query: Expr, terms: &str, interval: Option<&str>, budget: Budget) -> AggRequest {
    AggRequest {
        stream: "events".into(),
        query,
        from: None,
        to: None,
        terms: Some(terms.into()),
        size: 10,
        interval: interval.map(str::to_string),
        now: Utc::now(),
        budget,
    }
}

fn term(field: &str, value: &str) -> Expr {
    Expr::Term {
        field: Some(field.into()),
        value: value.into(),
    }
}

fn day(d: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, d, 12, 0, 0).unwrap()
}

#[test]
fn a_search_past_its_timeout_stops_with_a_timeout_error() {
    let d = tempfile::tempdir().unwrap();
    let store = open_unmerged(d.path());
    let docs = (1..=20_000)
        .map(|i| {
            doc(
                i,
                day(20),
                json!({"summary": "failed password", "hostname": format!("h{}", i % 50)}),
            )
        })
        .collect();
    store.index(docs).unwrap();
    store.commit(20_000).unwrap();
    let q = Expr::Term {
        field: None,
        value: "failed".into(),
    };
    let ok = store
        .search(&search_req(
            q.clone(),
            Budget::with_timeout(Duration::from_secs(60)),
        ))
        .unwrap();
    assert_eq!(ok.total, 20_000);
    let tiny = Budget::with_timeout(Duration::from_nanos(1));
    match store.search(&search_req(q.clone(), tiny.clone())) {
        Err(StoreError::Timeout(t)) => assert_eq!(t, Duration::from_nanos(1)),
        other => panic!("expected a timeout, got {other:?}"),
    }
    match store.aggregate(&agg_req(q.clone(), "hostname", Some("1h"), tiny)) {
        Err(e @ StoreError::Timeout(_)) => assert!(e.to_string().contains("timeout"), "{e}"),
        other => panic!("expected a timeout, got {other:?}"),
    }
    let cancelled = Budget::unlimited();
    cancelled.cancel();
    assert!(matches!(
        store.search(&search_req(q, cancelled)),
        Err(StoreError::Cancelled)
    ));
}

#[test]
fn a_pattern_matching_more_terms_than_allowed_is_refused() {
    let d = tempfile::tempdir().unwrap();
    let store = open_unmerged(d.path());
    let docs = (1..=500)
        .map(|i| {
            doc(
                i,
                day(20),
                json!({"hostname": format!("host-{i:03}"), "summary": format!("word{i}")}),
            )
        })
        .collect();
    store.index(docs).unwrap();
    store.commit(500).unwrap();
    let mut budget = Budget::unlimited();
    budget.max_expansions = 100;
    let wild = |field: &str, pattern: &str| Expr::Wildcard {
        field: Some(field.into()),
        pattern: pattern.into(),
    };
    // 10 values: within the limit.
    let r = store
        .search(&search_req(wild("hostname", "host-00*"), budget.clone()))
        .unwrap();
    assert_eq!(r.total, 9);
    for q in [
        wild("hostname", "*o*"),
        wild("summary", "word*"),
        Expr::Regex {
            field: "hostname".into(),
            pattern: "host-.*".into(),
        },
    ] {
        match store.search(&search_req(q.clone(), budget.clone())) {
            Err(StoreError::BadRequest(m)) => {
                assert!(m.contains("more than 100") && m.contains("limit"), "{m}")
            }
            other => panic!("{q}: expected a refusal, got {other:?}"),
        }
    }
    // The default limit lets them through.
    let r = store
        .search(&search_req(wild("hostname", "*o*"), Budget::unlimited()))
        .unwrap();
    assert_eq!(r.total, 500);
}

/// 30 segments over 2 days. In every segment, 110 users seen only there (4 events each) outrank
/// the 10 users seen everywhere (`g0`..`g9`, 1 to 10 events per segment), so a per-segment
/// cut of the top 100 loses the users that lead overall; 1,600 more users per segment with one
/// event each make 50,000 distinct users.
fn skewed(store: &TantivyStore) -> usize {
    let mut seq = 0;
    let segments = 30;
    for s in 0..segments {
        let t = day(20 + (s % 2) as u32);
        let mut docs = Vec::new();
        let mut add = |user: String, n: usize, docs: &mut Vec<StoredDoc>| {
            for _ in 0..n {
                seq += 1;
                docs.push(doc(
                    seq,
                    t,
                    json!({"details": {"username": user, "success": false}}),
                ));
            }
        };
        for g in 0..10 {
            add(format!("g{g}"), g + 1, &mut docs);
        }
        for l in 0..110 {
            add(format!("local-{s}-{l}"), 4, &mut docs);
        }
        for f in 0..1_600 {
            add(format!("once-{s}-{f}"), 1, &mut docs);
        }
        store.index(docs).unwrap();
        store.commit(seq).unwrap();
    }
    segments
}

fn count(
    store: &TantivyStore,
    q: Expr,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
) -> u64 {
    let mut r = search_req(q, Budget::unlimited());
    r.from = from;
    r.to = to;
    r.size = 1;
    store.search(&r).unwrap().total
}

#[test]
fn terms_aggregations_are_exact_on_many_segments_and_high_cardinality() {
    let d = tempfile::tempdir().unwrap();
    let store = open_unmerged(d.path());
    let segments = skewed(&store);
    let on_disk: usize = ["20261120", "20261121"]
        .iter()
        .map(|day| {
            tantivy::Index::open_in_dir(d.path().join("events").join(day))
                .unwrap()
                .searchable_segment_ids()
                .unwrap()
                .len()
        })
        .sum();
    assert_eq!(on_disk, segments, "one segment per commit");

    let failed = term("details.success", "false");
    let r = store
        .aggregate(&agg_req(
            failed.clone(),
            "details.username",
            None,
            Budget::unlimited(),
        ))
        .unwrap();
    let got: Vec<(String, u64)> = r
        .terms
        .unwrap()
        .into_iter()
        .map(|b| (b.key.as_str().unwrap().to_string(), b.count))
        .collect();
    let want: Vec<(String, u64)> = (0..10)
        .rev()
        .map(|g| (format!("g{g}"), (g as u64 + 1) * segments as u64))
        .collect();
    assert_eq!(got, want, "the true top 10, in order");
    for (user, n) in &got {
        let q = Expr::And(vec![failed.clone(), term("details.username", user)]);
        assert_eq!(count(&store, q, None, None), *n, "{user}");
    }

    // Per day, inside histogram buckets.
    let mut req = agg_req(
        failed.clone(),
        "details.username",
        Some("1d"),
        Budget::unlimited(),
    );
    req.from = Some(Utc.with_ymd_and_hms(2026, 11, 20, 0, 0, 0).unwrap());
    req.to = Some(Utc.with_ymd_and_hms(2026, 11, 21, 23, 59, 59).unwrap());
    let r = store.aggregate(&req).unwrap();
    let h = r.histogram.unwrap();
    assert_eq!(h.len(), 2);
    for b in &h {
        let from = Utc.timestamp_millis_opt(b.key_ms).unwrap();
        let to = from + chrono::Duration::milliseconds(86_400_000 - 1);
        assert_eq!(b.count, count(&store, failed.clone(), Some(from), Some(to)));
        let terms = b.terms.as_ref().unwrap();
        let users: Vec<&str> = terms.iter().map(|t| t.key.as_str().unwrap()).collect();
        assert_eq!(
            users,
            (0..10)
                .rev()
                .map(|g| format!("g{g}"))
                .collect::<Vec<_>>()
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>(),
            "{}",
            b.key
        );
        for t in terms {
            let q = Expr::And(vec![
                failed.clone(),
                term("details.username", t.key.as_str().unwrap()),
            ]);
            assert_eq!(
                t.count,
                count(&store, q, Some(from), Some(to)),
                "{} {}",
                b.key,
                t.key
            );
        }
    }
}

#[test]
fn histograms_refuse_too_many_buckets_even_without_bounds() {
    let d = tempfile::tempdir().unwrap();
    let store = open_unmerged(d.path());
    store
        .index(vec![doc(1, day(20), json!({"hostname": "a"}))])
        .unwrap();
    store.commit(1).unwrap();
    let mut req = agg_req(Expr::MatchAll, "hostname", Some("1ms"), Budget::unlimited());
    req.terms = None;
    match store.aggregate(&req) {
        Err(StoreError::BadRequest(m)) => assert!(m.contains("limit"), "{m}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    req.interval = Some("1h".into());
    assert_eq!(
        store
            .aggregate(&req)
            .unwrap()
            .histogram
            .unwrap()
            .iter()
            .map(|b| b.count)
            .sum::<u64>(),
        1
    );
    req.size = 100_000;
    assert!(matches!(
        store.aggregate(&req),
        Err(StoreError::BadRequest(_))
    ));
}
