//! The state on disk: one JSON file, `<data_dir>/auth/auth.json` (mode 0600), replaced
//! atomically (written to a temporary file, synced, renamed over, directory synced), so a
//! crash leaves either the old or the new state. Writers (the server and `ferrodef user` /
//! `token` commands) take an exclusive lock on `auth.lock` around read-modify-write; readers
//! need no lock (a rename is atomic) and notice a change by the file's size, time and inode.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::model::AuthData;
use crate::security::SecurityRecord;
use crate::session::StoredSession;
use crate::AuthError;

/// What identifies one version of the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    len: u64,
    mtime_ns: i128,
    ino: u64,
}

/// The auth state file of a data directory.
#[derive(Debug, Clone)]
pub struct AuthFile {
    dir: PathBuf,
    path: PathBuf,
}

fn io_err(what: &str, path: &Path, e: std::io::Error) -> AuthError {
    AuthError::Storage(format!("{what} {}: {e}", path.display()))
}

impl AuthFile {
    /// The state file under `data_dir/auth/` (the directory is created, mode 0700).
    pub fn open(data_dir: &Path) -> Result<AuthFile, AuthError> {
        let dir = auth_dir(data_dir)?;
        Ok(AuthFile {
            path: dir.join("auth.json"),
            dir,
        })
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The current version's stamp (`None`: no file yet).
    pub fn stamp(&self) -> Result<Option<Stamp>, AuthError> {
        match std::fs::metadata(&self.path) {
            Ok(m) => Ok(Some(Stamp {
                len: m.len(),
                mtime_ns: i128::from(m.mtime()) * 1_000_000_000 + i128::from(m.mtime_nsec()),
                ino: m.ino(),
            })),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_err("reading", &self.path, e)),
        }
    }

    /// Reads the state (empty when there is no file yet) and its stamp.
    pub fn load(&self) -> Result<(AuthData, Option<Stamp>), AuthError> {
        // Stamp first: if the file changes between the two, the next check reloads.
        let stamp = self.stamp()?;
        let text = match std::fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok((AuthData::default(), None))
            }
            Err(e) => return Err(io_err("reading", &self.path, e)),
        };
        let data: AuthData = serde_json::from_str(&text).map_err(|e| {
            AuthError::Storage(format!(
                "{} is not a valid auth state (line {}, column {}): {e}",
                self.path.display(),
                e.line(),
                e.column()
            ))
        })?;
        if data.version != 1 {
            return Err(AuthError::Storage(format!(
                "{}: unknown format version {}",
                self.path.display(),
                data.version
            )));
        }
        Ok((data, stamp))
    }

    /// Read-modify-write under the writers' lock: `f` changes the current state; when it
    /// succeeds the new state is written atomically. Returns `f`'s result and the new state.
    pub fn update<T>(
        &self,
        f: impl FnOnce(&mut AuthData) -> Result<T, AuthError>,
    ) -> Result<(T, AuthData, Option<Stamp>), AuthError> {
        let lock = self.lock()?;
        let (mut data, _) = self.load()?;
        let out = f(&mut data)?;
        self.write(&data)?;
        let stamp = self.stamp()?;
        drop(lock);
        Ok((out, data, stamp))
    }

    fn lock(&self) -> Result<File, AuthError> {
        let lock_path = self.dir.join("auth.lock");
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(&lock_path)
            .map_err(|e| io_err("opening", &lock_path, e))?;
        lock.lock().map_err(|e| io_err("locking", &lock_path, e))?;
        Ok(lock)
    }

    /// Appends security records to the spool (`auth/events.spool`): what a `ferrodef user` or
    /// `token` command did, for the server to store (it drains the spool every few seconds,
    /// and at start). One record a line: time (RFC 3339), severity, signature, CEF line.
    pub fn spool(&self, records: &[SecurityRecord]) -> Result<(), AuthError> {
        if records.is_empty() {
            return Ok(());
        }
        let _lock = self.lock()?;
        let path = self.dir.join("events.spool");
        let mut f = OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(&path)
            .map_err(|e| io_err("opening", &path, e))?;
        let mut text = String::new();
        for r in records {
            text.push_str(&format!(
                "{}\t{}\t{}\t{}\n",
                r.time.to_rfc3339(),
                r.severity,
                r.signature,
                r.cef.replace(['\n', '\r'], " ")
            ));
        }
        f.write_all(text.as_bytes())
            .and_then(|()| f.sync_all())
            .map_err(|e| io_err("writing", &path, e))
    }

    /// Takes every spooled record (the spool is emptied). Lines that cannot be read are
    /// skipped with a warning naming the line.
    pub fn take_spool(&self) -> Result<Vec<SecurityRecord>, AuthError> {
        let path = self.dir.join("events.spool");
        if !path.exists() {
            return Ok(Vec::new());
        }
        let _lock = self.lock()?;
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io_err("reading", &path, e)),
        };
        let mut out = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let mut parts = line.splitn(4, '\t');
            let rec = (|| {
                let time = chrono::DateTime::parse_from_rfc3339(parts.next()?).ok()?;
                let severity = parts.next()?.parse().ok()?;
                let signature = parts.next()?.to_string();
                let cef = parts.next()?.to_string();
                Some(SecurityRecord {
                    time: time.with_timezone(&chrono::Utc),
                    severity,
                    signature,
                    cef,
                })
            })();
            match rec {
                Some(r) => out.push(r),
                None => tracing::warn!(
                    "{} line {}: not a spooled security event",
                    path.display(),
                    n + 1
                ),
            }
        }
        std::fs::remove_file(&path).map_err(|e| io_err("removing", &path, e))?;
        Ok(out)
    }

    fn write(&self, data: &AuthData) -> Result<(), AuthError> {
        let text = serde_json::to_vec_pretty(data)
            .map_err(|e| AuthError::Storage(format!("encoding the auth state: {e}")))?;
        write_atomic(&self.dir, &self.path, &text)
    }
}

