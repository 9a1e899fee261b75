//! A `ferrodef serve` child process on loopback, for commands that work on a data directory
//! (`ingest --data-dir`, `bench`): they then go through exactly the server's own code paths.

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

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Kills the server with SIGKILL (no chance to flush anything) and waits for it.
    pub fn kill9(mut self) -> anyhow::Result<()> {
        self.child.kill()?;
        self.child.wait()?;
        Ok(())
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
    let exe = std::env::current_exe()?;
    let mut child = Command::new(exe)
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
