//! Syslog listeners end to end: real clients (util-linux `logger`, syslog-ng, a rustls client)
//! send to the real server; every event is then found through the search API.

mod common;

use std::io::Write;
use std::net::{TcpStream, UdpSocket};
use std::process::Command;
use std::sync::Arc;

use common::{tls_client, tls_connect, Pki, Server};
use serde_json::Value;

/// A token unique to this test run, to find exactly the events a test sent.
fn token(name: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("{name}{nanos}")
}

fn hit(s: &Server, q: &str) -> Value {
    assert_eq!(s.wait_total(q, 1), 1, "one event for {q}");
    let (_, r) = s.search_with(q, &[]);
    r["hits"][0].clone()
}

fn logger(s: &Server, args: &[&str], msg: &str) {
    let proto = if args.contains(&"--udp") {
        "udp"
    } else {
        "tcp"
    };
    let addr = s.syslog_addr(proto);
    let status = Command::new("logger")
        .args(["--server", "127.0.0.1", "--port", &addr.port().to_string()])
        .args(args)
        .arg(msg)
        .status()
        .expect("run logger (util-linux)");
    assert!(status.success(), "logger {args:?} failed");
}

#[test]
fn logger_rfc3164_udp() {
    let s = Server::start(&[]);
    let t = token("bsdudp");
    logger(
        &s,
        &[
            "--udp",
            "--rfc3164",
            "-t",
            "myapp",
            "--id=4242",
            "-p",
            "auth.warning",
        ],
        &format!("Failed password for root from 203.0.113.7 port 22 ssh2 {t}"),
    );
    let h = hit(&s, &format!("summary:{t}"));
    assert_eq!(h["processname"], "myapp", "{h}");
    assert_eq!(h["processid"], "4242");
    assert_eq!(h["severity"], "WARNING");
    assert_eq!(h["source"], "syslog");
    assert_eq!(h["details"]["facility"], "auth");
    assert_eq!(h["details"]["syslogprotocol"], "rfc3164");
    assert_eq!(h["details"]["peer"], "127.0.0.1");
    assert!(h["hostname"].as_str().is_some_and(|x| !x.is_empty()), "{h}");
    assert!(h["tags"]
        .as_array()
        .unwrap()
        .contains(&Value::from("syslog")));
}

#[test]
fn logger_rfc5424_udp_and_tcp_octet_counted() {
    let s = Server::start(&[]);
    let t1 = token("r5424udp");
    logger(
        &s,
        &[
            "--udp",
            "--rfc5424",
            "-t",
            "payments",
            "--msgid",
            "ID47",
            "-p",
            "local4.err",
            "--sd-id",
            "order@32473",
            "--sd-param",
            "amount=\"12\"",
        ],
        &format!("payment refused {t1}"),
    );
    let h = hit(&s, &format!("summary:{t1}"));
    assert_eq!(h["processname"], "payments", "{h}");
    assert_eq!(h["severity"], "ERROR");
    assert_eq!(h["details"]["facility"], "local4");
    assert_eq!(h["details"]["msgid"], "ID47");
    assert_eq!(h["details"]["syslogprotocol"], "rfc5424");
    assert_eq!(h["details"]["sd"]["order@32473"]["amount"], "12", "{h}");
    // logger adds timeQuality itself.
    assert!(h["details"]["sd"]["timeQuality"].is_object(), "{h}");

    let t2 = token("octet");
    logger(
        &s,
        &[
            "--tcp",
            "--rfc5424",
            "--octet-count",
            "-t",
            "tcpapp",
            "-p",
            "daemon.info",
        ],
        &format!("octet counted {t2}"),
    );
    let h = hit(&s, &format!("summary:{t2}"));
    assert_eq!(h["processname"], "tcpapp");
    assert_eq!(h["severity"], "INFO");
    let t3 = token("newline");
    logger(
        &s,
        &["--tcp", "--rfc3164", "-t", "nlapp", "-p", "user.notice"],
        &format!("newline framed {t3}"),
    );
    let h = hit(&s, &format!("summary:{t3}"));
    assert_eq!(h["processname"], "nlapp");
    assert_eq!(h["severity"], "NOTICE");
}

