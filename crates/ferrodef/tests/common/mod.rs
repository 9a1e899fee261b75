//! Starts the real `ferrodef serve` binary on a free loopback port with its own data directory.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

pub struct Server {
    pub url: String,
    /// Syslog listeners: ("udp" | "tcp" | "tls", address).
    pub syslog: Vec<(String, std::net::SocketAddr)>,
    pub child: Option<Child>,
    pub data_dir: PathBuf,
    _tmp: Option<tempfile::TempDir>,
}

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_ferrodef")
}

/// The password of the `admin` user the test servers create at first start. Reads need
/// credentials: the helpers below send it (HTTP Basic); ingest on loopback needs none.
pub const ADMIN_PASSWORD: &str = "test-admin-password";

/// `ferrodef` with the admin's credentials in the environment (for `search --server`,
/// `ingest --server`).
pub fn cli() -> Command {
    let mut c = Command::new(bin());
    c.env("FERRODEF_USER", "admin")
        .env("FERRODEF_PASSWORD", ADMIN_PASSWORD);
    c
}

impl Server {
    /// A server on a new temporary data directory.
    pub fn start(extra: &[&str]) -> Server {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().to_path_buf();
        let mut s = Server::start_in(&dir, extra);
        s._tmp = Some(tmp);
        s
    }

    /// A server on an existing data directory (restarts).
    pub fn start_in(dir: &Path, extra: &[&str]) -> Server {
        // Syslog on free ports unless the test chose.
        let mut defaults = Vec::new();
        for flag in ["--syslog-udp", "--syslog-tcp"] {
            if !extra.contains(&flag) {
                defaults.extend([flag, "127.0.0.1:0"]);
            }
        }
        let mut child = Command::new(bin())
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(dir)
            .args(&defaults)
            .args(extra)
            .env("FERRODEF_LOG", "warn")
            .env("FERRODEF_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn ferrodef serve");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let mut url = None;
        let mut syslog = Vec::new();
        for line in lines.by_ref() {
            let line = line.expect("read stdout");
            if let Some(rest) = line.strip_prefix("ferrodef syslog ") {
                if let Some((proto, addr)) = rest.split_once(" on ") {
                    syslog.push((
                        proto.to_string(),
                        addr.trim().parse().expect("syslog address"),
                    ));
                }
            }
            if let Some(u) = line.strip_prefix("ferrodef listening on ") {
                url = Some(u.trim().to_string());
                break;
            }
        }
        std::thread::spawn(move || for _ in lines {});
        let url = url.expect("server did not start (see stderr)");
        Server {
            url,
            syslog,
            child: Some(child),
            data_dir: dir.to_path_buf(),
            _tmp: None,
        }
    }

    /// The address of the syslog listener `proto` ("udp", "tcp", "tls").
    pub fn syslog_addr(&self, proto: &str) -> std::net::SocketAddr {
        self.syslog
            .iter()
            .find(|(p, _)| p == proto)
            .map(|(_, a)| *a)
            .unwrap_or_else(|| panic!("no syslog {proto} listener"))
    }

    pub fn client() -> reqwest::blocking::Client {
        reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .expect("client")
    }

