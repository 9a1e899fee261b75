//! The real server under faults, hostile input and careless clients: a bounded stop with
//! clients connected, many days in one request, huge bodies, slow and idle clients, connection
//! limits, overload, a full disk.

mod common;

use std::io::{Read, Write};
use std::net::{TcpStream, UdpSocket};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{tls_client, tls_connect, Pki, Server};
use serde_json::json;

/// Writes a config file with these `[limits]` into `dir`; returns the `--config` arguments.
fn limits_config(dir: &Path, limits: &str) -> Vec<String> {
    let path = dir.join("limits.toml");
    std::fs::write(&path, format!("[limits]\n{limits}\n")).expect("config");
    vec!["--config".into(), path.display().to_string()]
}

fn args(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

fn proc_status(pid: u32, field: &str) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    s.lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .expect("field")
}

fn sigterm(s: &mut Server) -> (Duration, std::process::ExitStatus) {
    let mut c = s.child.take().expect("running");
    let started = Instant::now();
    Command::new("kill")
        .arg("-TERM")
        .arg(c.id().to_string())
        .status()
        .expect("kill");
    let deadline = started + Duration::from_secs(20);
    loop {
        if let Some(st) = c.try_wait().expect("wait") {
            return (started.elapsed(), st);
        }
        if Instant::now() > deadline {
            let _ = c.kill();
            panic!("the server did not stop within 20 s of SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn sigterm_stops_within_bounded_time_with_clients_connected_and_keeps_everything() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Server::start_in(dir.path(), &[]);
    // A TCP syslog sender that stays connected (as rsyslog and syslog-ng do).
    let mut tcp = TcpStream::connect(s.syslog_addr("tcp")).unwrap();
    for i in 0..100 {
        writeln!(tcp, "<13>Nov 30 10:00:00 host app: held open {i}").unwrap();
    }
    tcp.flush().unwrap();
    // An HTTP keep-alive connection that stays open, idle, after a request.
    let mut http = TcpStream::connect(s.url.trim_start_matches("http://")).unwrap();
    write!(http, "GET /health HTTP/1.1\r\nhost: x\r\n\r\n").unwrap();
    let mut buf = [0u8; 512];
    let _ = http.read(&mut buf).unwrap();
    assert_eq!(s.wait_total("summary:held", 100), 100);
    let (took, status) = sigterm(&mut s);
    assert!(status.success(), "exit status {status}");
    assert!(took < Duration::from_secs(10), "stopping took {took:?}");
    drop((tcp, http));
    // Nothing is replayed twice or lost.
    let s = Server::start_in(dir.path(), &[]);
    assert_eq!(s.wait_total("summary:held", 100), 100);
}

#[test]
fn ten_thousand_days_in_one_request_keep_threads_and_memory_bounded() {
    // Each day's partition is committed when its writer makes room for the next: 10,000
    // commits, cheap on a memory file system. (400 days once made 3,118 threads.)
    let shm = std::path::Path::new("/dev/shm");
    let dir = if shm.is_dir() {
        tempfile::tempdir_in(shm).unwrap()
    } else {
        tempfile::tempdir().unwrap()
    };
    let s = Server::start_in(
        &dir.path().join("data"),
        &["--writer-memory-mb", "16", "--writer-threads", "1"],
    );
    let pid = s.child.as_ref().unwrap().id();
    const DAYS: i64 = 10_000;
    let base = chrono::DateTime::parse_from_rfc3339("1990-01-01T12:00:00Z").unwrap();
    let mut body = String::new();
    for d in 0..DAYS {
        let t = base + chrono::Duration::days(d);
        body.push_str(&format!(
            "{{\"summary\":\"day {d}\",\"category\":\"history\",\"utctimestamp\":\"{}\"}}\n",
            t.to_rfc3339()
        ));
    }
    let sampler = std::thread::spawn(move || {
        let (mut threads, mut peak) = (0, 0);
        let deadline = Instant::now() + Duration::from_secs(600);
        while Instant::now() < deadline {
            match std::fs::read_to_string(format!("/proc/{pid}/status")) {
                Ok(_) => {
                    threads = threads.max(proc_status(pid, "Threads:"));
                    peak = peak.max(proc_status(pid, "VmHWM:"));
                }
                Err(_) => break,
            }
            std::thread::sleep(Duration::from_millis(20));
            if std::path::Path::new(&format!("/tmp/ferrodef-stop-{pid}")).exists() {
                break;
            }
        }
        (threads, peak)
    });
    let (status, v) = s.post("/_bulk", "application/x-ndjson", body);
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["accepted"], DAYS);
    let deadline = Instant::now() + Duration::from_secs(600);
    while s.total("category:history") < DAYS as u64 {
        assert!(Instant::now() < deadline, "not all days became searchable");
        std::thread::sleep(Duration::from_millis(200));
    }
    std::fs::write(format!("/tmp/ferrodef-stop-{pid}"), b"").unwrap();
    let (threads, peak_kib) = sampler.join().unwrap();
    let _ = std::fs::remove_file(format!("/tmp/ferrodef-stop-{pid}"));
    assert!(threads < 100, "{threads} threads");
    assert!(peak_kib < 2 << 20, "peak RSS {peak_kib} KiB");
    let (_, v) = s.search_with(
        "category:history",
        &[("size", "1"), ("sort", "utctimestamp:asc")],
    );
    assert_eq!(v["hits"][0]["summary"], "day 0");
}

#[test]
fn huge_bodies_of_short_lines_are_refused_by_count_not_by_memory() {
    let s = Server::start(&[]);
    let pid = s.child.as_ref().unwrap().id();
    // 16 MiB of two-byte lines: within the body limit, 8 million lines.
    let body = "x\n".repeat(8 << 20);
    let (status, v) = s.post("/syslog", "text/plain", body);
    assert_eq!(status, 413, "{v}");
    assert!(
        v["error"].as_str().unwrap().contains("limit of 100000"),
        "{v}"
    );
    let body = "{}\n".repeat(5 << 20);
    let (status, v) = s.post("/_bulk", "application/x-ndjson", body);
    assert_eq!(status, 413, "{v}");
    assert!(proc_status(pid, "VmHWM:") < 1 << 20, "peak RSS over 1 GiB");
    // The server still works.
    let (status, _) = s.post_json("/events", &json!({"summary": "still here"}));
    assert_eq!(status, 200);
    assert_eq!(s.wait_total("summary:\"still here\"", 1), 1);
}

#[test]
fn slow_idle_and_excess_http_clients_do_not_lock_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = limits_config(
        dir.path(),
        "header_timeout_secs = 2\nhttp_idle_timeout_secs = 2\nhttp_max_connections = 4\nbody_timeout_secs = 1",
    );
    let s = Server::start(&args(&cfg));
    let addr = s.url.trim_start_matches("http://").to_string();
    let closed_within = |mut c: TcpStream, secs: u64| {
        c.set_read_timeout(Some(Duration::from_secs(secs))).unwrap();
        let mut buf = [0u8; 1024];
        let mut got = Vec::new();
        loop {
            match c.read(&mut buf) {
                Ok(0) => return Some(got),
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(_) => return None,
            }
        }
    };
    // Slowloris: headers that never end are cut.
    let mut slow = TcpStream::connect(&addr).unwrap();
    write!(slow, "POST /events HTTP/1.1\r\nhost: x\r\n").unwrap();
    assert!(
        closed_within(slow, 10).is_some(),
        "a slow header was not cut"
    );
    // A body that never arrives: 408.
    let mut slow_body = TcpStream::connect(&addr).unwrap();
    write!(
        slow_body,
        "POST /events HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{{"
    )
    .unwrap();
    let answer = closed_within(slow_body, 10).expect("closed");
    assert!(
        String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 408"),
        "{}",
        String::from_utf8_lossy(&answer)
    );
    // Connections beyond the limit get a 503 at once.
    // (The kernel queues connections in order: these four are accepted before the fifth.)
    let held: Vec<TcpStream> = (0..4).map(|_| TcpStream::connect(&addr).unwrap()).collect();
    let extra = TcpStream::connect(&addr).unwrap();
    let answer = closed_within(extra, 10).expect("closed");
    assert!(String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 503"));
    // Idle connections are closed, and then new clients get in.
    for c in held {
        assert!(
            closed_within(c, 10).is_some(),
            "an idle connection stayed open"
        );
    }
    let (status, _) = s.post_json("/events", &json!({"summary": "after the storm"}));
    assert_eq!(status, 200);
    let (_, m) = s.get_text("/metrics");
    assert!(
        m.contains("source=\"http\",reason=\"too_many_connections\""),
        "{m}"
    );
}

/// A syslog listener under test: plain TCP, or TLS with a certificate of its own test CA.
enum Transport {
    Tcp,
    Tls(Box<Pki>),
}

/// A syslog client's connection, plain or TLS.
trait Conn: Read + Write {}
impl<T: Read + Write> Conn for T {}

impl Transport {
    fn tls() -> Transport {
        Transport::Tls(Box::new(Pki::new()))
    }

    fn proto(&self) -> &'static str {
        match self {
            Transport::Tcp => "tcp",
            Transport::Tls(_) => "tls",
        }
    }

    /// A server with this listener and the `--config` arguments `cfg`.
    fn start(&self, cfg: &[String]) -> Server {
        let mut a = cfg.to_vec();
        if let Transport::Tls(pki) = self {
            let (cert, key) = pki.issue("server", false);
            a.extend(["--syslog-tls".into(), "127.0.0.1:0".into()]);
            a.extend(["--tls-cert".into(), cert, "--tls-key".into(), key]);
        }
        Server::start(&args(&a))
    }

    /// A connection to the listener (TLS: handshake done); reads time out after `read_timeout`.
    fn connect(&self, s: &Server, read_timeout: Duration) -> Box<dyn Conn> {
        let addr = s.syslog_addr(self.proto());
        match self {
            Transport::Tcp => {
                let c = TcpStream::connect(addr).unwrap();
                c.set_read_timeout(Some(read_timeout)).unwrap();
                Box::new(c)
            }
            Transport::Tls(pki) => {
                Box::new(tls_connect(addr, tls_client(pki, None), read_timeout).unwrap())
            }
        }
    }
}

/// Whether the server closed `c` before its read timeout (a TLS stream may end without a
/// closing notice).
fn closed_by_server(c: &mut dyn Conn) -> bool {
    match c.read(&mut [0u8; 16]) {
        Ok(n) => n == 0,
        Err(e) => matches!(
            e.kind(),
            std::io::ErrorKind::UnexpectedEof
                | std::io::ErrorKind::ConnectionReset
                | std::io::ErrorKind::ConnectionAborted
        ),
    }
}

fn idle_connections_never_lock_out_new_senders(t: Transport) {
    let dir = tempfile::tempdir().unwrap();
    let cfg = limits_config(
        dir.path(),
        "syslog_max_connections = 2\nsyslog_idle_timeout_secs = 600",
    );
    let s = t.start(&cfg);
    let idle: Vec<Box<dyn Conn>> = (0..2)
        .map(|_| t.connect(&s, Duration::from_secs(5)))
        .collect();
    // A connection is taken for idle once it has been silent for a second.
    std::thread::sleep(Duration::from_millis(1500));
    let mut sender = t.connect(&s, Duration::from_secs(5));
    writeln!(sender, "<13>Nov 30 10:00:00 host app: a new sender").unwrap();
    sender.flush().unwrap();
    assert_eq!(s.wait_total("summary:\"a new sender\"", 1), 1);
    // One of the idle connections was closed to make room.
    let closed = idle
        .into_iter()
        .map(|mut c| closed_by_server(&mut *c))
        .filter(|&closed| closed)
        .count();
    assert_eq!(closed, 1);
}

#[test]
fn idle_syslog_connections_never_lock_out_new_senders() {
    idle_connections_never_lock_out_new_senders(Transport::Tcp);
}

#[test]
fn idle_tls_syslog_connections_never_lock_out_new_senders() {
    idle_connections_never_lock_out_new_senders(Transport::tls());
}

fn idle_timeout_closes_silent_connections(t: Transport) {
    let dir = tempfile::tempdir().unwrap();
    let cfg = limits_config(dir.path(), "syslog_idle_timeout_secs = 1");
    let s = t.start(&cfg);
    let mut c = t.connect(&s, Duration::from_secs(10));
    assert!(closed_by_server(&mut *c), "not closed");
    let counted = format!(
        "ferrodef_connection_problems_total{{source=\"syslog_{}\",reason=\"idle_timeout\"}}",
        t.proto()
    );
    assert_eq!(s.metric(&counted), 1);
}

#[test]
fn syslog_idle_timeout_closes_silent_connections() {
    idle_timeout_closes_silent_connections(Transport::Tcp);
}

#[test]
fn tls_syslog_idle_timeout_closes_silent_connections() {
    idle_timeout_closes_silent_connections(Transport::tls());
}

#[test]
fn overload_answers_429_with_retry_after_and_loses_nothing_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = limits_config(dir.path(), "max_queued_events = 1\nqueue_wait_ms = 1");
    let s = Server::start(&args(&cfg));
    let url = s.url.clone();
    let workers: Vec<_> = (0..16)
        .map(|w| {
            let url = url.clone();
            std::thread::spawn(move || {
                let client = Server::client();
                let (mut ok, mut busy) = (0u64, 0u64);
                for i in 0..20 {
                    let body: String = (0..50)
                        .map(|j| {
                            format!("{{\"summary\":\"load {w} {i} {j}\",\"category\":\"load\"}}\n")
                        })
                        .collect();
                    let r = client
                        .post(format!("{url}/_bulk"))
                        .header("content-type", "application/x-ndjson")
                        .body(body)
                        .send()
                        .unwrap();
                    match r.status().as_u16() {
                        200 => ok += 50,
                        429 => {
                            assert_eq!(r.headers()["retry-after"], "1");
                            busy += 1
                        }
                        other => panic!("status {other}"),
                    }
                }
                (ok, busy)
            })
        })
        .collect();
    let (mut ok, mut busy) = (0, 0);
    for w in workers {
        let (o, b) = w.join().unwrap();
        ok += o;
        busy += b;
    }
    assert!(busy > 0, "never overloaded");
    assert_eq!(s.wait_total("category:load", ok), ok);
}