#[test]
fn sshd_lines_over_syslog_are_parsed() {
    let s = Server::start(&[]);
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    let line = "<38>Nov 22 10:15:01 bastion1 sshd[24187]: Failed password for invalid user admin from 203.0.113.7 port 52144 ssh2";
    sock.send_to(line.as_bytes(), s.syslog_addr("udp")).unwrap();
    let h = hit(&s, "hostname:bastion1");
    assert_eq!(h["category"], "authentication", "{h}");
    assert_eq!(h["details"]["sourceipaddress"], "203.0.113.7");
    assert_eq!(h["details"]["username"], "admin");
    assert_eq!(h["details"]["success"], false);
    assert_eq!(h["processid"], "24187");
}

#[test]
fn bad_input_is_kept_tagged_and_does_not_disturb_other_connections() {
    let s = Server::start(&["--max-message-bytes", "1024"]);
    let addr = s.syslog_addr("tcp");
    let t = token("good");
    // A client sending garbage, an oversized line and invalid UTF-8...
    let mut bad = TcpStream::connect(addr).unwrap();
    bad.write_all(b"\x00\x01\x02garbage-without-structure\n")
        .unwrap();
    let mut long = format!("<13>Nov 22 10:00:00 h app: big{t} ").into_bytes();
    long.extend(std::iter::repeat_n(b'x', 5000));
    long.push(b'\n');
    bad.write_all(&long).unwrap();
    bad.write_all(format!("<13>Nov 22 10:00:00 h app: caf\u{e9}{t}").as_bytes())
        .unwrap();
    bad.write_all(b"\xe9 latin1\n").unwrap();
    // ...while a well-behaved client on another connection goes on.
    let mut good = TcpStream::connect(addr).unwrap();
    for i in 0..50 {
        writeln!(good, "<14>Nov 22 10:00:00 web1 app[1]: request {i} {t}").unwrap();
    }
    drop(good);
    drop(bad);
    assert_eq!(
        s.wait_total(&format!("summary:{t} AND hostname:web1"), 50),
        50
    );

    let h = hit(&s, &format!("summary:big{t}"));
    let tags = h["tags"].as_array().unwrap();
    assert!(tags.contains(&Value::from("truncated")), "{h}");
    assert!(h["summary"].as_str().unwrap().len() < 1024);

    let h = hit(&s, "tags:unparsed");
    assert!(
        h["summary"]
            .as_str()
            .unwrap()
            .contains("garbage-without-structure"),
        "{h}"
    );

    let h = hit(&s, "tags:invalid_utf8");
    assert!(h["summary"].as_str().unwrap().contains('\u{fffd}'), "{h}");

    assert_eq!(
        s.metric("ferrodef_events_flagged_total{source=\"syslog_tcp\",reason=\"truncated\"}"),
        1
    );
    assert_eq!(
        s.metric("ferrodef_events_flagged_total{source=\"syslog_tcp\",reason=\"unparsed\"}"),
        1
    );
    assert_eq!(
        s.metric("ferrodef_events_flagged_total{source=\"syslog_tcp\",reason=\"invalid_utf8\"}"),
        1
    );
}

#[test]
fn http_syslog_and_raw_cef_lines() {
    let s = Server::start(&[]);
    let t = token("httpsys");
    let body = format!(
        "<13>Nov 22 10:00:00 hostA appA[7]: first {t}\n\n<13>1 2026-11-22T10:00:00Z hostB appB - - - second {t}\nno header at all {t}\n"
    );
    let (status, v) = s.post("/syslog", "text/plain", body);
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["accepted"], 3, "{v}");
    assert_eq!(s.wait_total(&format!("summary:{t}"), 3), 3);
    assert_eq!(
        hit(&s, &format!("summary:{t} AND processname:appA"))["hostname"],
        "hostA"
    );
    assert_eq!(
        hit(&s, &format!("summary:{t} AND tags:unparsed"))["summary"],
        format!("no header at all {t}")
    );
}

// ---- TLS ----

/// Sends lines over TLS; Err when the handshake or the write fails.
fn send_tls(
    addr: std::net::SocketAddr,
    cfg: Arc<rustls::ClientConfig>,
    lines: &[String],
) -> std::io::Result<()> {
    let mut tls = tls_connect(addr, cfg, std::time::Duration::from_secs(30))?;
    for l in lines {
        tls.write_all(l.as_bytes())?;
        tls.write_all(b"\n")?;
    }
    tls.flush()?;
    // Read until the server closes or a TLS alert arrives: surfaces a refused certificate.
    tls.conn.send_close_notify();
    tls.flush()?;
    let mut buf = [0u8; 64];
    match std::io::Read::read(&mut tls, &mut buf) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(()),
        Err(e) => Err(e),
    }
}

