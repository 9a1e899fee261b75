//! Acknowledged events survive `kill -9`; retention drops whole days.

mod common;

use chrono::{Duration, SecondsFormat, Utc};
use common::Server;
use serde_json::json;

#[test]
fn acknowledged_events_survive_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    // Commits are far apart, so the acknowledged events exist only in the write-ahead log.
    let mut s = Server::start_in(dir.path(), &["--commit-interval-ms", "600000"]);
    for i in 0..20 {
        let (st, v) = s.post_json(
            "/events",
            &json!({"category": "durable", "summary": format!("single {i}")}),
        );
        assert_eq!(st, 200, "{v}");
    }
    let bulk: Vec<_> = (0..500)
        .map(|i| json!({"category": "durable", "summary": format!("bulk {i}")}))
        .collect();
    let (st, v) = s.post_json("/_bulk", &json!(bulk));
    assert_eq!(st, 200, "{v}");
    s.kill9();
    let s = Server::start_in(dir.path(), &[]);
    // Replay happens before the server listens: everything is there at once.
    assert_eq!(s.total("category:durable"), 520);
    assert_eq!(s.total("summary:\"single 7\""), 1);
    drop(s);
    // And nothing is indexed twice when the log is replayed again.
    let s = Server::start_in(dir.path(), &[]);
    assert_eq!(s.total("category:durable"), 520);
}

#[test]
fn clean_shutdown_commits_everything() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Server::start_in(dir.path(), &["--commit-interval-ms", "600000"]);
    let (st, _) = s.post_json("/events", &json!({"category": "clean", "summary": "x"}));
    assert_eq!(st, 200);
    s.stop();
    let wal = std::fs::read_to_string(dir.path().join("wal/checkpoint")).unwrap();
    assert_eq!(
        wal.trim(),
        "1",
        "the checkpoint covers the event after a clean stop"
    );
    let s = Server::start_in(dir.path(), &[]);
    assert_eq!(s.total("category:clean"), 1);
}

#[test]
fn retention_keeps_old_events_imported_recently() {
    // Retention drops a day once its events are older than the retention period and were
    // received before it too (the store's tests drop days): an import of old logs is kept for
    // the whole period from its receipt, not dropped at the next run.
    let dir = tempfile::tempdir().unwrap();
    let mut s = Server::start_in(dir.path(), &["--retention-days", "90"]);
    let old = Utc::now() - Duration::days(100);
    let recent = Utc::now() - Duration::days(10);
    for (t, cat) in [(old, "old"), (recent, "recent")] {
        let (st, v) = s.post_json(
            "/events",
            &json!({"category": cat, "summary": "r", "utctimestamp": t.to_rfc3339_opts(SecondsFormat::Secs, true)}),
        );
        assert_eq!(st, 200, "{v}");
    }
    assert_eq!(s.wait_total("category:old OR category:recent", 2), 2);
    let old_dir = dir
        .path()
        .join("index/events")
        .join(old.format("%Y%m%d").to_string());
    assert!(
        old_dir.is_dir(),
        "a partition per day: {}",
        old_dir.display()
    );
    s.stop();
    // Retention runs when a server starts.
    let s = Server::start_in(dir.path(), &["--retention-days", "90"]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while s.metric("ferrodef_retention_runs_total") == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "retention did not run"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(s.total("category:old"), 1);
    assert_eq!(s.total("category:recent"), 1);
    assert!(old_dir.is_dir());
}

#[test]
fn second_server_on_same_data_dir_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let _s = Server::start_in(dir.path(), &[]);
    let out = std::process::Command::new(common::bin())
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("in use"));
}