/// Replaces `path` (in `dir`) with `bytes` so that a crash leaves the old or the new content:
/// a temporary file (mode 0600) written and synced, renamed over, the directory synced.
fn write_atomic(dir: &Path, path: &Path, bytes: &[u8]) -> Result<(), AuthError> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let tmp = dir.join(format!("{name}.tmp-{}", std::process::id()));
    let mut f = OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(|e| io_err("creating", &tmp, e))?;
    f.write_all(bytes)
        .and_then(|()| f.sync_all())
        .map_err(|e| io_err("writing", &tmp, e))?;
    drop(f);
    std::fs::rename(&tmp, path).map_err(|e| io_err("replacing", path, e))?;
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io_err("syncing", dir, e))?;
    Ok(())
}

/// The auth directory of a data directory, created (mode 0700) if needed.
fn auth_dir(data_dir: &Path) -> Result<PathBuf, AuthError> {
    let dir = data_dir.join("auth");
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&dir)
        .map_err(|e| io_err("creating", &dir, e))?;
    Ok(dir)
}

/// Largest sessions file read: the most sessions held (10,000) take ~4 MB.
const MAX_SESSIONS_FILE: u64 = 32 << 20;

/// The console sessions of a data directory, `<data_dir>/auth/sessions.json` (mode 0600),
/// so that a restart of the server logs nobody out. Only the server writes it (it holds the
/// data directory's lock), replaced atomically like `auth.json`. It holds each session's
/// SHA-256 of the cookie value (never the cookie), user, CSRF token, creation, last use and
/// expiry; at most as many as the server holds (10,000).
///
/// A file that others than its owner may read or write, or that belongs to another user, is
/// not trusted (a forged entry would be a login): it is refused with the reason, and the
/// server starts with no sessions.
#[derive(Debug, Clone)]
pub struct SessionFile {
    dir: PathBuf,
    path: PathBuf,
}