#[test]
fn tls_listener_with_and_without_client_certificates() {
    let pki = Pki::new();
    let (cert, key) = pki.issue("server", false);
    let s = Server::start(&[
        "--syslog-tls",
        "127.0.0.1:0",
        "--tls-cert",
        &cert,
        "--tls-key",
        &key,
    ]);
    let addr = s.syslog_addr("tls");

    // A plaintext client on the TLS port fails its handshake alone...
    let mut plain = TcpStream::connect(addr).unwrap();
    plain
        .write_all(b"<13>Nov 22 10:00:00 h app: not encrypted\n")
        .unwrap();
    drop(plain);
    // ...a TLS client is served.
    let t = token("tls");
    let lines: Vec<String> = (0..20)
        .map(|i| format!("<14>1 2026-11-22T10:00:00Z tlshost app 1 - - event {i} {t}"))
        .collect();
    send_tls(addr, tls_client(&pki, None), &lines).expect("TLS send");
    assert_eq!(s.wait_total(&format!("summary:{t}"), 20), 20);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while s.metric(
        "ferrodef_connection_problems_total{source=\"syslog_tls\",reason=\"tls_handshake\"}",
    ) != 1
    {
        assert!(
            std::time::Instant::now() < deadline,
            "handshake failure not counted"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    drop(s);

    // Client certificates required.
    let s = Server::start(&[
        "--syslog-tls",
        "127.0.0.1:0",
        "--tls-cert",
        &cert,
        "--tls-key",
        &key,
        "--tls-client-ca",
        &pki.path("ca.pem"),
    ]);
    let addr = s.syslog_addr("tls");
    let t = token("mtls");
    let refused = send_tls(
        addr,
        tls_client(&pki, None),
        &[format!("<14>1 - h a - - - anon {t}")],
    );
    assert!(
        refused.is_err(),
        "a client without certificate must be refused"
    );
    let (cc, ck) = pki.issue("client", true);
    send_tls(
        addr,
        tls_client(&pki, Some((&cc, &ck))),
        &[format!("<14>1 - h a - - - mutual {t}")],
    )
    .expect("client with certificate");
    assert_eq!(s.wait_total(&format!("summary:{t}"), 1), 1);
    assert_eq!(
        hit(&s, &format!("summary:{t}"))["summary"],
        format!("mutual {t}")
    );
}

#[test]
fn tls_needs_both_cert_and_key() {
    let out = Command::new(common::bin())
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--syslog-udp",
            "off",
            "--syslog-tcp",
            "off",
            "--tls-cert",
            "/nonexistent.pem",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("tls_cert and tls_key"), "{err}");
}

#[test]
fn cef_over_http_and_udp_is_parsed() {
    let s = Server::start(&[]);
    let t = token("cef");
    // Raw CEF lines on /cef (one with a syslog header), as the logging recommendations send.
    let ev = cef::Event::new("AuthFail", format!("Authentication failure {t}"), 8)
        .user("tarek")
        .source_ip("203.0.113.9")
        .request("POST", "/login");
    let config = cef::CefConfig::default();
    let body = format!(
        "{}\n{}\n",
        ev.format_cef_only(&config),
        ev.format(&config, "Nov 22 10:15:07", "auth-1").line
    );
    let (status, v) = s.post("/cef", "text/plain", body);
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["accepted"], 2);
    assert_eq!(s.wait_total(&format!("summary:{t} AND category:cef"), 2), 2);
    let h = hit(&s, &format!("summary:{t} AND hostname:auth-1"));
    assert_eq!(h["severity"], "ERROR", "{h}");
    assert_eq!(h["details"]["sourceipaddress"], "203.0.113.9");
    assert_eq!(h["details"]["username"], "tarek");
    assert_eq!(h["details"]["requestMethod"], "POST");
    // CIDR search works on the mapped address.
    assert_eq!(
        s.total(&format!(
            "summary:{t} AND details.sourceipaddress:203.0.113.0/24"
        )),
        2
    );

    // The library's own sender, over UDP to the syslog listener.
    let sender = cef::SyslogSender::new(
        cef::Transport::Udp(s.syslog_addr("udp").to_string()),
        config,
        "accounts",
    );
    let t2 = token("cefudp");
    sender
        .send(&cef::Event::new("AccountLockout", format!("Account locked {t2}"), 9).user("bob"))
        .unwrap();
    let h = hit(&s, &format!("summary:{t2}"));
    assert_eq!(h["severity"], "CRITICAL", "{h}");
    assert_eq!(h["details"]["facility"], "local4");
    assert_eq!(h["details"]["cef"]["signature"], "AccountLockout");
}

