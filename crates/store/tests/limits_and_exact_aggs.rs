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

/// The top values of a string field alone (read from the segments' dictionaries in order) are
/// what tantivy's terms aggregation answers for the same documents (asked through a histogram
/// of one bucket), for single and multi-valued fields, over segments and partitions; ties go
/// by value; a field that also holds numbers somewhere is answered too.
#[test]
fn top_values_of_strings_are_tantivys_answer() {
    let d = tempfile::tempdir().unwrap();
    let store = open_unmerged(d.path());
    let mut seq = 0;
    for s in 0..6u64 {
        let t = day(20 + (s % 2) as u32);
        let mut docs = Vec::new();
        for i in 0..300u64 {
            seq += 1;
            // Distinct counts per user: user k appears k times per segment (k = 1..24).
            let k = (1..=24u64).find(|k| i < k * (k + 1) / 2).unwrap_or(24);
            let tags = match i % 3 {
                0 => json!(["syslog", "ssh"]),
                1 => json!(["syslog"]),
                _ => json!([]),
            };
            let status = if s == 5 && i == 0 {
                json!(404)
            } else {
                json!(format!("s{}", i % 7))
            };
            docs.push(doc(
                seq,
                t,
                json!({"hostname": format!("host-{}", (i * 7 + s) % 13), "tags": tags,
                       "details": {"username": format!("user-{k:02}"), "status": status}}),
            ));
        }
        store.index(docs).unwrap();
        store.commit(seq).unwrap();
    }
    for (from_day, to_day) in [(20, 20), (20, 21)] {
        let from = Utc.with_ymd_and_hms(2026, 11, from_day, 0, 0, 0).unwrap();
        let to = Utc.with_ymd_and_hms(2026, 11, to_day, 23, 59, 59).unwrap();
        for field in [
            "details.username",
            "tags",
            "hostname",
            "details.status",
            "nothing",
        ] {
            let mut fast = agg_req(Expr::MatchAll, field, None, Budget::unlimited());
            (fast.from, fast.to, fast.size) = (Some(from), Some(to), 5);
            let fast = store.aggregate(&fast).unwrap();
            let mut slow = agg_req(Expr::MatchAll, field, Some("30d"), Budget::unlimited());
            (slow.from, slow.to, slow.size) = (Some(from), Some(to), 5);
            let slow = store.aggregate(&slow).unwrap();
            let bucket_terms: Vec<_> = slow
                .histogram
                .unwrap()
                .into_iter()
                .flat_map(|b| b.terms.unwrap_or_default())
                .collect();
            assert_eq!(fast.total, slow.total, "{field}");
            let fast_terms = fast.terms.unwrap();
            // Same values and counts; tantivy's order of equal counts is not defined.
            let key =
                |t: &ferrodef_store::TermBucket| (std::cmp::Reverse(t.count), t.key.to_string());
            let mut sorted = bucket_terms.clone();
            sorted.sort_by_key(key);
            if field == "hostname" || field == "details.status" {
                assert_eq!(
                    fast_terms.iter().map(|t| t.count).collect::<Vec<_>>(),
                    sorted.iter().map(|t| t.count).collect::<Vec<_>>(),
                    "{field}"
                );
            } else {
                assert_eq!(fast_terms, sorted, "{field} {from_day}..{to_day}");
            }
            let mut own = fast_terms.clone();
            own.sort_by_key(key);
            assert_eq!(fast_terms, own, "{field}: count descending, then value");
        }
    }
    // The users' top 5 over both days: user-24 .. user-20, 6 segments each.
    let mut r = agg_req(
        Expr::MatchAll,
        "details.username",
        None,
        Budget::unlimited(),
    );
    r.size = 5;
    let got: Vec<(String, u64)> = store
        .aggregate(&r)
        .unwrap()
        .terms
        .unwrap()
        .into_iter()
        .map(|b| (b.key.as_str().unwrap().to_string(), b.count))
        .collect();
    let users = |k: u64| if k == 24 { 300 - 23 * 24 / 2 } else { k };
    assert_eq!(
        got,
        (20..=24u64)
            .rev()
            .map(|k| (format!("user-{k:02}"), users(k) * 6))
            .collect::<Vec<_>>()
    );
}

/// The top source addresses of a near-unique field (nearly one address per event, as the
/// addresses of a day of scans) when the counted terms do not fit the aggregation memory
/// limit: counted in several passes, the answer is the exact one (the same as with room to
/// spare, and as search counts), ties by value; far beyond the limit the request is refused
/// with the limit named, not answered approximately.
#[test]
fn exact_top_values_of_a_near_unique_field_beyond_the_memory_limit() {
    let d = tempfile::tempdir().unwrap();
    let store = open_unmerged(d.path());
    let segments = 24u64;
    let mut seq = 0;
    let mut truth: std::collections::BTreeMap<String, u64> = Default::default();
    for s in 0..segments {
        let t = day(20 + (s % 2) as u32);
        let mut docs = Vec::new();
        let mut add = |ip: String, docs: &mut Vec<StoredDoc>| {
            seq += 1;
            *truth.entry(ip.clone()).or_default() += 1;
            docs.push(doc(seq, t, json!({"details": {"sourceipaddress": ip}})));
        };
        // 2,000 addresses seen once in the whole store.
        for i in 0..2_000u64 {
            add(format!("10.{s}.{}.{}", i / 250, i % 250), &mut docs);
        }
        // Attackers 0..16: attacker k sends once per segment from segment k/2*2 onwards, so
        // the leaders are spread over every segment and tie in pairs (numbered so that the
        // order of values is not the order of k).
        for k in 0..16u64 {
            if s >= k / 2 * 2 {
                add(format!("203.0.113.{}", k / 4 * 4 + 3 - k % 4), &mut docs);
            }
        }
        // 300 addresses seen in two segments each.
        for i in 0..300u64 {
            add(format!("198.51.{}.{}", s / 2, i), &mut docs);
        }
        store.index(docs).unwrap();
        store.commit(seq).unwrap();
    }
    let mut want: Vec<(String, u64)> = truth.into_iter().collect();
    want.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    want.truncate(12);
    assert!(want[0].1 > 2, "the attackers lead");

    let top = |store: &TantivyStore| -> Result<Vec<(String, u64)>, StoreError> {
        let mut r = agg_req(
            Expr::MatchAll,
            "details.sourceipaddress",
            None,
            Budget::unlimited(),
        );
        r.size = 12;
        Ok(store
            .aggregate(&r)?
            .terms
            .unwrap()
            .into_iter()
            .map(|b| (b.key.as_str().unwrap().to_string(), b.count))
            .collect())
    };
    assert_eq!(top(&store).unwrap(), want, "with room to spare");
    drop(store);
    // ~55,000 distinct addresses, ~40 bytes each: 256 KiB holds about a tenth of them.
    let small = |limit: u64| {
        let opts = TantivyOptions {
            merge_min_segments: usize::MAX,
            aggregation_memory_bytes: limit,
            ..TantivyOptions::default()
        };
        TantivyStore::open(d.path(), opts).unwrap()
    };
    let store = small(256 << 10);
    assert_eq!(top(&store).unwrap(), want, "in several passes");
    for (ip, n) in &want {
        let q = term("details.sourceipaddress", ip);
        assert_eq!(count(&store, q, None, None), *n, "{ip}");
    }
    drop(store);
    let store = small(1 << 10);
    match top(&store) {
        Err(StoreError::BadRequest(m)) => {
            assert!(m.contains("passes") && m.contains("1024 bytes"), "{m}")
        }
        other => panic!("a request far beyond the limit is refused, got {other:?}"),
    }
}
