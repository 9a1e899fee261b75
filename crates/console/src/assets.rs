//! The console's files, embedded at build time (the table is written by `build.rs`).

/// One embedded file.
#[derive(Debug)]
pub struct Asset {
    /// Path under `/ui/` (`index.html`, `assets/main-7TNA6IG3.js`).
    pub path: &'static str,
    /// Its `Content-Type`.
    pub content_type: &'static str,
    /// A strong ETag of the content (quoted).
    pub etag: &'static str,
    /// The file.
    pub body: &'static [u8],
    /// The file gzipped, when that makes it smaller.
    pub gzip: Option<&'static [u8]>,
}

/// Every file of the built console, sorted by path.
pub static ASSETS: &[Asset] = include!(concat!(env!("OUT_DIR"), "/assets.rs"));

/// The file at `path` (under `/ui/`).
pub fn find(path: &str) -> Option<&'static Asset> {
    ASSETS
        .binary_search_by(|a| a.path.cmp(path))
        .ok()
        .map(|i| &ASSETS[i])
}