/// A server whose indexer commits once a minute, refusing new events past a backlog of 100:
/// once 200 events are accepted, the backlog stays over its limit for the test.
fn server_behind_its_backlog(dir: &Path) -> Server {
    let mut a = limits_config(dir, "max_backlog = 100");
    a.extend(["--commit-interval-ms".into(), "60000".into()]);
    let s = Server::start(&args(&a));
    let body: String = (0..200)
        .map(|i| format!("{{\"summary\":\"backlog {i}\"}}\n"))
        .collect();
    let (status, v) = s.post("/_bulk", "application/x-ndjson", body);
    assert_eq!(status, 200, "{v}");
    s
}

#[test]
fn a_backlog_over_its_limit_answers_503_with_retry_after() {
    let dir = tempfile::tempdir().unwrap();
    let s = server_behind_its_backlog(dir.path());
    let r = Server::client()
        .post(format!("{}/_bulk", s.url))
        .header("content-type", "application/x-ndjson")
        .body("{\"summary\":\"refused\"}\n")
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 503);
    assert_eq!(r.headers()["retry-after"], "10");
    let v: serde_json::Value = r.json().unwrap();
    assert!(
        v["error"]
            .as_str()
            .unwrap()
            .contains("events accepted but not yet indexed"),
        "{v}"
    );
    let (_, h) = s.get("/health");
    assert_eq!(h["status"], "degraded", "{h}");
    assert!(
        h["reasons"][0].as_str().unwrap().contains("(max_backlog)"),
        "{h}"
    );
    assert_eq!(
        s.metric("ferrodef_events_rejected_total{source=\"http_bulk\",reason=\"backlog\"}"),
        1
    );
    assert!(s.metric("ferrodef_ingest_backlog_events") >= 200);
}

