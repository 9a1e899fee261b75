//! Syslog listeners: UDP, TCP and TLS (RFC 5425), with RFC 6587 framing auto-detected per
//! connection.
//!
//! Listeners only receive and frame: every batch of raw messages goes to a [`RawSink`] (the
//! server parses, normalizes and stores them). A connection's reads wait while its batch is
//! being accepted, so a slow store slows senders down (TCP back-pressure) instead of losing
//! events. One bad client (garbage, failed TLS handshake, oversized lines) only affects its own
//! connection; every such problem is reported to the sink so it can be counted.

mod tcp;
mod tls;
mod udp;

use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;

pub use tcp::{ListenerLimits, TcpListener};
pub use tls::{server_config, TlsError, TlsListener, TlsSettings};
pub use tokio_util::sync::CancellationToken;
pub use udp::UdpListener;

/// Default maximum message size: longer messages are truncated and flagged.
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 64 * 1024;

/// One message of a [`RawBatch`].
#[derive(Debug, Clone)]
pub struct RawFrame {
    /// Byte range in [`RawBatch::buf`].
    pub start: usize,
    /// End of the byte range.
    pub end: usize,
    /// The sender.
    pub peer: IpAddr,
    /// The message was cut at the size limit.
    pub truncated: bool,
}

/// De-framed messages from one listener, in arrival order.
#[derive(Debug, Default)]
pub struct RawBatch {
    /// The messages' bytes, back to back.
    pub buf: Vec<u8>,
    /// Where each message is in `buf`.
    pub frames: Vec<RawFrame>,
}

impl RawBatch {
    /// Appends a message.
    pub fn push(&mut self, data: &[u8], peer: IpAddr, truncated: bool) {
        let start = self.buf.len();
        self.buf.extend_from_slice(data);
        self.frames.push(RawFrame {
            start,
            end: self.buf.len(),
            peer,
            truncated,
        });
    }

    /// The messages with their frames.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &RawFrame)> {
        self.frames
            .iter()
            .map(|f| (self.buf.get(f.start..f.end).unwrap_or(&[]), f))
    }

    /// Number of messages.
    pub fn len(&self) -> usize {
        self.frames.len()
    }

    /// No messages.
    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }
}

/// A boxed future, for object-safe async trait methods.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The sink takes no more messages (the server is stopping): listeners close their connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SinkClosed;

/// Where listeners hand their messages (the ingest service).
pub trait RawSink: Send + Sync + 'static {
    /// Accepts a batch from `source` (`syslog_udp`, `syslog_tcp`, `syslog_tls`); resolves once
    /// the batch is durably accepted (or definitively failed, which the sink reports itself).
    /// Waiting here is the back-pressure of stream listeners.
    fn submit(
        &self,
        source: &'static str,
        batch: RawBatch,
    ) -> BoxFuture<'_, Result<(), SinkClosed>>;

    /// A problem that is not an event: `tls_handshake`, `read_error`, `too_many_connections`...
    fn connection_problem(&self, source: &'static str, reason: &'static str);

    /// `n` messages of `source` were shed (UDP, when the ingest queue is full).
    fn shed(&self, source: &'static str, n: u64) {
        let _ = (source, n);
    }

    /// The kernel's count of datagrams dropped on the UDP socket.
    fn udp_kernel_drops(&self, drops: u64) {
        let _ = drops;
    }
}

/// Batches are handed over at this many messages or bytes, or when no more data is ready.
pub(crate) const BATCH_MESSAGES: usize = 4096;
pub(crate) const BATCH_BYTES: usize = 2 * 1024 * 1024;
