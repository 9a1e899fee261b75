//! The write-ahead log: accepted events are appended and fsynced here before the client is
//! answered, and replayed into the store after a crash.
//!
//! Files: `<dir>/<first seq, 20 digits>.wal` segments and `<dir>/checkpoint` (the sequence
//! number up to which the store has committed everything). A record is
//! `len: u32 LE | crc32(seq ‖ payload): u32 LE | seq: u64 LE | payload (len bytes)`; a torn or
//! corrupt tail (a crash in the middle of a write) is cut off at open.

use std::fs::{File, OpenOptions};
use std::io::{BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// Largest payload accepted in one record.
pub const MAX_RECORD: usize = 64 << 20;
const HEADER: usize = 16;

/// A write-ahead log error, naming the file.
#[derive(Debug, thiserror::Error)]
#[error("write-ahead log {path}: {what}: {source}")]
pub struct WalError {
    path: PathBuf,
    what: &'static str,
    source: std::io::Error,
}

impl WalError {
    /// An error not tied to a file.
    pub fn from_io(what: &'static str, source: std::io::Error) -> WalError {
        WalError {
            path: PathBuf::new(),
            what,
            source,
        }
    }
}

fn err(path: &Path, what: &'static str) -> impl FnOnce(std::io::Error) -> WalError {
    let path = path.to_path_buf();
    move |source| WalError { path, what, source }
}

/// The log, open for appending.
pub struct Wal {
    dir: PathBuf,
    file: File,
    path: PathBuf,
    len: u64,
    next_seq: u64,
    max_segment_bytes: u64,
    buf: Vec<u8>,
}

fn segment_name(first_seq: u64) -> String {
    format!("{first_seq:020}.wal")
}

/// The segments in `dir` as (first seq, path), in order.
pub fn segments(dir: &Path) -> Result<Vec<(u64, PathBuf)>, WalError> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(err(dir, "listing segments"))? {
        let entry = entry.map_err(err(dir, "listing segments"))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if let Some(seq) = name
            .strip_suffix(".wal")
            .and_then(|s| s.parse::<u64>().ok())
        {
            out.push((seq, entry.path()));
        }
    }
    out.sort();
    Ok(out)
}

/// Reads the checkpoint (0 when there is none).
pub fn read_checkpoint(dir: &Path) -> Result<u64, WalError> {
    let path = dir.join("checkpoint");
    match std::fs::read_to_string(&path) {
        Ok(s) => s.trim().parse().map_err(|_| WalError {
            path,
            what: "reading checkpoint",
            source: std::io::Error::new(std::io::ErrorKind::InvalidData, "not a number"),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
        Err(e) => Err(WalError {
            path,
            what: "reading checkpoint",
            source: e,
        }),
    }
}

/// Records durably that everything up to `seq` is in the store, and deletes the segments that
/// hold nothing newer.
pub fn write_checkpoint(dir: &Path, seq: u64) -> Result<(), WalError> {
    let tmp = dir.join("checkpoint.tmp");
    let path = dir.join("checkpoint");
    {
        let mut f = File::create(&tmp).map_err(err(&tmp, "writing checkpoint"))?;
        f.write_all(seq.to_string().as_bytes())
            .map_err(err(&tmp, "writing checkpoint"))?;
        f.sync_all().map_err(err(&tmp, "syncing checkpoint"))?;
    }
    std::fs::rename(&tmp, &path).map_err(err(&path, "renaming checkpoint"))?;
    sync_dir(dir)?;
    // A segment can go when the next one starts at or before seq + 1: all its records are <= seq.
    let segs = segments(dir)?;
    for pair in segs.windows(2) {
        if pair[1].0 <= seq.saturating_add(1) {
            std::fs::remove_file(&pair[0].1).map_err(err(&pair[0].1, "removing old segment"))?;
        }
    }
    Ok(())
}

fn sync_dir(dir: &Path) -> Result<(), WalError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(err(dir, "syncing directory"))
}

/// Scans one segment, calling `f` for each valid record; returns the byte length of the valid
/// prefix and the last sequence number seen.
fn scan_segment(
    path: &Path,
    mut f: impl FnMut(u64, &[u8]) -> Result<(), WalError>,
) -> Result<(u64, Option<u64>), WalError> {
    let file = File::open(path).map_err(err(path, "opening segment"))?;
    let mut r = BufReader::with_capacity(1 << 20, file);
    let mut pos = 0u64;
    let mut last = None;
    let mut header = [0u8; HEADER];
    let mut payload = Vec::new();
    loop {
        match r.read_exact(&mut header) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
            Err(e) => return Err(err(path, "reading segment")(e)),
        }
        let len = u32::from_le_bytes([header[0], header[1], header[2], header[3]]) as usize;
        let crc = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
        let mut seq_bytes = [0u8; 8];
        seq_bytes.copy_from_slice(&header[8..16]);
        let seq = u64::from_le_bytes(seq_bytes);
        if len > MAX_RECORD {
            tracing::warn!(path = %path.display(), offset = pos, "corrupt record length; cutting the log here");
            break;
        }
        payload.resize(len, 0);
        match r.read_exact(&mut payload) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
            Err(e) => return Err(err(path, "reading segment")(e)),
        }
        let mut h = crc32fast::Hasher::new();
        h.update(&seq_bytes);
        h.update(&payload);
        if h.finalize() != crc {
            tracing::warn!(path = %path.display(), offset = pos, "record checksum mismatch; cutting the log here");
            break;
        }
        f(seq, &payload)?;
        last = Some(seq);
        pos += (HEADER + len) as u64;
    }
    Ok((pos, last))
}