#[test]
fn udp_syslog_sheds_and_counts_while_the_ingest_service_holds_batches_back() {
    let dir = tempfile::tempdir().unwrap();
    let s = server_behind_its_backlog(dir.path());
    // The UDP listener's batches wait for the backlog to shrink; once its short queue is full,
    // it sheds (its receive loop never waits).
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = s.syslog_addr("udp");
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut sent = 0;
    while s.metric("ferrodef_syslog_udp_shed_total") == 0 {
        assert!(
            Instant::now() < deadline,
            "nothing shed after {sent} datagrams"
        );
        for _ in 0..500 {
            let line = format!("<13>Nov 30 10:00:00 host app: shed {sent}");
            sock.send_to(line.as_bytes(), addr).unwrap();
            sent += 1;
        }
    }
    let shed = s.metric("ferrodef_syslog_udp_shed_total");
    assert!(
        s.metric("ferrodef_events_rejected_total{source=\"syslog_udp\",reason=\"shed\"}") >= shed
    );
    assert_eq!(
        s.metric("ferrodef_events_accepted_total{source=\"syslog_udp\"}"),
        0
    );
    assert_eq!(s.get("/health").0, 200);
}

/// Mounts a small tmpfs (the tests run as root, as CI does) for a full-disk test.
struct SmallFs(tempfile::TempDir);