#[derive(Serialize, Deserialize)]
struct SessionsDoc {
    version: u32,
    sessions: Vec<StoredSession>,
}

impl SessionFile {
    /// The sessions file under `data_dir/auth/` (the directory is created, mode 0700).
    pub fn open(data_dir: &Path) -> Result<SessionFile, AuthError> {
        let dir = auth_dir(data_dir)?;
        Ok(SessionFile {
            path: dir.join("sessions.json"),
            dir,
        })
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The stored sessions (none when there is no file yet).
    pub(crate) fn load(&self) -> Result<Vec<StoredSession>, AuthError> {
        let meta = match std::fs::metadata(&self.path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io_err("reading", &self.path, e)),
        };
        // SAFETY: geteuid(2) has no preconditions and cannot fail.
        let euid = unsafe { libc::geteuid() };
        if meta.uid() != euid || meta.mode() & 0o077 != 0 {
            return Err(AuthError::Storage(format!(
                "{} is not trusted: it must belong to the server's user (uid {euid}) with mode 0600                  (it is uid {}, mode {:o})",
                self.path.display(),
                meta.uid(),
                meta.mode() & 0o7777
            )));
        }
        if meta.len() > MAX_SESSIONS_FILE {
            return Err(AuthError::Storage(format!(
                "{} is larger than {} MiB",
                self.path.display(),
                MAX_SESSIONS_FILE >> 20
            )));
        }
        let text = std::fs::read(&self.path).map_err(|e| io_err("reading", &self.path, e))?;
        let doc: SessionsDoc = serde_json::from_slice(&text).map_err(|e| {
            AuthError::Storage(format!(
                "{} is not a valid sessions file (line {}, column {}): {e}",
                self.path.display(),
                e.line(),
                e.column()
            ))
        })?;
        if doc.version != 1 {
            return Err(AuthError::Storage(format!(
                "{}: unknown format version {}",
                self.path.display(),
                doc.version
            )));
        }
        Ok(doc.sessions)
    }

    /// Replaces the stored sessions.
    pub(crate) fn write(&self, sessions: Vec<StoredSession>) -> Result<(), AuthError> {
        let doc = SessionsDoc {
            version: 1,
            sessions,
        };
        let text = serde_json::to_vec(&doc)
            .map_err(|e| AuthError::Storage(format!("encoding the sessions: {e}")))?;
        write_atomic(&self.dir, &self.path, &text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn update_is_persisted_private_and_visible_by_stamp() {
        let dir = tempfile::tempdir().unwrap();
        let f = AuthFile::open(dir.path()).unwrap();
        assert_eq!(f.load().unwrap().1, None);
        let (_, data, stamp) = f
            .update(|d| {
                d.next_user_id = 7;
                Ok(())
            })
            .unwrap();
        assert_eq!(data.next_user_id, 7);
        assert_eq!(f.stamp().unwrap(), stamp);
        let mode = std::fs::metadata(f.path()).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let other = AuthFile::open(dir.path()).unwrap();
        other
            .update(|d| {
                d.next_user_id += 1;
                Ok(())
            })
            .unwrap();
        assert_ne!(f.stamp().unwrap(), stamp);
        assert_eq!(f.load().unwrap().0.next_user_id, 8);
        // A failed change writes nothing.
        let r: Result<((), _, _), _> = f.update(|d| {
            d.next_user_id = 100;
            Err(AuthError::Invalid("no".into()))
        });
        assert!(r.is_err());
        assert_eq!(f.load().unwrap().0.next_user_id, 8);
    }

    #[test]
    fn a_damaged_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let f = AuthFile::open(dir.path()).unwrap();
        std::fs::write(f.path(), "{\"version\": 1,\n oops").unwrap();
        let e = f.load().unwrap_err().to_string();
        assert!(e.contains("auth.json") && e.contains("line 2"), "{e}");
    }
}
