//! The HTTP server loop (HTTP/1.1, hyper): bounded connections, timeouts for slow and idle
//! clients, and a graceful stop that is bounded in time.
//!
//! - At most `max_connections` connections; beyond, a new connection gets a `503` with
//!   `Retry-After` and is closed (counted as `too_many_connections`).
//! - A request's headers must arrive within `header_timeout` of the connection opening (hyper's
//!   header read timeout: slowloris); its body within the API's `body_timeout`.
//! - A connection with no traffic for `idle_timeout` is closed once it has no request in
//!   progress (keep-alive connections do not hold a slot forever).
//! - On stop, the listener closes, each connection finishes its request in progress and
//!   closes; connections still open after `grace` are dropped.
//! - With TLS (rustls), the handshake happens in the connection's task, holding its slot, and
//!   must finish within `header_timeout`.
//! - Each request carries a [`ConnInfo`] extension: the client's and the server's address and
//!   whether the connection is TLS (security events and cookies use them).

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt as _;

/// The connection a request came on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnInfo {
    /// The client's address.
    pub peer: SocketAddr,
    /// The server's address the client connected to.
    pub local: SocketAddr,
    /// Whether the connection is TLS.
    pub tls: bool,
}

/// Limits of the HTTP server.
#[derive(Debug, Clone, Copy)]
pub struct ServerLimits {
    /// Most simultaneous connections.
    pub max_connections: usize,
    /// Time for a request's headers to arrive.
    pub header_timeout: Duration,
    /// A connection without traffic this long is closed (between requests).
    pub idle_timeout: Duration,
    /// How long a stop waits for requests in progress.
    pub grace: Duration,
}

impl Default for ServerLimits {
    fn default() -> Self {
        ServerLimits {
            max_connections: 1024,
            header_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(120),
            grace: Duration::from_secs(8),
        }
    }
}

/// A stream that records when it last carried data.
struct Tracked<S> {
    inner: S,
    last: Arc<AtomicU64>,
    epoch: Instant,
}

impl<S> Tracked<S> {
    fn touch(&self) {
        self.last
            .store(self.epoch.elapsed().as_millis() as u64, Ordering::Relaxed);
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Tracked<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.touch();
        }
        r
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Tracked<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, data);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.touch();
        }
        r
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

const BUSY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\nretry-after: 1\r\nconnection: close\r\ncontent-length: 69\r\n\r\n{\"error\":\"ferrodef has too many open connections; retry in a moment\"}";

/// Serves `app` on `listener` until `stop` is cancelled, then stops gracefully (see the module
/// documentation). `refused` is called for each connection refused at the limit.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    limits: ServerLimits,
    stop: CancellationToken,
    refused: impl Fn() + Send + Sync + 'static,
) {
    serve_tls(listener, app, limits, None, stop, refused).await
}

/// [`serve`], over TLS when `tls` is given.
pub async fn serve_tls(
    listener: tokio::net::TcpListener,
    app: Router,
    limits: ServerLimits,
    tls: Option<Arc<tokio_rustls::rustls::ServerConfig>>,
    stop: CancellationToken,
    refused: impl Fn() + Send + Sync + 'static,
) {
    let acceptor = tls.map(TlsAcceptor::from);
    let slots = Arc::new(tokio::sync::Semaphore::new(limits.max_connections.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    let epoch = Instant::now();
    let local = listener.local_addr().ok();
    loop {
        let accepted = tokio::select! {
            _ = stop.cancelled() => break,
            a = listener.accept() => a,
            Some(_) = tasks.join_next(), if !tasks.is_empty() => continue,
        };
        let (stream, peer) = match accepted {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "http: accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            refused();
            // Over TLS a plain-text answer would not be understood: just close.
            if acceptor.is_none() {
                tasks.spawn(async move {
                    let mut stream = stream;
                    let _ =
                        tokio::time::timeout(Duration::from_secs(2), stream.write_all(BUSY)).await;
                });
            }
            continue;
        };
        let _ = stream.set_nodelay(true);
        let info = ConnInfo {
            peer,
            local: stream.local_addr().ok().or(local).unwrap_or(peer),
            tls: acceptor.is_some(),
        };
        let last = Arc::new(AtomicU64::new(epoch.elapsed().as_millis() as u64));
        let tracked = Tracked {
            inner: stream,
            last: last.clone(),
            epoch,
        };
        let app = app.clone();
        let stop = stop.clone();
        let acceptor = acceptor.clone();
        tasks.spawn(async move {
            let conn = Conn {
                app,
                info,
                limits,
                stop,
                last,
                epoch,
            };
            match acceptor {
                None => conn.run(tracked).await,
                Some(acc) => {
                    match tokio::time::timeout(limits.header_timeout, acc.accept(tracked)).await {
                        Ok(Ok(tls)) => conn.run(tls).await,
                        Ok(Err(e)) => tracing::debug!(%peer, "http: TLS handshake failed: {e}"),
                        Err(_) => tracing::debug!(%peer, "http: TLS handshake timed out"),
                    }
                }
            }
            drop(slot);
        });
    }
    drop(listener);
    let drained = tokio::time::timeout(limits.grace, async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            open = tasks.len(),
            "http: connections still busy after the grace period are dropped"
        );
        tasks.shutdown().await;
    }
}

/// One connection being served.
struct Conn {
    app: Router,
    info: ConnInfo,
    limits: ServerLimits,
    stop: CancellationToken,
    last: Arc<AtomicU64>,
    epoch: Instant,
}

impl Conn {
    async fn run<S: AsyncRead + AsyncWrite + Unpin + Send + 'static>(self, stream: S) {
        let info = self.info;
        let app = self
            .app
            .map_request(move |mut r: axum::http::Request<hyper::body::Incoming>| {
                r.extensions_mut().insert(info);
                r
            });
        let service = TowerToHyperService::new(app);
        let conn = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(self.limits.header_timeout)
            .keep_alive(true)
            .serve_connection(TokioIo::new(stream), service);
        tokio::pin!(conn);
        let mut closing = false;
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tokio::select! {
                _ = conn.as_mut() => break,
                _ = self.stop.cancelled(), if !closing => {
                    conn.as_mut().graceful_shutdown();
                    closing = true;
                }
                _ = tick.tick(), if !closing => {
                    let idle = self.epoch.elapsed().as_millis() as u64
                        - self.last.load(Ordering::Relaxed);
                    if idle >= self.limits.idle_timeout.as_millis() as u64 {
                        conn.as_mut().graceful_shutdown();
                        closing = true;
                    }
                }
            }
        }
    }
}