impl SmallFs {
    fn mount(mb: u32) -> SmallFs {
        let dir = tempfile::tempdir().unwrap();
        let st = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={mb}m"), "tmpfs"])
            .arg(dir.path())
            .status()
            .expect("mount");
        assert!(
            st.success(),
            "the full-disk test mounts a small tmpfs and needs root (mount failed: {st})"
        );
        SmallFs(dir)
    }

    /// A server whose data directory is on this file system.
    fn server(&self) -> Server {
        Server::start_in(
            &self.0.path().join("data"),
            &["--writer-memory-mb", "16", "--writer-threads", "1"],
        )
    }
}

impl Drop for SmallFs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.0.path()).status();
    }
}

#[test]
fn a_full_disk_refuses_with_503_and_recovers_by_itself_losing_nothing() {
    let fs = SmallFs::mount(64);
    let mut s = fs.server();
    let ev = |i: u32| json!({"summary": format!("disk {i}"), "category": "disk"});
    let mut acked = 0u64;
    for i in 0..20 {
        assert_eq!(s.post_json("/events", &ev(i)).0, 200);
        acked += 1;
    }
    let filler = fill_disk(fs.0.path());
    let mut refused = 0;
    for i in 100..110 {
        let (status, v) = s.post_json("/events", &ev(i));
        match status {
            200 => acked += 1,
            503 => {
                refused += 1;
                assert!(v["error"].as_str().unwrap().contains("disk"), "{v}");
                assert!(!v["error"].as_str().unwrap().contains('/'), "path in {v}");
            }
            other => panic!("status {other}: {v}"),
        }
    }
    assert!(refused > 0, "a full disk did not refuse events");
    // Once the log has refused, requests are refused before the rules see them (but one a
    // second): a client's retries are not counted again.
    let evaluated = s.metric("ferrodef_rules_evaluated_events_total");
    assert!(
        evaluated < 20 + refused,
        "{evaluated} evaluated, {refused} refused"
    );
    let (_, h) = s.get("/health");
    assert_eq!(h["status"], "degraded", "{h}");
    // Space returns: ingest works again without a restart.
    std::fs::remove_file(&filler).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut i = 200;
    loop {
        let (status, _) = s.post_json("/events", &ev(i));
        if status == 200 {
            acked += 1;
            break;
        }
        assert!(Instant::now() < deadline, "ingest did not recover");
        std::thread::sleep(Duration::from_millis(200));
        i += 1;
    }
    for i in 300..310 {
        assert_eq!(s.post_json("/events", &ev(i)).0, 200);
        acked += 1;
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while s.get("/health").1["status"] != "ok" {
        assert!(
            Instant::now() < deadline,
            "health stayed degraded: {}",
            s.get("/health").1
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(s.wait_total("category:disk", acked), acked);
    s.stop();
    let s = fs.server();
    assert_eq!(s.wait_total("category:disk", acked), acked);
}

/// Fills the file system of `dir` with a file `filler` until a write fails; returns its path.
fn fill_disk(dir: &Path) -> std::path::PathBuf {
    let filler = dir.join("filler");
    let mut f = std::fs::File::create(&filler).unwrap();
    let chunk = vec![0u8; 1 << 20];
    while f.write_all(&chunk).is_ok() {}
    let _ = f.sync_all();
    filler
}

#[test]
fn syslog_lines_read_while_the_disk_is_full_are_held_and_written_once_space_returns() {
    let fs = SmallFs::mount(64);
    let mut s = fs.server();
    assert_eq!(s.post_json("/events", &json!({"summary": "before"})).0, 200);
    assert_eq!(s.wait_total("summary:before", 1), 1);
    let filler = fill_disk(fs.0.path());
    // A sender that stays connected, as rsyslog does: what the server read while the log
    // cannot write is held, not dropped.
    let mut tcp = TcpStream::connect(s.syslog_addr("tcp")).unwrap();
    for i in 0..50 {
        writeln!(tcp, "<13>Nov 30 10:00:00 host app: diskheld {i}").unwrap();
    }
    tcp.flush().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (_, h) = s.get("/health");
        let reasons = h["reasons"].to_string();
        if reasons.contains("wait for the write-ahead log") {
            assert_eq!(h["status"], "degraded", "{h}");
            assert!(!reasons.contains("/tmp"), "path in {h}");
            break;
        }
        assert!(Instant::now() < deadline, "no held syslog events: {h}");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(s.metric("ferrodef_ingest_held_events") > 0);
    assert_eq!(s.total("summary:diskheld"), 0);
    // Space returns: every line is written once, without a restart or a resend.
    std::fs::remove_file(&filler).unwrap();
    assert_eq!(s.wait_total("summary:diskheld", 50), 50);
    assert_eq!(s.metric("ferrodef_ingest_held_events"), 0);
    assert_eq!(
        s.metric("ferrodef_events_rejected_total{source=\"syslog_tcp\",reason=\"persist\"}"),
        0
    );
    // The connection still works.
    writeln!(tcp, "<13>Nov 30 10:00:01 host app: diskheld after").unwrap();
    tcp.flush().unwrap();
    assert_eq!(s.wait_total("summary:diskheld", 51), 51);
    // The rules saw each event once, however often the held lines were offered to the log.
    assert_eq!(s.metric("ferrodef_rules_evaluated_events_total"), 52);
    s.stop();
    let s = fs.server();
    assert_eq!(s.wait_total("summary:diskheld", 51), 51);
}

#[test]
fn an_internal_storage_failure_answers_500_without_paths() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start_in(dir.path(), &[]);
    // The users' and tokens' state can be read but no longer written: a directory stands
    // where the server writes its next version.
    let pid = s.child.as_ref().unwrap().id();
    std::fs::create_dir_all(dir.path().join(format!("auth/auth.json.tmp-{pid}/x"))).unwrap();
    let (status, v) = s.post_json_as_admin("/api/tokens", &json!({"name": "t1", "role": "viewer"}));
    assert_eq!(status, 500, "{v}");
    let msg = v["error"].as_str().unwrap();
    assert!(msg.contains("users and tokens"), "{v}");
    assert!(!msg.contains('/') && !msg.contains("auth.json"), "{v}");
}

#[test]
fn data_files_are_the_owners_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut s = Server::start_in(&data, &[]);
    assert_eq!(s.post_json("/events", &json!({"summary": "secret"})).0, 200);
    assert_eq!(s.wait_total("summary:secret", 1), 1);
    s.stop();
    let mut checked = 0;
    let mut stack = vec![data.clone()];
    while let Some(p) = stack.pop() {
        let meta = std::fs::metadata(&p).unwrap();
        let mode = meta.permissions().mode() & 0o777;
        assert_eq!(mode & 0o077, 0, "{} is mode {mode:o}", p.display());
        checked += 1;
        if meta.is_dir() {
            stack.extend(std::fs::read_dir(&p).unwrap().map(|e| e.unwrap().path()));
        }
    }
    assert!(checked > 5);
}
