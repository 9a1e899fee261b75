//! The email notifier against a real SMTP server (aiosmtpd, from Debian's
//! `python3-aiosmtpd`, started by the test on a loopback port), in plain SMTP and with
//! required STARTTLS.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{alert, config, require, wait_until};
use ferrodef_event::Severity;
use ferrodef_notify::{DeliveryStatus, Dispatcher, NotifyMetrics};

/// Debian's Python, where python3-aiosmtpd installs.
const PYTHON: &str = "/usr/bin/python3";

struct SmtpServer {
    child: Child,
    port: u16,
    out: PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl SmtpServer {
    /// Starts the server (with STARTTLS when given a certificate and key), or says why not.
    fn start(tls: Option<(&Path, &Path)>) -> Result<SmtpServer, String> {
        let check = Command::new(PYTHON)
            .args(["-c", "import aiosmtpd"])
            .output()
            .map_err(|e| format!("{PYTHON}: {e}"))?;
        if !check.status.success() {
            return Err(format!(
                "{PYTHON} cannot import aiosmtpd (apt-get install python3-aiosmtpd): {}",
                String::from_utf8_lossy(&check.stderr).trim()
            ));
        }
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let out = dir.path().join("mail.jsonl");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| e.to_string())?
            .port();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/smtp_server.py");
        let mut cmd = Command::new(PYTHON);
        cmd.arg(&script).arg(port.to_string()).arg(&out);
        if let Some((cert, key)) = tls {
            cmd.arg(cert).arg(key);
        }
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("starting {}: {e}", script.display()))?;
        let mut line = String::new();
        let stdout = child.stdout.take().ok_or("no stdout")?;
        BufReader::new(stdout)
            .read_line(&mut line)
            .map_err(|e| e.to_string())?;
        if line.trim() != "READY" {
            let _ = child.kill();
            return Err(format!("the SMTP server did not start (said {line:?})"));
        }
        Ok(SmtpServer {
            child,
            port,
            out,
            _dir: dir,
        })
    }

    fn messages(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(&self.out)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

/// A self-signed certificate for 127.0.0.1 and localhost, written as PEM files.
fn certificate(dir: &Path) -> (PathBuf, PathBuf) {
    let cert =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".into(), "localhost".into()]).unwrap();
    let (c, k) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&c, cert.cert.pem()).unwrap();
    std::fs::write(&k, cert.key_pair.serialize_pem()).unwrap();
    (c, k)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_smtp_with_templated_subject_and_body() {
    let server = SmtpServer::start(None);
    if !require(
        "SMTP server (aiosmtpd)",
        server.as_ref().map(drop).map_err(Clone::clone),
    ) {
        return;
    }
    let server = server.unwrap();
    let cfg = config(&format!(
        r#"
        console_url = "https://siem.example.com"
        [[notifiers]]
        name = "mail"
        [notifiers.email]
        host = "127.0.0.1"
        port = {}
        security = "none"
        from = "ferrodef <siem@example.com>"
        to = ["soc@example.com", "Oncall <oncall@example.com>"]
        subject = "[{{{{ severity }}}}] {{{{ category }}}}: {{{{ summary }}}}"
        "#,
        server.port
    ));
    let d = Dispatcher::start(cfg, NotifyMetrics::new()).unwrap();
    let mut a = alert(1, Severity::Error, "bruteforce", "bruteforce_ssh");
    a.summary = "10 ssh bruteforce attempts by 203.0.113.7\r\nBcc: evil@example.com".into();
    d.submit(&a);
    assert!(wait_until(Duration::from_secs(15), || server.messages().len() == 1).await);
    let m = &server.messages()[0];
    assert_eq!(m["mail_from"], "siem@example.com");
    assert_eq!(
        m["rcpt_tos"],
        serde_json::json!(["soc@example.com", "oncall@example.com"])
    );
    assert_eq!(m["tls"], false);
    let data = m["data"].as_str().unwrap().replace("\r\n", "\n");
    let (headers, body) = data.split_once("\n\n").expect("headers, blank line, body");
    // Unfold header lines (RFC 5322) and undo quoted-printable soft line breaks.
    let headers = headers.replace("\n ", " ");
    let body = body.replace("=\n", "");
    assert!(
        headers.contains("Subject: [ERROR] bruteforce: 10 ssh bruteforce attempts by 203.0.113.7  Bcc: evil@example.com\n"),
        "the subject is one line: {data}"
    );
    assert!(
        !headers.lines().any(|l| l.starts_with("Bcc:")),
        "no header injected: {data}"
    );
    assert!(headers.contains("Content-Type: text/plain"), "{data}");
    assert!(
        body.contains("Rule:     bruteforce_ssh (mozdef, AlertBruteforceSsh)"),
        "{data}"
    );
    assert!(
        body.contains(&format!(
            "Alert:    https://siem.example.com/alerts/{}",
            a.id
        )),
        "{data}"
    );
    assert!(
        wait_until(Duration::from_secs(5), || d.deliveries(&a.id)[0].status
            == DeliveryStatus::Delivered)
        .await
    );
    assert_eq!(d.metrics().counts("mail").sent, 1);
    d.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn starttls_required_and_verified() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = certificate(dir.path());
    let server = SmtpServer::start(Some((&cert, &key)));
    if !require(
        "SMTP server (aiosmtpd)",
        server.as_ref().map(drop).map_err(Clone::clone),
    ) {
        return;
    }
    let server = server.unwrap();
    let notifier = |name: &str, extra: &str| {
        format!(
            "[[notifiers]]\nname = \"{name}\"\nretry = {{ max_attempts = 1 }}\n[notifiers.email]\nhost = \"127.0.0.1\"\nport = {}\nsecurity = \"starttls\"\nfrom = \"siem@example.com\"\nto = [\"soc@example.com\"]\n{extra}\n",
            server.port
        )
    };
    let text = format!(
        "{}{}",
        notifier("trusted", &format!("ca_file = \"{}\"", cert.display())),
        notifier("untrusted", "")
    );
    let d = Dispatcher::start(config(&text), NotifyMetrics::new()).unwrap();
    let a = alert(2, Severity::Critical, "c", "r");
    d.submit(&a);
    assert!(
        wait_until(Duration::from_secs(15), || d
            .deliveries(&a.id)
            .iter()
            .all(|r| r.status.is_final()))
        .await
    );
    let recs = d.deliveries(&a.id);
    let trusted = recs.iter().find(|r| r.notifier == "trusted").unwrap();
    assert_eq!(trusted.status, DeliveryStatus::Delivered, "{trusted:?}");
    let untrusted = recs.iter().find(|r| r.notifier == "untrusted").unwrap();
    assert_eq!(
        untrusted.status,
        DeliveryStatus::Failed,
        "an unknown CA is refused"
    );
    assert!(
        untrusted
            .last_error
            .as_deref()
            .unwrap()
            .to_lowercase()
            .contains("certificate"),
        "{untrusted:?}"
    );
    let msgs = server.messages();
    assert_eq!(msgs.len(), 1);
    assert_eq!(msgs[0]["tls"], true, "the message went over STARTTLS");
    d.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_client_refused_by_a_server_requiring_starttls() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = certificate(dir.path());
    let server = SmtpServer::start(Some((&cert, &key)));
    if !require(
        "SMTP server (aiosmtpd)",
        server.as_ref().map(drop).map_err(Clone::clone),
    ) {
        return;
    }
    let server = server.unwrap();
    let cfg = config(&format!(
        "[[notifiers]]\nname = \"plain\"\nretry = {{ max_attempts = 3, initial_backoff = \"10ms\" }}\n[notifiers.email]\nhost = \"127.0.0.1\"\nport = {}\nsecurity = \"none\"\nfrom = \"siem@example.com\"\nto = [\"soc@example.com\"]\n",
        server.port
    ));
    let d = Dispatcher::start(cfg, NotifyMetrics::new()).unwrap();
    let a = alert(3, Severity::Critical, "c", "r");
    d.submit(&a);
    assert!(
        wait_until(Duration::from_secs(15), || d.deliveries(&a.id)[0]
            .status
            .is_final())
        .await
    );
    let r = &d.deliveries(&a.id)[0];
    assert_eq!(r.status, DeliveryStatus::Failed);
    // 530 "Must issue a STARTTLS command first" is permanent: one attempt.
    assert_eq!(r.attempts, 1, "{r:?}");
    assert!(r.last_error.as_deref().unwrap().contains("530"), "{r:?}");
    assert!(server.messages().is_empty());
    d.shutdown(Duration::from_secs(5)).await;
}
