//! Syslog over TCP (and the stream half shared with TLS).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use ferrodef_syslog::framing::Framer;
use futures_util::FutureExt;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::sync::Semaphore;

use super::{RawBatch, RawSink, BATCH_BYTES, BATCH_MESSAGES};

/// Batches of one connection being accepted at once.
const MAX_INFLIGHT: usize = 2;

/// Most simultaneous connections per listener; more are refused (and counted).
pub(crate) const MAX_CONNECTIONS: usize = 4096;

/// A bound TCP syslog listener.
pub struct TcpListener {
    listener: tokio::net::TcpListener,
    max_message_bytes: usize,
}

impl TcpListener {
    /// Binds `addr`.
    pub async fn bind(addr: SocketAddr, max_message_bytes: usize) -> std::io::Result<Self> {
        Ok(TcpListener {
            listener: tokio::net::TcpListener::bind(addr).await?,
            max_message_bytes,
        })
    }

    /// The bound address.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Accepts connections until the task is dropped.
    pub async fn run(self, sink: Arc<dyn RawSink>) {
        let max = self.max_message_bytes;
        accept_loop(
            &self.listener,
            "syslog_tcp",
            sink,
            move |stream, peer, sink| read_stream(stream, peer.ip(), "syslog_tcp", max, sink),
        )
        .await
    }
}

/// Accepts connections until the task is dropped, each served by its own task (`serve`); at
/// most [`MAX_CONNECTIONS`] at once, more are refused and counted.
pub(crate) async fn accept_loop<F, Fut>(
    listener: &tokio::net::TcpListener,
    source: &'static str,
    sink: Arc<dyn RawSink>,
    serve: F,
) where
    F: Fn(tokio::net::TcpStream, SocketAddr, Arc<dyn RawSink>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "{source}: accept failed");
                sink.connection_problem(source, "accept_error");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            sink.connection_problem(source, "too_many_connections");
            continue;
        };
        let _ = stream.set_nodelay(true);
        let task = serve(stream, peer, sink.clone());
        tokio::spawn(async move {
            task.await;
            drop(permit);
        });
    }
}

/// Reads one connection to its end: frames messages and hands them over in batches.
pub(crate) async fn read_stream<S: AsyncRead + Unpin>(
    mut stream: S,
    peer: IpAddr,
    source: &'static str,
    max_message_bytes: usize,
    sink: Arc<dyn RawSink>,
) {
    let mut framer = Framer::new(max_message_bytes);
    let mut buf = vec![0u8; 64 * 1024];
    let mut batch = RawBatch::default();
    // Batches being accepted: reading and parsing the next one overlaps the write-ahead log's
    // fsync of the previous one. At most MAX_INFLIGHT per connection (back-pressure).
    let mut inflight: tokio::task::JoinSet<()> = tokio::task::JoinSet::new();
    let hand_over = |batch: RawBatch, inflight: &mut tokio::task::JoinSet<()>| {
        let sink = sink.clone();
        inflight.spawn(async move { sink.submit(source, batch).await });
    };
    loop {
        while inflight.len() >= MAX_INFLIGHT {
            let _ = inflight.join_next().await;
        }
        // Wait for data only when nothing is pending; otherwise take what is ready and
        // hand the batch over as soon as the socket has nothing more.
        let read = if batch.is_empty() {
            Some(stream.read(&mut buf).await)
        } else {
            stream.read(&mut buf).now_or_never()
        };
        match read {
            None => hand_over(std::mem::take(&mut batch), &mut inflight),
            Some(Ok(0)) => break,
            Some(Ok(n)) => {
                framer.push(buf.get(..n).unwrap_or(&[]), |m, truncated| {
                    batch.push(m, peer, truncated)
                });
                if batch.len() >= BATCH_MESSAGES || batch.buf.len() >= BATCH_BYTES {
                    hand_over(std::mem::take(&mut batch), &mut inflight);
                }
            }
            Some(Err(e)) => {
                tracing::debug!(%peer, error = %e, "{source}: read failed");
                sink.connection_problem(source, "read_error");
                break;
            }
        }
    }
    // The last message may lack its newline: it is still a message.
    framer.finish(|m, truncated| batch.push(m, peer, truncated));
    if !batch.is_empty() {
        hand_over(batch, &mut inflight);
    }
    while inflight.join_next().await.is_some() {}
}
