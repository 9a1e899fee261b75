//! The store's directories and files are readable by their owner only.

use std::os::unix::fs::PermissionsExt;

use chrono::{TimeZone, Utc};
use ferrodef_store::tantivy_store::TantivyOptions;
use ferrodef_store::{Store, StoredDoc, TantivyStore};
use serde_json::json;

fn walk(dir: &std::path::Path, out: &mut Vec<(std::path::PathBuf, u32, bool)>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        let meta = e.metadata().unwrap();
        let mode = meta.permissions().mode() & 0o777;
        out.push((e.path(), mode, meta.is_dir()));
        if meta.is_dir() {
            walk(&e.path(), out);
        }
    }
}

#[test]
fn data_files_are_owner_only() {
    let parent = tempfile::tempdir().unwrap();
    let root = parent.path().join("index");
    let store = TantivyStore::open(&root, TantivyOptions::default()).unwrap();
    let t = Utc.with_ymd_and_hms(2026, 11, 30, 10, 0, 0).unwrap();
    let serde_json::Value::Object(map) = json!({"summary": "secret", "details": {"user": "alice"}})
    else {
        panic!("object")
    };
    store
        .index(vec![StoredDoc {
            seq: 1,
            stream: "events".into(),
            utctimestamp: t,
            receivedtimestamp: t,
            source: serde_json::to_vec(&map).unwrap(),
            doc: map.into(),
        }])
        .unwrap();
    store.commit(1).unwrap();

    let root_mode = std::fs::metadata(&root).unwrap().permissions().mode() & 0o777;
    assert_eq!(root_mode, 0o700);
    let mut entries = Vec::new();
    walk(&root, &mut entries);
    assert!(entries.len() > 5, "{entries:?}");
    assert!(entries.iter().any(|(p, _, _)| p.ends_with("meta.json")));
    for (path, mode, is_dir) in &entries {
        let want = if *is_dir { 0o700 } else { 0o600 };
        assert_eq!(*mode, want, "{} is {mode:o}", path.display());
    }
}