    /// POSTs a body; returns (status, JSON answer).
    pub fn post(
        &self,
        path: &str,
        content_type: &str,
        body: impl Into<reqwest::blocking::Body>,
    ) -> (u16, Value) {
        let resp = Server::client()
            .post(format!("{}{}", self.url, path))
            .header("content-type", content_type)
            .body(body)
            .send()
            .expect("POST");
        let status = resp.status().as_u16();
        let text = resp.text().expect("body");
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// POSTs JSON as the admin (HTTP Basic), for the endpoints that change things.
    pub fn post_json_as_admin(&self, path: &str, body: &Value) -> (u16, Value) {
        let resp = Server::client()
            .post(format!("{}{}", self.url, path))
            .basic_auth("admin", Some(ADMIN_PASSWORD))
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .expect("POST");
        let status = resp.status().as_u16();
        let text = resp.text().expect("body");
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    pub fn post_json(&self, path: &str, body: &Value) -> (u16, Value) {
        self.post(path, "application/json", body.to_string())
    }

    pub fn get(&self, path_and_query: &str) -> (u16, Value) {
        let resp = Server::client()
            .get(format!("{}{}", self.url, path_and_query))
            .basic_auth("admin", Some(ADMIN_PASSWORD))
            .send()
            .expect("GET");
        let status = resp.status().as_u16();
        let text = resp.text().expect("body");
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    pub fn get_text(&self, path: &str) -> (u16, String) {
        let resp = Server::client()
            .get(format!("{}{}", self.url, path))
            .basic_auth("admin", Some(ADMIN_PASSWORD))
            .send()
            .expect("GET");
        (resp.status().as_u16(), resp.text().expect("body"))
    }

    /// Runs a search with extra parameters.
    pub fn search_with(&self, q: &str, extra: &[(&str, &str)]) -> (u16, Value) {
        let mut params = vec![("q", q)];
        params.extend_from_slice(extra);
        let resp = Server::client()
            .get(format!("{}/api/search", self.url))
            .basic_auth("admin", Some(ADMIN_PASSWORD))
            .query(&params)
            .send()
            .expect("search");
        let status = resp.status().as_u16();
        (status, resp.json().expect("json"))
    }

    pub fn total(&self, q: &str) -> u64 {
        let (status, v) = self.search_with(q, &[("size", "0")]);
        assert_eq!(status, 200, "search {q}: {v}");
        v["total"].as_u64().expect("total")
    }

    /// Waits (up to 10 s) until `q` matches `n` events; returns the last count.
    pub fn wait_total(&self, q: &str, n: u64) -> u64 {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let t = self.total(q);
            if t == n || Instant::now() > deadline {
                return t;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The value of the `/metrics` line starting with `needle` (name and labels), 0 when absent.
    pub fn metric(&self, needle: &str) -> u64 {
        let (_, text) = self.get_text("/metrics");
        text.lines()
            .find(|l| l.starts_with(needle))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse::<f64>().ok())
            .map_or(0, |v| v as u64)
    }

    /// SIGKILL: no chance to flush anything.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill().expect("kill -9");
            c.wait().expect("wait");
        }
    }

    /// SIGTERM and wait for a clean exit.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(c.id().to_string())
                .status();
            let status = c.wait().expect("wait");
            assert!(status.success(), "server exited with {status}");
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// A test certificate authority in a temporary directory (`ca.pem`), issuing server and client
/// certificates.
pub struct Pki {
    dir: tempfile::TempDir,
    ca: rcgen::Certificate,
    ca_key: rcgen::KeyPair,
}

impl Pki {
    pub fn new() -> Pki {
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut p = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        p.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        p.distinguished_name
            .push(rcgen::DnType::CommonName, "ferrodef test CA");
        let ca = p.self_signed(&ca_key).unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("ca.pem"), ca.pem()).unwrap();
        Pki { dir, ca, ca_key }
    }

    /// Issues a certificate for `localhost` (client or server use); returns the paths of its PEM
    /// certificate and key.
    pub fn issue(&self, name: &str, client: bool) -> (String, String) {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut p = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap();
        p.distinguished_name.push(rcgen::DnType::CommonName, name);
        p.extended_key_usages = vec![if client {
            rcgen::ExtendedKeyUsagePurpose::ClientAuth
        } else {
            rcgen::ExtendedKeyUsagePurpose::ServerAuth
        }];
        let cert = p.signed_by(&key, &self.ca, &self.ca_key).unwrap();
        let (c, k) = (
            self.dir.path().join(format!("{name}.pem")),
            self.dir.path().join(format!("{name}.key")),
        );
        std::fs::write(&c, cert.pem()).unwrap();
        std::fs::write(&k, key.serialize_pem()).unwrap();
        (c.display().to_string(), k.display().to_string())
    }

    /// The path of a file of the directory.
    pub fn path(&self, f: &str) -> String {
        self.dir.path().join(f).display().to_string()
    }
}

/// A TLS client trusting `pki`'s CA, with a client certificate (PEM paths) when given.
pub fn tls_client(pki: &Pki, client_cert: Option<(&str, &str)>) -> Arc<rustls::ClientConfig> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_file_iter(pki.path("ca.pem")).unwrap() {
        roots.add(c.unwrap()).unwrap();
    }
    let b = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
    Arc::new(match client_cert {
        None => b.with_no_client_auth(),
        Some((c, k)) => b
            .with_client_auth_cert(
                CertificateDer::pem_file_iter(c)
                    .unwrap()
                    .map(Result::unwrap)
                    .collect(),
                PrivateKeyDer::from_pem_file(k).unwrap(),
            )
            .unwrap(),
    })
}

/// A TLS connection to the server `localhost` at `addr`, handshake done, reads timing out after
/// `read_timeout`.
pub fn tls_connect(
    addr: std::net::SocketAddr,
    cfg: Arc<rustls::ClientConfig>,
    read_timeout: Duration,
) -> std::io::Result<rustls::StreamOwned<rustls::ClientConnection, std::net::TcpStream>> {
    let name =
        rustls::pki_types::ServerName::try_from("localhost").map_err(std::io::Error::other)?;
    let mut conn = rustls::ClientConnection::new(cfg, name).map_err(std::io::Error::other)?;
    let mut tcp = std::net::TcpStream::connect(addr)?;
    tcp.set_read_timeout(Some(read_timeout))?;
    while conn.is_handshaking() {
        conn.complete_io(&mut tcp)?;
    }
    Ok(rustls::StreamOwned::new(conn, tcp))
}
