//! The incident book on a real store and ingest service: more records than one search holds
//! are read back in pages (records at a page boundary read twice are applied once), and the
//! snapshots written for retention rebuild the same incidents.

mod common;

use chrono::Utc;
use common::{start, wait_count};
use ferrodef_api::incidents::{Change, IncidentBook, Record, INCIDENTS_STREAM};
use ferrodef_event::{format_timestamp, Severity};

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
    wait_count(&*store, INCIDENTS_STREAM, "*", 3 + 10_500);

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
    wait_count(&*store, INCIDENTS_STREAM, "kind:snapshot", 3);
    let again = IncidentBook::load(&*store);
    assert_eq!(again.len(), 3);
    for id in ids {
        assert_eq!(again.get(id), book.get(id), "{id}");
    }
    tokio::task::spawn_blocking(move || ingest.shutdown())
        .await
        .unwrap();
}
