//! Writers and open partitions stay bounded whatever the days the documents fall on, and each
//! partition's commit payload lets a replay of the log add exactly what was not committed.

mod support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use ferrodef_query::Expr;
use ferrodef_store::tantivy_store::TantivyOptions;
use ferrodef_store::{Store, StoredDoc, TantivyStore};
use serde_json::json;

fn day0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2000, 1, 1, 12, 0, 0).unwrap()
}

fn doc(seq: u64, t: DateTime<Utc>) -> StoredDoc {
    support::doc(
        seq,
        t,
        json!({"summary": format!("event {seq}"), "category": "test", "details": {"n": seq}}),
    )
}

fn count(store: &dyn Store, from: Option<DateTime<Utc>>, to: Option<DateTime<Utc>>) -> u64 {
    support::count(store, Expr::MatchAll, from, to)
}

/// The value of a `/proc/self/status` line (`Threads`, `VmRSS` in kB).
fn status(name: &str) -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap();
    s.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap()
}

/// Samples the process's thread count and resident memory while alive; returns the maxima.
struct Sampler {
    stop: Arc<AtomicBool>,
    handle: std::thread::JoinHandle<(u64, u64)>,
}

impl Sampler {
    fn start() -> Sampler {
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        let handle = std::thread::spawn(move || {
            let (mut threads, mut rss) = (0, 0);
            while !s.load(Ordering::Relaxed) {
                threads = threads.max(status("Threads"));
                rss = rss.max(status("VmRSS") * 1024);
                // A sampling period, not a synchronisation.
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            (threads, rss)
        });
        Sampler { stop, handle }
    }

    fn stop(self) -> (u64, u64) {
        self.stop.store(true, Ordering::Relaxed);
        self.handle.join().unwrap()
    }
}

const MAX_THREADS: u64 = 64;
const MAX_RSS: u64 = 1536 << 20;

/// Counts every partition by searching ranges of 1,000 days (each search opens its days).
fn count_by_ranges(store: &dyn Store, days: i64) -> u64 {
    let mut total = 0;
    let mut start = 0;
    while start < days {
        let from = day0() + Duration::days(start) - Duration::hours(12);
        let to = day0() + Duration::days((start + 1000).min(days)) - Duration::hours(13);
        total += count(store, Some(from), Some(to));
        start += 1000;
    }
    total
}

#[test]
fn ten_thousand_days_in_one_batch_keep_threads_and_memory_bounded() {
    const DAYS: i64 = 10_000;
    // 10,000 partitions created and committed: on a disk, the fsyncs of 10,000 commits take
    // minutes; in memory (tmpfs) the test measures what it is about, threads and memory.
    let shm = std::path::Path::new("/dev/shm");
    let dir = if shm.is_dir() {
        tempfile::tempdir_in(shm).unwrap()
    } else {
        tempfile::tempdir().unwrap()
    };
    // One indexing thread of 20 MB a writer: each writer's hash table and arena are sized
    // from its budget and allocated anew per partition, which dominates the test's time.
    let opts = TantivyOptions {
        writer_threads: 1,
        writer_memory_bytes: 20 << 20,
        ..TantivyOptions::default()
    };
    let max_writers = opts.max_open_writers;
    let max_parts = opts.max_open_partitions;
    let store = TantivyStore::open(dir.path(), opts.clone()).unwrap();
    let docs: Vec<StoredDoc> = (0..DAYS)
        .map(|i| doc(i as u64 + 1, day0() + Duration::days(i)))
        .collect();

    let sampler = Sampler::start();
    assert_eq!(store.index(docs).unwrap(), DAYS as usize);
    let (writers, open) = store.open_counts();
    assert!(writers <= max_writers, "{writers} writers open");
    assert!(open <= max_parts + max_writers, "{open} partitions open");
    store.commit(DAYS as u64).unwrap();
    let (threads, rss) = sampler.stop();
    assert!(threads < MAX_THREADS, "{threads} threads while indexing");
    assert!(rss < MAX_RSS, "{} MiB resident while indexing", rss >> 20);

    let sampler = Sampler::start();
    assert_eq!(store.partitions().len(), DAYS as usize);
    assert!(store.partitions().iter().all(|p| p.docs == 1));
    assert_eq!(count_by_ranges(&store, DAYS), DAYS as u64);
    // One day, in the middle.
    let mid = day0() + Duration::days(5_000);
    assert_eq!(count(&store, Some(mid), Some(mid)), 1);
    let (threads, rss) = sampler.stop();
    assert!(threads < MAX_THREADS, "{threads} threads while searching");
    assert!(rss < MAX_RSS, "{} MiB resident while searching", rss >> 20);
    let (_, open) = store.open_counts();
    assert!(open <= max_parts + max_writers, "{open} partitions open");
    drop(store);

    let store = TantivyStore::open(dir.path(), opts).unwrap();
    assert_eq!(store.partitions().len(), DAYS as usize);
    assert_eq!(count_by_ranges(&store, DAYS), DAYS as u64);
    assert!(status("Threads") < MAX_THREADS);
}

/// 30 days, 10 documents a day, given in batches of 7 documents whose days interleave, with 3
/// writers at most: writers are closed (and committed) all the time.
fn thirty_days() -> Vec<StoredDoc> {
    (0..300u64)
        .map(|i| doc(i + 1, day0() + Duration::days((i % 30) as i64)))
        .collect()
}

fn small_pool() -> TantivyOptions {
    TantivyOptions {
        max_open_writers: 3,
        max_open_partitions: 4,
        ..TantivyOptions::default()
    }
}

#[test]
fn closed_writers_record_their_own_partition_payload() {
    let dir = tempfile::tempdir().unwrap();
    let store = TantivyStore::open(dir.path(), small_pool()).unwrap();
    let mut added = 0;
    for batch in thirty_days().chunks(7) {
        added += store.index(batch.to_vec()).unwrap();
    }
    assert_eq!(added, 300);
    assert!(store.open_counts().0 <= 3);
    // A crash before the last commit: only what closed writers committed survives.
    drop(store);

    let store = TantivyStore::open(dir.path(), small_pool()).unwrap();
    let survived = count(&store, None, None);
    assert!(survived > 0 && survived < 300, "{survived} survived");
    // Replaying the whole log adds exactly what was lost, nothing twice.
    let mut replayed = 0;
    for batch in thirty_days().chunks(7) {
        replayed += store.index(batch.to_vec()).unwrap();
    }
    assert_eq!(replayed as u64, 300 - survived);
    store.commit(300).unwrap();
    assert_eq!(count(&store, None, None), 300);
    for d in 0..30 {
        let t = day0() + Duration::days(d);
        assert_eq!(count(&store, Some(t), Some(t)), 10, "day {d}");
    }
    drop(store);

    // Everything committed: a replay after reopening adds nothing.
    let store = TantivyStore::open(dir.path(), small_pool()).unwrap();
    let mut again = 0;
    for batch in thirty_days().chunks(7) {
        again += store.index(batch.to_vec()).unwrap();
    }
    assert_eq!(again, 0);
    assert_eq!(count(&store, None, None), 300);
}

#[test]
fn one_batch_over_many_days_opens_each_writer_once() {
    let dir = tempfile::tempdir().unwrap();
    let opts = TantivyOptions {
        writer_threads: 1,
        ..small_pool()
    };
    let store = TantivyStore::open(dir.path(), opts).unwrap();
    // One batch, days interleaved: grouped by partition, each partition's writer is opened and
    // closed once, making one segment (one indexing thread).
    assert_eq!(store.index(thirty_days()).unwrap(), 300);
    store.commit(300).unwrap();
    assert_eq!(count(&store, None, None), 300);
    for day in std::fs::read_dir(dir.path().join("events")).unwrap() {
        let meta: serde_json::Value =
            serde_json::from_slice(&std::fs::read(day.unwrap().path().join("meta.json")).unwrap())
                .unwrap();
        assert_eq!(meta["segments"].as_array().unwrap().len(), 1, "{meta}");
    }
}
