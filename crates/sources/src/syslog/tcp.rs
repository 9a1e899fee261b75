//! Syslog over TCP (and the stream half shared with TLS).
//!
//! Each connection is served by its own task. A connection that sends nothing for
//! `idle_timeout` is closed. At most `max_connections` are open: when a new sender comes and
//! the limit is reached, the connection idle the longest (if it has been idle at all) is closed
//! to make room, so idle connections never lock out new senders; if every connection is busy,
//! the new one is refused and counted. A stop signal closes every connection after handing over
//! what it has read.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferrodef_syslog::framing::Framer;
use futures_util::FutureExt;
use parking_lot::Mutex;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio_util::sync::CancellationToken;

use super::{RawBatch, RawSink, SinkClosed, BATCH_BYTES, BATCH_MESSAGES};

/// Batches of one connection being accepted at once.
const MAX_INFLIGHT: usize = 2;

/// Limits of a stream listener.
#[derive(Debug, Clone, Copy)]
pub struct ListenerLimits {
    /// Most simultaneous connections.
    pub max_connections: usize,
    /// A connection silent this long is closed.
    pub idle_timeout: Duration,
}

impl Default for ListenerLimits {
    fn default() -> Self {
        ListenerLimits {
            max_connections: 4096,
            idle_timeout: Duration::from_secs(600),
        }
    }
}

/// A bound TCP syslog listener.
pub struct TcpListener {
    listener: tokio::net::TcpListener,
    max_message_bytes: usize,
    limits: ListenerLimits,
}

impl TcpListener {
    /// Binds `addr`.
    pub async fn bind(
        addr: SocketAddr,
        max_message_bytes: usize,
        limits: ListenerLimits,
    ) -> std::io::Result<Self> {
        Ok(TcpListener {
            listener: tokio::net::TcpListener::bind(addr).await?,
            max_message_bytes,
            limits,
        })
    }

    /// The bound address.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Accepts connections until `stop` is cancelled; then closes every connection (each hands
    /// over what it has read) and returns once they are all closed.
    pub async fn run(self, sink: Arc<dyn RawSink>, stop: CancellationToken) {
        let max = self.max_message_bytes;
        accept_loop(
            &self.listener,
            "syslog_tcp",
            sink,
            self.limits,
            stop,
            move |stream, peer, conn| read_stream(stream, peer.ip(), "syslog_tcp", max, conn),
        )
        .await
    }
}

/// What a connection's task gets: the sink, its stop signal and its activity clock.
pub(crate) struct Conn {
    pub(crate) sink: Arc<dyn RawSink>,
    pub(crate) stop: CancellationToken,
    last_active: Arc<AtomicU64>,
    epoch: Instant,
    pub(crate) idle_timeout: Duration,
}

impl Conn {
    fn touch(&self) {
        self.last_active
            .store(self.epoch.elapsed().as_millis() as u64, Ordering::Relaxed);
    }
}

struct Entry {
    stop: CancellationToken,
    last_active: Arc<AtomicU64>,
}

/// The open connections of a listener.
struct Registry {
    conns: Mutex<HashMap<u64, Entry>>,
    epoch: Instant,
}

impl Registry {
    /// Makes room for one more connection: true when there is (closing the connection idle the
    /// longest if the limit is reached).
    fn make_room(&self, max: usize) -> bool {
        let conns = self.conns.lock();
        let live = conns.values().filter(|e| !e.stop.is_cancelled()).count();
        if live < max {
            return true;
        }
        let now = self.epoch.elapsed().as_millis() as u64;
        let idlest = conns
            .values()
            .filter(|e| !e.stop.is_cancelled())
            .min_by_key(|e| e.last_active.load(Ordering::Relaxed));
        match idlest {
            // Idle for at least a second: it is waiting, not sending.
            Some(e) if now.saturating_sub(e.last_active.load(Ordering::Relaxed)) >= 1000 => {
                e.stop.cancel();
                true
            }
            _ => false,
        }
    }
}