impl Wal {
    /// Opens the log in `dir` (creating it), replaying every record with a sequence number
    /// above the checkpoint through `replay`. Returns the log ready for appending.
    pub fn open(
        dir: &Path,
        max_segment_bytes: u64,
        mut replay: impl FnMut(u64, &[u8]) -> Result<(), WalError>,
    ) -> Result<Wal, WalError> {
        std::fs::create_dir_all(dir).map_err(err(dir, "creating directory"))?;
        let checkpoint = read_checkpoint(dir)?;
        let segs = segments(dir)?;
        let mut last_seq = checkpoint;
        let mut tail: Option<(PathBuf, u64)> = None;
        let n = segs.len();
        for (i, (_, path)) in segs.iter().enumerate() {
            let (valid, last) = scan_segment(path, |seq, payload| {
                if seq > checkpoint {
                    replay(seq, payload)?;
                }
                Ok(())
            })?;
            if let Some(l) = last {
                last_seq = last_seq.max(l);
            }
            if i + 1 == n {
                tail = Some((path.clone(), valid));
            }
        }
        let next_seq = last_seq + 1;
        let (path, file, len) = match tail {
            Some((path, valid)) => {
                let file = OpenOptions::new()
                    .read(true)
                    .write(true)
                    .open(&path)
                    .map_err(err(&path, "opening segment"))?;
                let actual = file
                    .metadata()
                    .map_err(err(&path, "reading metadata"))?
                    .len();
                if actual != valid {
                    tracing::warn!(path = %path.display(), valid, actual, "truncating torn write-ahead log tail");
                    file.set_len(valid)
                        .map_err(err(&path, "truncating torn tail"))?;
                    file.sync_all().map_err(err(&path, "syncing"))?;
                }
                (path, file, valid)
            }
            None => {
                let path = dir.join(segment_name(next_seq));
                let file = File::create(&path).map_err(err(&path, "creating segment"))?;
                sync_dir(dir)?;
                (path, file, 0)
            }
        };
        let mut wal = Wal {
            dir: dir.to_path_buf(),
            file,
            path,
            len,
            next_seq,
            max_segment_bytes,
            buf: Vec::new(),
        };
        wal.file
            .seek(SeekFrom::Start(len))
            .map_err(err(&wal.path, "seeking"))?;
        Ok(wal)
    }

