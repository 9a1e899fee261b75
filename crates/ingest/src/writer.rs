//! The log writer: one thread appends accepted documents to the write-ahead log with one
//! fsync per group of concurrent submissions (group commit), hands each group to the indexer,
//! then answers the submitters. A client is answered once its events are on disk and the
//! indexer has taken them (the hand-over has no queue): when indexing lags, answers slow down
//! instead of acknowledged events piling up unindexed.

use std::sync::mpsc::SyncSender;
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use crate::record::{encode, Pending};
use crate::status::Status;
use crate::Metrics;
use ferrodef_wal::{Wal, WalError};

/// Documents of one submission, on their way to the log.
pub(crate) struct Submit {
    pub(crate) source: String,
    pub(crate) docs: Vec<Pending>,
    pub(crate) ack: oneshot::Sender<Result<(), Refused>>,
}

/// A submission the log could not persist, handed back whole (already through the rules and
/// serialized) so that its submitter can refuse it or retry it as it is.
pub(crate) struct Refused {
    pub(crate) error: PersistError,
    pub(crate) docs: Vec<Pending>,
}

/// Documents the log has made durable, on their way to the indexer.
pub(crate) struct Accepted {
    pub(crate) source: String,
    pub(crate) docs: Vec<ferrodef_store::StoredDoc>,
}

/// Why the log could not persist a submission. The message shown to clients names no path.
#[derive(Debug, Clone, thiserror::Error)]
pub enum PersistError {
    /// The file system of the data directory is full.
    #[error("the disk of ferrodef's data directory is full: events cannot be persisted; try again later")]
    DiskFull,
    /// Any other I/O failure of the log.
    #[error("events could not be persisted (write-ahead log I/O error); try again later")]
    Io,
}

impl PersistError {
    fn of(e: &WalError) -> PersistError {
        let disk_full = e.io_kind() == std::io::ErrorKind::StorageFull
            || e.raw_os_error() == Some(28 /* ENOSPC */)
            || e.raw_os_error() == Some(122 /* EDQUOT */);
        if disk_full {
            PersistError::DiskFull
        } else {
            PersistError::Io
        }
    }
}

/// Submissions grouped into one append: stop adding at this many documents.
const GROUP_DOCS: usize = 10_000;

pub(crate) fn writer_loop(
    mut wal: Wal,
    mut rx: mpsc::Receiver<Submit>,
    itx: SyncSender<Accepted>,
    status: Arc<Status>,
    metrics: Arc<Metrics>,
) {
    let mut buf: Vec<u8> = Vec::new();
    let mut offsets: Vec<usize> = Vec::new();
    while let Some(first) = rx.blocking_recv() {
        let subs = gather(first, &mut rx);
        encode_all(&subs, &mut buf, &mut offsets);
        let payloads = offsets.windows(2).map(|w| &buf[w[0]..w[1]]);
        match wal.append(payloads) {
            Ok(first_seq) => {
                status.set_log_result(None);
                let last = first_seq + (offsets.len() as u64 - 1) - 1;
                status.set_accepted(last);
                hand_over(subs, first_seq, &itx, &metrics);
            }
            Err(e) => {
                let pe = PersistError::of(&e);
                tracing::error!("{e}");
                status.set_log_result(Some(&pe));
                metrics.log_errors.inc();
                for s in subs {
                    let _ = s.ack.send(Err(Refused {
                        error: pe.clone(),
                        docs: s.docs,
                    }));
                }
            }
        }
        if buf.capacity() > (64 << 20) {
            buf = Vec::new();
        }
    }
}

/// The first submission and whatever else is waiting, up to `GROUP_DOCS` documents.
fn gather(first: Submit, rx: &mut mpsc::Receiver<Submit>) -> Vec<Submit> {
    let mut n = first.docs.len();
    let mut subs = vec![first];
    while n < GROUP_DOCS {
        match rx.try_recv() {
            Ok(s) => {
                n += s.docs.len();
                subs.push(s);
            }
            Err(_) => break,
        }
    }
    subs
}

fn encode_all(subs: &[Submit], buf: &mut Vec<u8>, offsets: &mut Vec<usize>) {
    buf.clear();
    offsets.clear();
    offsets.push(0);
    for d in subs.iter().flat_map(|s| &s.docs) {
        encode(d, buf);
        offsets.push(buf.len());
    }
}

/// Numbers the durable documents, hands them to the indexer, answers their submitters.
fn hand_over(subs: Vec<Submit>, first_seq: u64, itx: &SyncSender<Accepted>, metrics: &Metrics) {
    let mut seq = first_seq;
    for s in subs {
        let docs: Vec<_> = s
            .docs
            .into_iter()
            .map(|p| {
                let d = p.stored(seq);
                seq += 1;
                d
            })
            .collect();
        metrics.pending.inc_by(docs.len() as i64);
        let accepted = Accepted {
            source: s.source,
            docs,
        };
        if itx.send(accepted).is_err() {
            tracing::error!(
                "indexer stopped; accepted events stay in the write-ahead log and are indexed at the next start"
            );
        }
        let _ = s.ack.send(Ok(()));
    }
}
