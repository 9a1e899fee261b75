//! The alerts' triage book on a real store and ingest service: more changes than one search
//! holds are read back in pages, in the order of their numbers, and a change read twice (at a
//! page boundary) is applied once.

mod common;

use chrono::Utc;
use common::{start, wait_count};
use ferrodef_api::alerts::{AlertBook, Change, ALERT_STATUS_STREAM};
use ferrodef_event::{format_timestamp, AlertStatus};

#[tokio::test(flavor = "multi_thread")]
async fn more_changes_than_one_search_holds_are_all_applied_once_in_order() {
    let tmp = tempfile::tempdir().unwrap();
    let (store, ingest) = start(tmp.path());
    // 10,500 comments on three alerts, 500 per write (a write's changes share their time, so
    // a page may end inside one); each write's last change on an alert sets its status, the
    // statuses cycling so that only the order of application gives the final one.
    let ids = ["a1", "a2", "a3"];
    let statuses = [
        AlertStatus::Acknowledged,
        AlertStatus::Escalated,
        AlertStatus::Closed,
        AlertStatus::Open,
    ];
    let mut seq = 0;
    for chunk in 0..21 {
        let at = format_timestamp(&Utc::now());
        let mut docs = Vec::new();
        for i in 0..500 {
            seq += 1;
            docs.push(ferrodef_api::history::to_doc(&Change {
                seq,
                alert_id: ids[(chunk * 500 + i) % 3].into(),
                utctimestamp: at.clone(),
                user: "ann".into(),
                status: (i >= 497).then_some(statuses[chunk % 4]),
                assignee: None,
                comment: Some(format!("comment {seq}")),
            }));
        }
        ingest
            .write_internal(ALERT_STATUS_STREAM, docs)
            .await
            .unwrap();
    }
    wait_count(&*store, ALERT_STATUS_STREAM, "*", 10_500);

    let book = AlertBook::load(&*store);
    assert_eq!(book.len(), 3);
    for id in ids {
        let st = book.state(id);
        assert_eq!(st.comments.len(), 3500, "{id}: every comment once");
        // In order: the numbers of an alert's comments increase.
        let nums: Vec<u64> = st
            .comments
            .iter()
            .map(|c| c.text.trim_start_matches("comment ").parse().unwrap())
            .collect();
        assert!(nums.windows(2).all(|w| w[0] < w[1]), "{id}: out of order");
        assert_eq!(st.status, statuses[20 % 4], "{id}: the last write's status");
    }
    tokio::task::spawn_blocking(move || ingest.shutdown())
        .await
        .unwrap();
}
