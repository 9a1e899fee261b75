//! The write-ahead log: accepted events are appended and fsynced here before the client is
//! answered, and replayed into the store after a crash.
//!
//! Files: `<dir>/<first seq, 20 digits>.wal` segments and `<dir>/checkpoint` (the sequence
//! number up to which the store has committed everything). A record is
//! `len: u32 LE | crc32(seq ‖ payload): u32 LE | seq: u64 LE | payload (len bytes)`; a torn
//! tail (a crash in the middle of a write) is cut off at open; corrupt bytes in the middle of
//! a segment are skipped (and reported) and the valid records after them are kept.

pub mod record;

use std::fs::{File, OpenOptions};
use std::io::{Seek, SeekFrom, Write};
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
    /// The kind of the underlying I/O error.
    pub fn io_kind(&self) -> std::io::ErrorKind {
        self.source.kind()
    }

    /// The OS error code of the underlying I/O error, if any.
    pub fn raw_os_error(&self) -> Option<i32> {
        self.source.raw_os_error()
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
    report: ScanReport,
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
    write_checkpoint_keeping(dir, seq, seq)
}

/// [`write_checkpoint`], keeping besides the segments that hold records after `keep_after`
/// (another reader of the log still needs them: the rules' state is rebuilt from there after
/// a crash).
pub fn write_checkpoint_keeping(dir: &Path, seq: u64, keep_after: u64) -> Result<(), WalError> {
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
    let upto = seq.min(keep_after);
    let segs = segments(dir)?;
    for pair in segs.windows(2) {
        if pair[1].0 <= upto.saturating_add(1) {
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

/// What a scan of the log found besides valid records: regions of corrupt bytes between
/// valid records (skipped; the records after them are kept).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ScanReport {
    /// Corrupt regions skipped, each as (segment file, byte offset, length).
    pub corrupt: Vec<(PathBuf, u64, u64)>,
    /// Records missing around the corrupt regions (gaps in the sequence numbers).
    pub missing_records: u64,
}

impl ScanReport {
    /// Bytes skipped in all.
    pub fn corrupt_bytes(&self) -> u64 {
        self.corrupt.iter().map(|c| c.2).sum()
    }

    fn merge(&mut self, other: ScanReport) {
        self.corrupt.extend(other.corrupt);
        self.missing_records += other.missing_records;
    }
}

/// A valid record at `pos` of `data` whose sequence number follows `after` (by less than
/// 2^32: a segment never holds more records, and the bound makes random bytes almost never
/// look like a header worth checksumming): (seq, payload, end offset).
fn record_at(data: &[u8], pos: usize, after: u64) -> Option<(u64, &[u8], usize)> {
    let header = data.get(pos..pos.checked_add(HEADER)?)?;
    let len = u32::from_le_bytes([header[0], header[1], header[2], header[3]]) as usize;
    if len > MAX_RECORD {
        return None;
    }
    let crc = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
    let seq_bytes: [u8; 8] = header[8..16].try_into().ok()?;
    let seq = u64::from_le_bytes(seq_bytes);
    if seq <= after || seq - after > 1 << 32 {
        return None;
    }
    let end = pos + HEADER + len;
    let payload = data.get(pos + HEADER..end)?;
    let mut h = crc32fast::Hasher::new();
    h.update(&seq_bytes);
    h.update(payload);
    (h.finalize() == crc).then_some((seq, payload, end))
}

/// Scans one segment file, calling `f` for each valid record (see [`scan_bytes`]).
fn scan_segment(
    path: &Path,
    first_seq: u64,
    f: impl FnMut(u64, &[u8]) -> Result<(), WalError>,
) -> Result<(u64, Option<u64>, ScanReport), WalError> {
    let data = std::fs::read(path).map_err(err(path, "reading segment"))?;
    let (valid_end, last, corrupt) = scan_bytes(&data, first_seq, f)?;
    let mut report = ScanReport::default();
    for c in corrupt {
        tracing::error!(
            path = %path.display(),
            offset = c.offset,
            bytes = c.len,
            "corrupt write-ahead log records skipped; resynchronized at the next valid record"
        );
        report.corrupt.push((path.to_path_buf(), c.offset, c.len));
        report.missing_records += c.missing_records;
    }
    Ok((valid_end, last, report))
}

/// A corrupt region found by [`scan_bytes`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Corrupt {
    /// Byte offset in the segment.
    pub offset: u64,
    /// Length in bytes.
    pub len: u64,
    /// Sequence numbers missing across it.
    pub missing_records: u64,
}

/// Scans the bytes of a segment whose first record is `first_seq`, calling `f` for each valid
/// record in order. A corrupt record in the middle is skipped: the scan resynchronizes on the
/// next valid record (checksum, length and a sequence number above the last one all agree)
/// and reports the skipped bytes. Returns the end of the last valid record (what follows it is
/// a torn tail), the last sequence number and the corrupt regions.
pub fn scan_bytes(
    data: &[u8],
    first_seq: u64,
    mut f: impl FnMut(u64, &[u8]) -> Result<(), WalError>,
) -> Result<(u64, Option<u64>, Vec<Corrupt>), WalError> {
    let mut corrupt = Vec::new();
    let mut pos = 0usize;
    let mut valid_end = 0usize;
    let mut last: Option<u64> = None;
    while pos + HEADER <= data.len() {
        let after = last.unwrap_or(first_seq.saturating_sub(1));
        if let Some((seq, payload, end)) = record_at(data, pos, after) {
            if pos > valid_end {
                corrupt.push(Corrupt {
                    offset: valid_end as u64,
                    len: (pos - valid_end) as u64,
                    missing_records: last.map_or(0, |l| seq - l - 1),
                });
            }
            f(seq, payload)?;
            last = Some(seq);
            pos = end;
            valid_end = end;
        } else {
            pos += 1;
        }
    }
    Ok((valid_end as u64, last, corrupt))
}

/// Encodes one record as the log writes it (for tests and fuzzing).
pub fn encode_record(seq: u64, payload: &[u8], out: &mut Vec<u8>) {
    let seq_bytes = seq.to_le_bytes();
    let mut h = crc32fast::Hasher::new();
    h.update(&seq_bytes);
    h.update(payload);
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&h.finalize().to_le_bytes());
    out.extend_from_slice(&seq_bytes);
    out.extend_from_slice(payload);
}