/// A relay as deployed in fleets: hosts log to a local syslog-ng, which forwards to ferrodef
/// both as RFC 5424 with octet counting (`syslog()` driver) and as BSD lines (`network()`).
#[test]
fn syslog_ng_forwards_to_ferrodef() {
    let s = Server::start(&[]);
    let tcp = s.syslog_addr("tcp");
    let dir = tempfile::tempdir().unwrap();
    let in_port = UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let conf = format!(
        r#"@version: 3.38
options {{ keep_hostname(yes); chain_hostnames(no); stats_freq(0); }};
source s_in {{ network(transport("udp") ip("127.0.0.1") port({in_port})); }};
destination d_5424 {{ syslog("127.0.0.1" transport("tcp") port({p}) persist-name("d5424")); }};
destination d_bsd {{ network("127.0.0.1" transport("tcp") port({p}) persist-name("dbsd")); }};
log {{ source(s_in); filter {{ program("relay5424"); }}; destination(d_5424); }};
log {{ source(s_in); filter {{ program("relaybsd"); }}; destination(d_bsd); }};
"#,
        p = tcp.port()
    );
    let conf_path = dir.path().join("syslog-ng.conf");
    std::fs::write(&conf_path, conf).unwrap();
    let d = |f: &str| dir.path().join(f).display().to_string();
    let mut sng = Command::new("syslog-ng")
        .args(["-F", "--no-caps", "-f"])
        .arg(&conf_path)
        .arg(format!("--persist-file={}", d("persist")))
        .arg(format!("--pidfile={}", d("pid")))
        .arg(format!("--control={}", d("ctl")))
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("syslog-ng must be installed (scripts/test installs syslog-ng-core)");
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !dir.path().join("pid").exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "syslog-ng did not start"
        );
        if let Ok(Some(status)) = sng.try_wait() {
            panic!("syslog-ng exited: {status}");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let _guard = Kill(sng);
    let t = token("relay");
    let out = UdpSocket::bind("127.0.0.1:0").unwrap();
    // Resend until seen: syslog-ng may still be opening its destinations.
    let mut seen = (0, 0);
    for _ in 0..50 {
        for (app, pid) in [("relay5424", 11), ("relaybsd", 22)] {
            let line = format!("<85>Nov 22 10:00:00 origin-host {app}[{pid}]: forwarded {t}");
            out.send_to(line.as_bytes(), ("127.0.0.1", in_port))
                .unwrap();
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
        seen = (
            s.total(&format!("summary:{t} AND processname:relay5424")),
            s.total(&format!("summary:{t} AND processname:relaybsd")),
        );
        if seen.0 > 0 && seen.1 > 0 {
            break;
        }
    }
    assert!(seen.0 > 0 && seen.1 > 0, "relayed events found: {seen:?}");
    let (_, r) = s.search_with(
        &format!("summary:{t} AND processname:relay5424 AND details.syslogprotocol:rfc5424"),
        &[],
    );
    let h = &r["hits"][0];
    assert_eq!(h["hostname"], "origin-host", "{h}");
    assert_eq!(h["processid"], "11");
    assert_eq!(h["details"]["facility"], "authpriv");
    assert_eq!(h["severity"], "NOTICE");
    let (_, r) = s.search_with(&format!("summary:{t} AND processname:relaybsd"), &[]);
    let h = &r["hits"][0];
    assert_eq!(h["hostname"], "origin-host", "{h}");
    assert_eq!(h["details"]["syslogprotocol"], "rfc3164");
}

/// RFC 3164 dates carry no zone: they are read in `default_timezone`.
#[test]
fn bsd_dates_use_the_configured_time_zone() {
    let s = Server::start(&[
        "--default-timezone",
        "Europe/Paris",
        "--retention-days",
        "3650",
    ]);
    let t = token("tz");
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    let line = format!("<13>Jan 15 12:00:00 parishost app: winter time {t}");
    sock.send_to(line.as_bytes(), s.syslog_addr("udp")).unwrap();
    let h = hit(&s, &format!("summary:{t}"));
    let utc = h["utctimestamp"].as_str().unwrap();
    assert!(
        utc.contains("-01-15T11:00:00"),
        "12:00 CET is 11:00 UTC: {h}"
    );
}
