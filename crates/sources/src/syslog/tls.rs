//! Syslog over TLS (RFC 5425): rustls, certificate and key from PEM files, optional client
//! certificate authentication against a CA bundle.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;

use super::tcp::{accept_loop, read_stream, ListenerLimits};
use super::RawSink;
use tokio_util::sync::CancellationToken;

/// How long a client may take to complete the handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// TLS settings of the listener.
#[derive(Debug, Clone, PartialEq)]
pub struct TlsSettings {
    /// PEM certificate chain of the server.
    pub cert: PathBuf,
    /// PEM private key of the server.
    pub key: PathBuf,
    /// PEM CA bundle: when set, clients must present a certificate it signed.
    pub client_ca: Option<PathBuf>,
}

/// Why the TLS listener could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file could not be read or holds no usable PEM item.
    #[error("{what} {path}: {message}")]
    Pem {
        /// Which file.
        what: &'static str,
        /// Its path.
        path: PathBuf,
        /// What was wrong.
        message: String,
    },
    /// rustls refused the configuration.
    #[error("TLS configuration: {0}")]
    Config(String),
    /// Binding failed.
    #[error("binding {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The error.
        source: std::io::Error,
    },
}

fn pem_err(what: &'static str, path: &Path, message: impl ToString) -> TlsError {
    TlsError::Pem {
        what,
        path: path.to_path_buf(),
        message: message.to_string(),
    }
}

fn load_certs(what: &'static str, path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs: Vec<_> = CertificateDer::pem_file_iter(path)
        .map_err(|e| pem_err(what, path, e))?
        .collect::<Result<_, _>>()
        .map_err(|e| pem_err(what, path, e))?;
    if certs.is_empty() {
        return Err(pem_err(what, path, "no CERTIFICATE found"));
    }
    Ok(certs)
}

/// The rustls server configuration for `settings`.
pub fn server_config(settings: &TlsSettings) -> Result<rustls::ServerConfig, TlsError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let certs = load_certs("tls certificate", &settings.cert)?;
    let key = PrivateKeyDer::from_pem_file(&settings.key)
        .map_err(|e| pem_err("tls key", &settings.key, e))?;
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Config(e.to_string()))?;
    let builder = match &settings.client_ca {
        None => builder.with_no_client_auth(),
        Some(ca) => {
            let mut roots = rustls::RootCertStore::empty();
            for c in load_certs("tls client CA", ca)? {
                roots.add(c).map_err(|e| pem_err("tls client CA", ca, e))?;
            }
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots),
                provider,
            )
            .build()
            .map_err(|e| TlsError::Config(e.to_string()))?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    builder
        .with_single_cert(certs, key)
        .map_err(|e| TlsError::Config(e.to_string()))
}

/// A bound TLS syslog listener.
pub struct TlsListener {
    listener: tokio::net::TcpListener,
    acceptor: TlsAcceptor,
    max_message_bytes: usize,
    limits: ListenerLimits,
}

impl TlsListener {
    /// Loads the certificates and binds `addr`.
    pub async fn bind(
        addr: SocketAddr,
        settings: &TlsSettings,
        max_message_bytes: usize,
        limits: ListenerLimits,
    ) -> Result<Self, TlsError> {
        let config = server_config(settings)?;
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| TlsError::Bind { addr, source })?;
        Ok(TlsListener {
            listener,
            acceptor: TlsAcceptor::from(Arc::new(config)),
            max_message_bytes,
            limits,
        })
    }

    /// The bound address.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Accepts connections until `stop` (then closes them, as the TCP listener does). A failed
    /// handshake closes only that connection (counted as `tls_handshake`).
    pub async fn run(self, sink: Arc<dyn RawSink>, stop: CancellationToken) {
        let max = self.max_message_bytes;
        let acceptor = self.acceptor.clone();
        accept_loop(
            &self.listener,
            "syslog_tls",
            sink,
            self.limits,
            stop,
            move |stream, peer, conn| {
                let acceptor = acceptor.clone();
                async move {
                    let sink = conn.sink.clone();
                    let handshake =
                        tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream));
                    // A stop (or the connection limit making room) does not wait for it.
                    let handshake = tokio::select! {
                        _ = conn.stop.cancelled() => return,
                        h = handshake => h,
                    };
                    match handshake {
                        Ok(Ok(tls)) => read_stream(tls, peer.ip(), "syslog_tls", max, conn).await,
                        Ok(Err(e)) => {
                            tracing::info!(%peer, error = %e, "syslog tls: handshake failed");
                            sink.connection_problem("syslog_tls", "tls_handshake");
                        }
                        Err(_) => {
                            tracing::info!(%peer, "syslog tls: handshake timed out");
                            sink.connection_problem("syslog_tls", "tls_handshake_timeout");
                        }
                    }
                }
            },
        )
        .await
    }
}