/// Accepts connections until `stop`, each served by its own task (`serve`); see the module
/// documentation for the limits. Returns once every connection has closed.
pub(crate) async fn accept_loop<F, Fut>(
    listener: &tokio::net::TcpListener,
    source: &'static str,
    sink: Arc<dyn RawSink>,
    limits: ListenerLimits,
    stop: CancellationToken,
    serve: F,
) where
    F: Fn(tokio::net::TcpStream, SocketAddr, Conn) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let registry = Arc::new(Registry {
        conns: Mutex::new(HashMap::new()),
        epoch: Instant::now(),
    });
    let mut tasks = tokio::task::JoinSet::new();
    let mut next_id = 0u64;
    loop {
        let accepted = tokio::select! {
            _ = stop.cancelled() => break,
            a = listener.accept() => a,
            Some(_) = tasks.join_next(), if !tasks.is_empty() => continue,
        };
        let (stream, peer) = match accepted {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "{source}: accept failed");
                sink.connection_problem(source, "accept_error");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        if !registry.make_room(limits.max_connections) {
            sink.connection_problem(source, "too_many_connections");
            continue;
        }
        let _ = stream.set_nodelay(true);
        let id = next_id;
        next_id += 1;
        let conn_stop = stop.child_token();
        let last_active = Arc::new(AtomicU64::new(registry.epoch.elapsed().as_millis() as u64));
        registry.conns.lock().insert(
            id,
            Entry {
                stop: conn_stop.clone(),
                last_active: last_active.clone(),
            },
        );
        let conn = Conn {
            sink: sink.clone(),
            stop: conn_stop,
            last_active,
            epoch: registry.epoch,
            idle_timeout: limits.idle_timeout,
        };
        let task = serve(stream, peer, conn);
        let registry = registry.clone();
        tasks.spawn(async move {
            task.await;
            registry.conns.lock().remove(&id);
        });
    }
    while tasks.join_next().await.is_some() {}
}

/// Reads one connection to its end (or its stop, or its idle timeout): frames messages and
/// hands them over in batches.
pub(crate) async fn read_stream<S: AsyncRead + Unpin>(
    mut stream: S,
    peer: IpAddr,
    source: &'static str,
    max_message_bytes: usize,
    conn: Conn,
) {
    let sink = conn.sink.clone();
    let mut framer = Framer::new(max_message_bytes);
    let mut buf = vec![0u8; 64 * 1024];
    let mut batch = RawBatch::default();
    // Batches being accepted: reading and parsing the next one overlaps the write-ahead log's
    // fsync of the previous one. At most MAX_INFLIGHT per connection (back-pressure).
    let mut inflight: tokio::task::JoinSet<Result<(), SinkClosed>> = tokio::task::JoinSet::new();
    let hand_over = |batch: RawBatch, inflight: &mut tokio::task::JoinSet<_>| {
        let sink = sink.clone();
        inflight.spawn(async move { sink.submit(source, batch).await });
    };
    let mut closed = false;
    loop {
        while inflight.len() >= MAX_INFLIGHT {
            if let Some(Ok(Err(SinkClosed))) = inflight.join_next().await {
                closed = true;
            }
        }
        if closed {
            break;
        }
        // Wait for data only when nothing is pending; otherwise take what is ready and
        // hand the batch over as soon as the socket has nothing more.
        let read = if batch.is_empty() {
            tokio::select! {
                _ = conn.stop.cancelled() => break,
                r = tokio::time::timeout(conn.idle_timeout, stream.read(&mut buf)) => match r {
                    Ok(r) => Some(r),
                    Err(_) => {
                        tracing::debug!(%peer, "{source}: idle connection closed");
                        sink.connection_problem(source, "idle_timeout");
                        break;
                    }
                },
            }
        } else {
            stream.read(&mut buf).now_or_never()
        };
        match read {
            None => hand_over(std::mem::take(&mut batch), &mut inflight),
            Some(Ok(0)) => break,
            Some(Ok(n)) => {
                conn.touch();
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
    if !batch.is_empty() && !closed {
        hand_over(batch, &mut inflight);
    }
    while inflight.join_next().await.is_some() {}
}
