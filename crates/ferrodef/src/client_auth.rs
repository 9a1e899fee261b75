//! Credentials of the commands that talk to a server (`search`, `ingest --server`, `bench`):
//! an API token (`--token`, `FERRODEF_TOKEN`), or a user and password for HTTP Basic
//! (`--user`/`FERRODEF_USER` with `FERRODEF_PASSWORD`, or asked for), and a CA certificate to
//! trust an HTTPS server whose certificate is not in the system store (`--ca-cert`).

use std::path::PathBuf;

use anyhow::Context;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use clap::Args;
use reqwest::header::{HeaderMap, HeaderValue, AUTHORIZATION};

/// Credential options.
#[derive(Debug, Args, Clone, Default)]
pub struct ClientAuth {
    /// API token, sent as `Authorization: Bearer` (FERRODEF_TOKEN)
    #[arg(long, env = "FERRODEF_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// User for HTTP Basic; the password comes from FERRODEF_PASSWORD or is asked for
    #[arg(long, env = "FERRODEF_USER")]
    pub user: Option<String>,
    /// PEM CA certificate to trust for an HTTPS server (FERRODEF_CA_CERT)
    #[arg(long, env = "FERRODEF_CA_CERT")]
    pub ca_cert: Option<PathBuf>,
}

impl ClientAuth {
    /// Credentials from a token.
    pub fn token(token: &str) -> ClientAuth {
        ClientAuth {
            token: Some(token.to_string()),
            ..ClientAuth::default()
        }
    }

    /// The `Authorization` header value, if any credentials are given.
    pub fn header(&self) -> anyhow::Result<Option<HeaderValue>> {
        let value = match (&self.token, &self.user) {
            (Some(t), _) => format!("Bearer {}", t.trim()),
            (None, Some(u)) => {
                let pw = match std::env::var("FERRODEF_PASSWORD") {
                    Ok(p) => p,
                    Err(_) => rpassword::prompt_password(format!("Password for {u}: "))
                        .context("reading the password")?,
                };
                format!("Basic {}", STANDARD.encode(format!("{u}:{pw}")))
            }
            (None, None) => return Ok(None),
        };
        let mut v = HeaderValue::from_str(&value)
            .context("the token or user name holds characters not allowed in a header")?;
        v.set_sensitive(true);
        Ok(Some(v))
    }

    /// A client sending these credentials with every request.
    pub fn client(&self) -> anyhow::Result<reqwest::Client> {
        self.builder()?.build().context("building the HTTP client")
    }

    /// A client builder sending these credentials with every request.
    pub fn builder(&self) -> anyhow::Result<reqwest::ClientBuilder> {
        let mut headers = HeaderMap::new();
        if let Some(v) = self.header()? {
            headers.insert(AUTHORIZATION, v);
        }
        let mut b = reqwest::Client::builder().default_headers(headers);
        if let Some(ca) = &self.ca_cert {
            let pem = std::fs::read(ca).with_context(|| format!("reading {}", ca.display()))?;
            let cert = reqwest::Certificate::from_pem(&pem)
                .with_context(|| format!("{} is not a PEM certificate", ca.display()))?;
            b = b.add_root_certificate(cert);
        }
        Ok(b)
    }
}

/// Explains a 401 or 403 answer: what credentials to give.
pub fn explain_refusal(status: reqwest::StatusCode) -> Option<&'static str> {
    match status.as_u16() {
        401 => Some(
            "the server needs credentials: --token (FERRODEF_TOKEN) or --user with FERRODEF_PASSWORD",
        ),
        403 => Some("the credentials given do not allow this (see the role of the user or token)"),
        _ => None,
    }
}
