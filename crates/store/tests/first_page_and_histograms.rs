//! The first page of a time-sorted search (segments visited best first, those that cannot
//! enter the page only counted) and date histograms with top values counted from the columns,
//! both compared with a brute-force answer computed from the documents themselves, on many
//! segments whose time ranges overlap or not, with ties on time at the page boundary.

mod support;
use support::doc;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use ferrodef_store::tantivy_store::TantivyOptions;
use ferrodef_store::{AggRequest, Budget, SearchRequest, SortOrder, Store, TantivyStore};
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

/// A small deterministic generator (xorshift64*).
struct Rng(u64);
impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n.max(1)
    }
}

/// One stored event, as the brute force sees it.
#[derive(Clone, Debug)]
struct Ev {
    id: u64,
    ms: i64,
    failed: bool,
    user: String,
    tags: Vec<String>,
}

/// A query (or field) and what the brute force reads from an event for it.
type Case<T> = (&'static str, fn(&Ev) -> T);

fn base_ms() -> i64 {
    Utc.with_ymd_and_hms(2026, 11, 20, 0, 0, 0)
        .unwrap()
        .timestamp_millis()
}

fn at(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).unwrap()
}

/// Three days of events in many segments: segments in time order (disjoint ranges), segments
/// spanning all three days (overlapping everything), and segments whose events share a few
/// times (ties), some of them the newest or the oldest times of all.
fn load(store: &TantivyStore) -> Vec<Ev> {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let day = 86_400_000i64;
    let mut evs = Vec::new();
    let mut seq = 0u64;
    let commit = |evs_in: Vec<Ev>, evs: &mut Vec<Ev>| {
        let docs = evs_in
            .iter()
            .map(|e| {
                let mut v = json!({
                    "summary": if e.failed { format!("Failed password for {} from 10.0.0.1", e.user) }
                               else { format!("Accepted password for {}", e.user) },
                    "details": {"username": e.user, "success": !e.failed, "id": e.id},
                });
                v["utctimestamp"] =
                    json!(at(e.ms).to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
                if !e.tags.is_empty() {
                    v["tags"] = json!(e.tags);
                }
                doc(e.id, at(e.ms), v)
            })
            .collect();
        store.index(docs).unwrap();
        store
            .commit(evs_in.iter().map(|e| e.id).max().unwrap())
            .unwrap();
        evs.extend(evs_in);
    };
    let mut ev = |ms: i64, rng: &mut Rng| {
        seq += 1;
        let u = rng.below(100);
        // A few users are frequent, most are rare; equal counts happen (ties by value).
        let user = if u < 60 {
            format!("u{}", u % 6)
        } else {
            format!("rare{}", rng.below(40))
        };
        let tags = match rng.below(4) {
            0 => vec![],
            1 => vec!["ssh".to_string()],
            2 => vec!["ssh".to_string(), "syslog".to_string()],
            _ => vec!["syslog".to_string(), "ssh".to_string(), "ssh".to_string()],
        };
        Ev {
            id: seq,
            ms,
            failed: rng.below(3) == 0,
            user,
            tags,
        }
    };
    // 24 segments in time order over the three days.
    for s in 0..24i64 {
        let seg: Vec<Ev> = (0..40)
            .map(|_| {
                let ms = base_ms() + s * 3 * day / 24 + rng.below((3 * day / 24) as u64) as i64;
                ev(ms, &mut rng)
            })
            .collect();
        commit(seg, &mut evs);
    }
    // 10 segments at random times over the three days (each spans them all).
    for _ in 0..10 {
        let seg: Vec<Ev> = (0..40)
            .map(|_| {
                let ms = base_ms() + rng.below((3 * day) as u64) as i64;
                ev(ms, &mut rng)
            })
            .collect();
        commit(seg, &mut evs);
    }
    // 8 segments of ties: a handful of times shared by many events across segments, including
    // the last and the first millisecond of all the others.
    let newest = evs.iter().map(|e| e.ms).max().unwrap();
    let oldest = evs.iter().map(|e| e.ms).min().unwrap();
    let shared = [
        newest,
        newest - 1,
        oldest,
        base_ms() + day + 1234,
        base_ms() + 2 * day,
    ];
    for _ in 0..8 {
        let seg: Vec<Ev> = (0..25)
            .map(|_| {
                let ms = shared[rng.below(shared.len() as u64) as usize];
                ev(ms, &mut rng)
            })
            .collect();
        commit(seg, &mut evs);
    }
    evs
}

fn search(
    store: &TantivyStore,
    q: &str,
    range: (Option<i64>, Option<i64>),
    size: usize,
    order: SortOrder,
) -> (u64, Vec<(i64, u64)>) {
    let r = store
        .search(&SearchRequest {
            stream: "events".into(),
            query: ferrodef_query::parse(q).unwrap(),
            from: range.0.map(at),
            to: range.1.map(at),
            size,
            sort_field: "utctimestamp".into(),
            order,
            now: Utc::now(),
            budget: Budget::unlimited(),
        })
        .unwrap();
    let hits = r
        .hits
        .iter()
        .map(|h| {
            let t = DateTime::parse_from_rfc3339(h["utctimestamp"].as_str().unwrap())
                .unwrap()
                .timestamp_millis();
            (t, h["details"]["id"].as_u64().unwrap())
        })
        .collect();
    (r.total, hits)
}

#[test]
fn the_first_page_and_total_are_the_brute_force_answer() {
    let d = tempfile::tempdir().unwrap();
    let store = open_unmerged(d.path());
    let evs = load(&store);
    let day = 86_400_000i64;
    let queries: [Case<bool>; 4] = [
        ("summary:\"failed password\"", |e| e.failed),
        ("*", |_| true),
        ("details.username:u3", |e| e.user == "u3"),
        ("details.username:u1 OR tags:syslog", |e| {
            e.user == "u1" || e.tags.iter().any(|t| t == "syslog")
        }),
    ];
    let ranges = [
        (None, None),
        (Some(base_ms() + day / 2), Some(base_ms() + 2 * day + 1234)),
        (Some(base_ms() + day + 1234), None),
        (None, Some(base_ms() + day + 1234)),
    ];
    let mut checked = 0;
    for (q, matches) in queries {
        for range in ranges {
            let mut want: Vec<&Ev> = evs
                .iter()
                .filter(|e| matches(e))
                .filter(|e| range.0.is_none_or(|f| e.ms >= f))
                .filter(|e| range.1.is_none_or(|t| e.ms <= t))
                .collect();
            for order in [SortOrder::Desc, SortOrder::Asc] {
                match order {
                    SortOrder::Desc => want.sort_by_key(|e| std::cmp::Reverse(e.ms)),
                    SortOrder::Asc => want.sort_by_key(|e| e.ms),
                }
                for size in [1, 7, 25, 100, 10_000] {
                    let (total, hits) = search(&store, q, range, size, order);
                    let what = format!("{q} {range:?} {order:?} size {size}");
                    assert_eq!(total, want.len() as u64, "total of {what}");
                    let n = size.min(want.len());
                    // The times of the page are the best n times, in order.
                    assert_eq!(
                        hits.iter().map(|h| h.0).collect::<Vec<_>>(),
                        want[..n].iter().map(|e| e.ms).collect::<Vec<_>>(),
                        "times of {what}"
                    );
                    // Each hit matches, once; those strictly better than the page's last time
                    // are exactly the brute force's (equal times may be any of the ties).
                    let ids: BTreeSet<u64> = hits.iter().map(|h| h.1).collect();
                    assert_eq!(ids.len(), hits.len(), "distinct hits of {what}");
                    let by_id: HashMap<u64, &Ev> = want.iter().map(|e| (e.id, *e)).collect();
                    assert!(ids.iter().all(|i| by_id.contains_key(i)), "{what}");
                    if let Some(last) = hits.last().map(|h| h.0) {
                        let better = |ms: i64| match order {
                            SortOrder::Desc => ms > last,
                            SortOrder::Asc => ms < last,
                        };
                        let want_better: BTreeSet<u64> =
                            want.iter().filter(|e| better(e.ms)).map(|e| e.id).collect();
                        let got_better: BTreeSet<u64> =
                            hits.iter().filter(|h| better(h.0)).map(|h| h.1).collect();
                        assert_eq!(got_better, want_better, "{what}");
                    }
                    // The same page twice: ties are broken the same way.
                    assert_eq!(search(&store, q, range, size, order).1, hits, "{what}");
                    checked += 1;
                }
            }
        }
    }
    assert_eq!(checked, 4 * 4 * 2 * 5);
    // The page boundary falls among ties: the newest time is shared by events of several
    // segments, more of them than a page of 3 holds.
    let newest = evs.iter().map(|e| e.ms).max().unwrap();
    let tied = evs.iter().filter(|e| e.ms == newest).count();
    assert!(tied > 3, "{tied} events share the newest time");
    let (_, hits) = search(&store, "*", (None, None), 3, SortOrder::Desc);
    assert!(hits.iter().all(|h| h.0 == newest));
}

/// Brute-force histogram: per bucket (ms div interval), the count and each value's count
/// (a document once per distinct value).
fn brute_histogram(
    evs: &[&Ev],
    interval: i64,
    values: impl Fn(&Ev) -> Vec<String>,
) -> BTreeMap<i64, (u64, HashMap<String, u64>)> {
    let mut out: BTreeMap<i64, (u64, HashMap<String, u64>)> = BTreeMap::new();
    for e in evs {
        let b = out.entry(e.ms.div_euclid(interval)).or_default();
        b.0 += 1;
        let vs: BTreeSet<String> = values(e).into_iter().collect();
        for v in vs {
            *b.1.entry(v).or_default() += 1;
        }
    }
    out
}

fn top(counts: &HashMap<String, u64>, size: usize) -> Vec<(String, u64)> {
    let mut v: Vec<(String, u64)> = counts.iter().map(|(k, c)| (k.clone(), *c)).collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v.truncate(size);
    v
}

#[test]
fn histograms_with_top_values_are_the_brute_force_answer() {
    let d = tempfile::tempdir().unwrap();
    let store = open_unmerged(d.path());
    let evs = load(&store);
    let day = 86_400_000i64;
    let hour = 3_600_000i64;
    let fields: [Case<Vec<String>>; 2] = [
        ("details.username", |e| vec![e.user.clone()]),
        ("tags", |e| e.tags.clone()),
    ];
    let queries: [Case<bool>; 3] = [
        ("*", |_| true),
        ("details.success:false", |e| e.failed),
        (
            "summary:\"failed password\" AND NOT details.username:u0",
            |e| e.failed && e.user != "u0",
        ),
    ];
    let ranges = [
        (None, None),
        (
            Some(base_ms() + day / 2 + 17),
            Some(base_ms() + 2 * day + 1234),
        ),
        (Some(base_ms() + day), None),
        // Past the data: empty buckets at the end.
        (Some(base_ms() - 2 * hour), Some(base_ms() + 4 * day)),
    ];
    for (q, matches) in queries {
        for range in ranges {
            let want: Vec<&Ev> = evs
                .iter()
                .filter(|e| matches(e))
                .filter(|e| range.0.is_none_or(|f| e.ms >= f))
                .filter(|e| range.1.is_none_or(|t| e.ms <= t))
                .collect();
            for (field, values) in fields {
                for (interval, ms) in [("1h", hour), ("6h", 6 * hour), ("1d", day)] {
                    let size = 4;
                    let r = store
                        .aggregate(&AggRequest {
                            stream: "events".into(),
                            query: ferrodef_query::parse(q).unwrap(),
                            from: range.0.map(at),
                            to: range.1.map(at),
                            terms: Some(field.into()),
                            size,
                            interval: Some(interval.into()),
                            now: Utc::now(),
                            budget: Budget::unlimited(),
                        })
                        .unwrap();
                    let what = format!("{q} {range:?} {field} {interval}");
                    assert_eq!(r.total, want.len() as u64, "{what}");
                    let brute = brute_histogram(&want, ms, values);
                    // Buckets: the whole range when bounded, else first to last holding one.
                    let (first, last) = match range {
                        (Some(f), Some(t)) => (f.div_euclid(ms), t.div_euclid(ms)),
                        _ => (
                            *brute.keys().next().unwrap(),
                            *brute.keys().next_back().unwrap(),
                        ),
                    };
                    let h = r.histogram.unwrap();
                    assert_eq!(
                        h.iter().map(|b| b.key_ms).collect::<Vec<_>>(),
                        (first..=last).map(|b| b * ms).collect::<Vec<_>>(),
                        "bucket keys of {what}"
                    );
                    let mut overall: HashMap<String, u64> = HashMap::new();
                    for b in &h {
                        let empty = (0, HashMap::new());
                        let (count, values) = brute.get(&(b.key_ms / ms)).unwrap_or(&empty);
                        assert_eq!(b.count, *count, "{what} {}", b.key);
                        let got: Vec<(String, u64)> = b
                            .terms
                            .as_ref()
                            .unwrap()
                            .iter()
                            .map(|t| (t.key.as_str().unwrap().to_string(), t.count))
                            .collect();
                        assert_eq!(got, top(values, size), "{what} {}", b.key);
                        for (v, c) in values {
                            *overall.entry(v.clone()).or_default() += c;
                        }
                    }
                    let got: Vec<(String, u64)> = r
                        .terms
                        .unwrap()
                        .iter()
                        .map(|t| (t.key.as_str().unwrap().to_string(), t.count))
                        .collect();
                    assert_eq!(got, top(&overall, size), "overall top of {what}");
                }
            }
        }
    }
}

/// The histogram's counts agree with the search's totals for the same time slices and values.
#[test]
fn histogram_counts_are_the_search_counts() {
    let d = tempfile::tempdir().unwrap();
    let store = open_unmerged(d.path());
    load(&store);
    let r = store
        .aggregate(&AggRequest {
            stream: "events".into(),
            query: ferrodef_query::parse("details.success:false").unwrap(),
            from: None,
            to: None,
            terms: Some("details.username".into()),
            size: 3,
            interval: Some("12h".into()),
            now: Utc::now(),
            budget: Budget::unlimited(),
        })
        .unwrap();
    let h = r.histogram.unwrap();
    assert!(h.len() >= 6, "{} buckets", h.len());
    for b in &h {
        let range = (Some(b.key_ms), Some(b.key_ms + 12 * 3_600_000 - 1));
        let (total, _) = search(&store, "details.success:false", range, 1, SortOrder::Desc);
        assert_eq!(b.count, total, "{}", b.key);
        for t in b.terms.as_ref().unwrap() {
            let q = format!(
                "details.success:false AND details.username:{}",
                t.key.as_str().unwrap()
            );
            assert_eq!(
                t.count,
                search(&store, &q, range, 1, SortOrder::Desc).0,
                "{} {}",
                b.key,
                t.key
            );
        }
    }
}