/// Calls `f` for every record with `from <= seq <= to`, in order (the indexer re-reads what a
/// failed partition lost). Corrupt regions are skipped as at open.
pub fn read_range(
    dir: &Path,
    from: u64,
    to: u64,
    mut f: impl FnMut(u64, &[u8]) -> Result<(), WalError>,
) -> Result<(), WalError> {
    let segs = segments(dir)?;
    for (i, (first, path)) in segs.iter().enumerate() {
        let next_first = segs.get(i + 1).map(|s| s.0);
        if *first > to || next_first.is_some_and(|n| n <= from) {
            continue;
        }
        scan_segment(path, *first, |seq, payload| {
            if seq >= from && seq <= to {
                f(seq, payload)?;
            }
            Ok(())
        })?;
    }
    Ok(())
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
        let mut report = ScanReport::default();
        let n = segs.len();
        for (i, (first, path)) in segs.iter().enumerate() {
            let (valid, last, r) = scan_segment(path, *first, |seq, payload| {
                if seq > checkpoint {
                    replay(seq, payload)?;
                }
                Ok(())
            })?;
            report.merge(r);
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
            report,
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

    /// What the scan at open skipped (corrupt regions in the middle of segments).
    pub fn open_report(&self) -> &ScanReport {
        &self.report
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
            encode_record(seq, p, &mut self.buf);
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
    fn corrupt_last_record_is_a_torn_tail() {
        let d = tempfile::tempdir().unwrap();
        let (mut wal, _) = collect(d.path());
        wal.append([&b"first"[..], b"second"]).unwrap();
        let path = wal.path.clone();
        drop(wal);
        let mut bytes = std::fs::read(&path).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 0xff;
        std::fs::write(&path, bytes).unwrap();
        let (wal, got) = collect(d.path());
        assert_eq!(got, vec![(1, b"first".to_vec())]);
        assert!(wal.open_report().corrupt.is_empty());
    }

    #[test]
    fn corrupt_record_in_the_middle_is_skipped_and_reported() {
        let d = tempfile::tempdir().unwrap();
        let (mut wal, _) = collect(d.path());
        let payloads: Vec<Vec<u8>> = (0..10u8).map(|i| vec![b'a' + i; 30]).collect();
        wal.append(payloads.iter().map(Vec::as_slice)).unwrap();
        let path = wal.path.clone();
        drop(wal);
        let mut bytes = std::fs::read(&path).unwrap();
        // Records are 16 + 30 bytes: damage the payload of the 4th and the header of the 6th.
        bytes[3 * 46 + 20] ^= 0x55;
        bytes[5 * 46 + 1] ^= 0x55;
        std::fs::write(&path, bytes).unwrap();
        let (mut wal, got) = collect(d.path());
        let seqs: Vec<u64> = got.iter().map(|g| g.0).collect();
        assert_eq!(seqs, vec![1, 2, 3, 5, 7, 8, 9, 10]);
        assert_eq!(got[3].1, payloads[4]);
        let report = wal.open_report().clone();
        assert_eq!(report.corrupt.len(), 2);
        assert_eq!(report.corrupt_bytes(), 2 * 46);
        assert_eq!(report.missing_records, 2);
        // The log goes on after the valid tail, and the range reader skips the same way.
        assert_eq!(wal.append([&b"new"[..]]).unwrap(), 11);
        drop(wal);
        let mut ranged = Vec::new();
        read_range(d.path(), 4, 9, |s, _| {
            ranged.push(s);
            Ok(())
        })
        .unwrap();
        assert_eq!(ranged, vec![5, 7, 8, 9]);
    }

    #[test]
    fn garbage_and_truncations_never_panic() {
        let d = tempfile::tempdir().unwrap();
        let (mut wal, _) = collect(d.path());
        wal.append([&b"one"[..], b"two", b"three"]).unwrap();
        let path = wal.path.clone();
        drop(wal);
        let good = std::fs::read(&path).unwrap();
        for cut in 0..good.len() {
            std::fs::write(&path, &good[..cut]).unwrap();
            let (_, got) = collect(d.path());
            assert!(got.len() <= 3);
        }
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
