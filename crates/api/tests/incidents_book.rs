//! The incident book on a real store and ingest service: more records than one search holds
//! are read back in pages (records at a page boundary read twice are applied once), and the
//! snapshots written for retention rebuild the same incidents.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use ferrodef_api::incidents::{Change, IncidentBook, Record, INCIDENTS_STREAM};
use ferrodef_event::{format_timestamp, Severity};
use ferrodef_ingest::{IngestConfig, IngestService, Limits, Metrics};
use ferrodef_store::tantivy_store::TantivyOptions;
use ferrodef_store::{SearchRequest, SortOrder, Store, TantivyStore};

fn start(dir: &std::path::Path) -> (Arc<dyn Store>, IngestService) {
    let store: Arc<dyn Store> =
        Arc::new(TantivyStore::open(dir.join("index"), TantivyOptions::default()).unwrap());
    let transforms = Arc::new(ferrodef_transforms::pipeline::Pipeline::new(Vec::new()));
    let cfg = IngestConfig {
        data_dir: dir.to_path_buf(),
        max_segment_bytes: 8 << 20,
        commit_interval: Duration::from_millis(50),
        mozdefhostname: "test".into(),
        default_tz: chrono_tz::UTC,
        max_message_bytes: 64 * 1024,
        limits: Limits::default(),
        keep_log_after: None,
    };
    let (svc, _) =
        IngestService::start(store.clone(), transforms, cfg, Arc::new(Metrics::new())).unwrap();
    (store, svc)
}

/// Waits until `q` matches `n` records of the incidents stream.
fn wait_count(store: &dyn Store, q: &str, n: u64) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let total = store
            .search(&SearchRequest {
                stream: INCIDENTS_STREAM.into(),
                query: ferrodef_query::parse(q).unwrap(),
                from: None,
                to: None,
                size: 0,
                sort_field: "utctimestamp".into(),
                order: SortOrder::Asc,
                now: Utc::now(),
                budget: Default::default(),
            })
            .unwrap()
            .total;
        if total == n {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{total} records match {q}, not {n}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn record(seq: u64, incident: &str, at: &str, change: Change) -> Record {
    Record {
        incident: incident.into(),
        seq,
        utctimestamp: at.into(),
        user: "ann".into(),
        change,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn thousands_of_records_read_back_in_pages_and_snapshots_rebuild_the_same_book() {
    let tmp = tempfile::tempdir().unwrap();
    let (store, ingest) = start(tmp.path());
    // Three incidents, then 10,500 notes (more than the 10,000 one search returns), written
    // 500 at a time: the records of a write share their time, so a page may end inside one.
    let ids = ["INC-1", "INC-2", "INC-3"];
    let mut seq = 0;
    let at = format_timestamp(&Utc::now());
    let mut docs = Vec::new();
    for id in ids {
        seq += 1;
        docs.push(ferrodef_api::history::to_doc(&record(
            seq,
            id,
            &at,
            Change::Created {
                title: format!("{id} title"),
                summary: String::new(),
                severity: Severity::Warning,
                tags: vec!["actor.external".into()],
                alerts: vec![],
                assignee: None,
            },
        )));
    }
    ingest.write_internal(INCIDENTS_STREAM, docs).await.unwrap();
    for chunk in 0..21 {
        let at = format_timestamp(&Utc::now());
        let mut docs = Vec::new();
        for i in 0..500 {
            seq += 1;
            let id = ids[(chunk * 500 + i) % 3];
            docs.push(ferrodef_api::history::to_doc(&record(
                seq,
                id,
                &at,
                Change::Note {
                    text: format!("note {seq}"),
                },
            )));
        }
        ingest.write_internal(INCIDENTS_STREAM, docs).await.unwrap();
    }
    wait_count(&*store, "*", 3 + 10_500);

    let book = IncidentBook::load(&*store);
    assert_eq!(book.len(), 3);
    for id in ids {
        let i = book.get(id).unwrap();
        assert_eq!(i.notes, 3500, "{id}: every note once");
        assert_eq!(i.tags, ["actor.external"]);
    }

    // Retention: every incident older than the age given is written again whole.
    let n = book
        .refresh(&ingest, chrono::Duration::zero())
        .await
        .unwrap();
    assert_eq!(n, 3);
    assert_eq!(
        book.refresh(&ingest, chrono::Duration::hours(1))
            .await
            .unwrap(),
        0,
        "just written"
    );
    wait_count(&*store, "kind:snapshot", 3);
    let again = IncidentBook::load(&*store);
    assert_eq!(again.len(), 3);
    for id in ids {
        assert_eq!(again.get(id), book.get(id), "{id}");
    }
    tokio::task::spawn_blocking(move || ingest.shutdown())
        .await
        .unwrap();
}