    /// The sequence number the next record will get.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// The directory of the log.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Appends records and makes them durable (fdatasync) before returning. Returns the
    /// sequence number of the first one; they are numbered consecutively.
    pub fn append<'p>(
        &mut self,
        payloads: impl IntoIterator<Item = &'p [u8]>,
    ) -> Result<u64, WalError> {
        if self.len >= self.max_segment_bytes {
            self.rotate()?;
        }
        let first = self.next_seq;
        let mut seq = first;
        self.buf.clear();
        for p in payloads {
            if p.len() > MAX_RECORD {
                return Err(WalError {
                    path: self.path.clone(),
                    what: "appending",
                    source: std::io::Error::new(
                        std::io::ErrorKind::InvalidInput,
                        format!("record of {} bytes exceeds {MAX_RECORD}", p.len()),
                    ),
                });
            }
            let seq_bytes = seq.to_le_bytes();
            let mut h = crc32fast::Hasher::new();
            h.update(&seq_bytes);
            h.update(p);
            self.buf.extend_from_slice(&(p.len() as u32).to_le_bytes());
            self.buf.extend_from_slice(&h.finalize().to_le_bytes());
            self.buf.extend_from_slice(&seq_bytes);
            self.buf.extend_from_slice(p);
            seq += 1;
        }
        let res = self
            .file
            .write_all(&self.buf)
            .and_then(|()| self.file.sync_data());
        if let Err(e) = res {
            // Cut whatever part of the batch reached the file, so that the log stays a clean
            // sequence of acknowledged records.
            let _ = self.file.set_len(self.len);
            let _ = self.file.seek(SeekFrom::Start(self.len));
            return Err(err(&self.path, "appending")(e));
        }
        self.len += self.buf.len() as u64;
        self.next_seq = seq;
        if self.buf.capacity() > (8 << 20) {
            self.buf = Vec::new();
        }
        Ok(first)
    }

    fn rotate(&mut self) -> Result<(), WalError> {
        let path = self.dir.join(segment_name(self.next_seq));
        let file = File::create(&path).map_err(err(&path, "creating segment"))?;
        sync_dir(&self.dir)?;
        self.file = file;
        self.path = path;
        self.len = 0;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(dir: &Path) -> (Wal, Vec<(u64, Vec<u8>)>) {
        let mut got = Vec::new();
        let wal = Wal::open(dir, 1 << 20, |s, p| {
            got.push((s, p.to_vec()));
            Ok(())
        })
        .unwrap();
        (wal, got)
    }

    #[test]
    fn append_replay_checkpoint() {
        let d = tempfile::tempdir().unwrap();
        let (mut wal, got) = collect(d.path());
        assert!(got.is_empty());
        assert_eq!(wal.append([&b"a"[..], b"bb"]).unwrap(), 1);
        assert_eq!(wal.append([&b"ccc"[..]]).unwrap(), 3);
        drop(wal);
        let (wal, got) = collect(d.path());
        assert_eq!(
            got,
            vec![
                (1, b"a".to_vec()),
                (2, b"bb".to_vec()),
                (3, b"ccc".to_vec())
            ]
        );
        assert_eq!(wal.next_seq(), 4);
        write_checkpoint(d.path(), 2).unwrap();
        drop(wal);
        let (wal, got) = collect(d.path());
        assert_eq!(got, vec![(3, b"ccc".to_vec())]);
        assert_eq!(wal.next_seq(), 4);
    }

    #[test]
    fn torn_tail_is_cut_and_log_continues() {
        let d = tempfile::tempdir().unwrap();
        let (mut wal, _) = collect(d.path());
        wal.append([&b"one"[..], b"two"]).unwrap();
        let path = wal.path.clone();
        drop(wal);
        // Simulate a crash in the middle of a write: half a record at the end.
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(&[9, 0, 0, 0, 1, 2, 3]).unwrap();
        drop(f);
        let (mut wal, got) = collect(d.path());
        assert_eq!(got.len(), 2);
        assert_eq!(wal.append([&b"three"[..]]).unwrap(), 3);
        drop(wal);
        let (_, got) = collect(d.path());
        assert_eq!(got.last().unwrap(), &(3, b"three".to_vec()));
    }

    #[test]
    fn corrupt_record_stops_replay_there() {
        let d = tempfile::tempdir().unwrap();
        let (mut wal, _) = collect(d.path());
        wal.append([&b"first"[..], b"second"]).unwrap();
        let path = wal.path.clone();
        drop(wal);
        let mut bytes = std::fs::read(&path).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 0xff;
        std::fs::write(&path, bytes).unwrap();
        let (_, got) = collect(d.path());
        assert_eq!(got, vec![(1, b"first".to_vec())]);
    }

    #[test]
    fn rotation_and_segment_cleanup() {
        let d = tempfile::tempdir().unwrap();
        let mut wal = Wal::open(d.path(), 10, |_, _| Ok(())).unwrap();
        for i in 0..5u8 {
            wal.append([&[i; 20][..]]).unwrap();
        }
        assert_eq!(segments(d.path()).unwrap().len(), 5);
        write_checkpoint(d.path(), 3).unwrap();
        let left: Vec<u64> = segments(d.path()).unwrap().iter().map(|s| s.0).collect();
        assert_eq!(left, vec![4, 5]);
        drop(wal);
        // Sequence numbers keep growing after old segments are gone.
        let mut seen = Vec::new();
        let mut wal = Wal::open(d.path(), 10, |s, _| {
            seen.push(s);
            Ok(())
        })
        .unwrap();
        assert_eq!(seen, vec![4, 5]);
        assert_eq!(wal.append([&b"x"[..]]).unwrap(), 6);
    }

    #[test]
    fn checkpoint_alone_keeps_numbering() {
        let d = tempfile::tempdir().unwrap();
        write_checkpoint(d.path(), 41).unwrap();
        let mut wal = Wal::open(d.path(), 1 << 20, |_, _| Ok(())).unwrap();
        assert_eq!(wal.append([&b"x"[..]]).unwrap(), 42);
    }
}
