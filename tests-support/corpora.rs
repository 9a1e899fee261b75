//! Where the shared corpora are, for the corpus conformance tests of every crate (included with
//! `#[path]`): `$FERRODEF_CORPORA` (relative paths from the project root), else
//! `../shared/corpora` beside the project root. A corpus test run without it fails here, naming
//! the directory, rather than passing without its data (`scripts/test` does not run corpus tests
//! when the directory is missing, and says so).

/// The corpus directory.
pub fn corpora() -> std::path::PathBuf {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = match std::env::var_os("FERRODEF_CORPORA") {
        Some(dir) => root.join(dir),
        None => root.join("../shared/corpora"),
    };
    assert!(
        dir.is_dir(),
        "corpus test run without its corpus: {} not found (set FERRODEF_CORPORA; README, Testing)",
        dir.display()
    );
    dir
}
