//! A `ferrodef serve` child process on loopback, for the `bench` tools that work on a data
//! directory: they then go through exactly the server's own code paths.
//!
//! The tools authenticate to it with a token of role analyst (read and ingest) made for the
//! run on the data directory (owner `source:ferrodef-local`) and revoked when the server stops.
//! On a temporary data directory the first admin gets a random password nobody needs.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use anyhow::{bail, Context};

/// A running child server; stopped cleanly (SIGTERM, all accepted events committed) on drop.
pub struct LocalServer {
    /// Its HTTP base URL.
    pub url: String,
    /// Its syslog listeners: ("udp" | "tcp" | "tls", address).
    pub syslog: Vec<(String, SocketAddr)>,
    /// The run's API token.
    pub token: String,
    token_id: String,
    dir: PathBuf,
    child: Child,
    _tmp: Option<tempfile::TempDir>,
}

impl LocalServer {
    /// The address of syslog listener `proto`.
    pub fn syslog_addr(&self, proto: &str) -> Option<SocketAddr> {
        self.syslog
            .iter()
            .find(|(p, _)| p == proto)
            .map(|(_, a)| *a)
    }

    /// An HTTP client authenticated with the run's token.
    pub fn client(&self) -> anyhow::Result<reqwest::Client> {
        crate::client_auth::ClientAuth::token(&self.token).client()
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Kills the server with SIGKILL (no chance to flush anything) and waits for it.
    pub fn kill9(mut self) -> anyhow::Result<()> {
        self.child.kill()?;
        self.child.wait()?;
        self.revoke();
        Ok(())
    }

    fn revoke(&mut self) {
        if self.token_id.is_empty() {
            return;
        }
        if let Ok(auth) = open_auth(&self.dir) {
            let _ = auth.revoke_token(
                &local_actor(),
                &self.token_id,
                &ferrodef_auth::RequestInfo::cli("local server stopped"),
            );
        }
        self.token_id.clear();
    }

    /// Stops the server and waits until it has committed everything.
    pub fn stop(mut self) -> anyhow::Result<()> {
        self.terminate()
    }

    fn terminate(&mut self) -> anyhow::Result<()> {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let status = self.child.wait()?;
        self.revoke();
        if !status.success() {
            bail!("the local server exited with {status}");
        }
        Ok(())
    }
}

impl Drop for LocalServer {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.terminate();
        }
    }
}

/// Starts `ferrodef serve` on `data_dir` (a temporary one when None) with HTTP and syslog
/// UDP/TCP on free loopback ports, plus `extra` flags.
pub fn spawn_server(data_dir: Option<PathBuf>, extra: &[&str]) -> anyhow::Result<LocalServer> {
    use std::io::BufRead;
    let (dir, tmp) = match data_dir {
        Some(d) => (d, None),
        None => {
            let t = tempfile::tempdir()?;
            (t.path().to_path_buf(), Some(t))
        }
    };
    let (token_id, token) = {
        let auth = open_auth(&dir)?;
        let (v, token) = auth.create_token(
            &local_actor(),
            ferrodef_auth::TokenOwner::Source("ferrodef-local".into()),
            ferrodef_auth::Role::Analyst,
            "ferrodef local tools (revoked when the run ends)",
            &ferrodef_auth::RequestInfo::cli("local server"),
        )?;
        (v.id, token)
    };
    let exe = std::env::current_exe()?;
    let mut cmd = Command::new(exe);
    if tmp.is_some() {
        cmd.env(
            "FERRODEF_ADMIN_PASSWORD",
            ferrodef_auth::secret::random_token(18),
        );
    }
    let mut child = cmd
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&dir)
        .args(
            ["--syslog-udp", "--syslog-tcp"]
                .iter()
                .filter(|f| !extra.contains(f))
                .flat_map(|f| [*f, "127.0.0.1:0"]),
        )
        .args(extra)
        .env(
            "FERRODEF_LOG",
            std::env::var("FERRODEF_LOG").unwrap_or_else(|_| "warn".into()),
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .context("starting ferrodef serve")?;
    let stdout = child.stdout.take().context("server stdout")?;
    let mut lines = std::io::BufReader::new(stdout).lines();
    let mut syslog = Vec::new();
    let mut server = LocalServer {
        url: String::new(),
        syslog: Vec::new(),
        token,
        token_id,
        dir: dir.clone(),
        child,
        _tmp: tmp,
    };
    for line in lines.by_ref() {
        let line = line?;
        if let Some((proto, addr)) = line
            .strip_prefix("ferrodef syslog ")
            .and_then(|r| r.split_once(" on "))
        {
            if let Ok(a) = addr.trim().parse() {
                syslog.push((proto.to_string(), a));
            }
        }
        if let Some(url) = line.strip_prefix("ferrodef listening on ") {
            std::thread::spawn(move || for _ in lines {});
            server.url = url.trim().to_string();
            server.syslog = syslog;
            return Ok(server);
        }
    }
    bail!(
        "the server on {} exited before listening (is another ferrodef using it?)",
        dir.display()
    )
}

pub(crate) fn local_actor() -> ferrodef_auth::Actor {
    ferrodef_auth::Actor {
        name: "ferrodef-local".into(),
        id: 0,
    }
}

/// The data directory's users and tokens, without recording security events (the run's own
/// token is no event worth an analyst's time).
pub(crate) fn open_auth(dir: &std::path::Path) -> anyhow::Result<ferrodef_auth::Auth> {
    crate::serve::private_files();
    ferrodef_auth::Auth::open(
        dir,
        ferrodef_auth::AuthSettings::default(),
        std::sync::Arc::new(ferrodef_auth::SystemClock),
        ferrodef_auth::SecurityLog::new(),
    )
    .with_context(|| format!("users and tokens of {}", dir.display()))
}
