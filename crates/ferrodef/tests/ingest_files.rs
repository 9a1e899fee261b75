//! `ferrodef ingest`: log files (syslog, CEF, JSON; plain, gzip, stdin) into a running server
//! or straight into a data directory.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use common::Server;

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn ingest(args: &[&str], stdin: Option<&[u8]>) -> (bool, String) {
    let mut child = Command::new(common::bin())
        .arg("ingest")
        .arg("--quiet")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        let mut si = child.stdin.take().unwrap();
        if let Some(data) = stdin {
            si.write_all(data).unwrap();
        }
    }
    let out = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn rotated_gzip_json_and_stdin_into_a_server() {
    let s = Server::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n).display().to_string();
    std::fs::write(
        p("system.log"),
        "Nov 22 10:00:00 web1 sshd[1]: Failed password for root from 198.51.100.7 port 22 ssh2\n\
         <134>Nov 22 10:00:01 web1 app: CEF:0|acme|portal|1|login|Login ok|2|suser=ann src=192.0.2.1\n",
    )
    .unwrap();
    std::fs::write(
        p("system.log.0.gz"),
        gzip(b"Nov 21 09:00:00 web1 cron[5]: rotated line one\nNov 21 09:00:01 web1 cron[5]: rotated line two\n"),
    )
    .unwrap();
    std::fs::write(
        p("events.json"),
        "{\"summary\": \"json one\", \"category\": \"importtest\"}\n{not json}\n{\"summary\": \"json two\", \"category\": \"importtest\", \"utctimestamp\": \"yesterday-ish\"}\n{\"summary\": \"json three\", \"category\": \"importtest\"}\n",
    )
    .unwrap();
    let (ok, out) = ingest(
        &[
            "--server",
            &s.url,
            &p("system.log"),
            &p("system.log.0.gz"),
            &p("events.json"),
            "-",
        ],
        Some(b"Nov 22 11:00:00 stdinhost stdinapp: from standard input\n"),
    );
    assert!(ok, "{out}");
    assert!(out.contains("read 9 events from 4 file(s)"), "{out}");
    assert!(out.contains("accepted 7"), "{out}");
    assert!(out.contains("rejected 2"), "{out}");
    // Rejections name the file and line.
    assert!(out.contains("events.json line 2"), "{out}");
    assert!(out.contains("events.json line 3"), "{out}");

    assert_eq!(s.wait_total("*", 7), 7);
    assert_eq!(s.total("processname:cron"), 2, "gzip rotated file");
    assert_eq!(s.total("category:importtest"), 2);
    assert_eq!(s.total("hostname:stdinhost"), 1);
    assert_eq!(
        s.total("details.sourceipaddress:198.51.100.7 AND category:authentication"),
        1
    );
    assert_eq!(s.total("category:cef AND details.username:ann"), 1);
}

#[test]
fn straight_into_a_data_directory() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let log = dir.path().join("big.log.gz");
    let mut text = String::new();
    for i in 0..2500 {
        text.push_str(&format!(
            "<13>Nov 22 10:00:00 host{} app[{i}]: line {i}\n",
            i % 5
        ));
    }
    std::fs::write(&log, gzip(text.as_bytes())).unwrap();
    let (ok, out) = ingest(
        &[
            "--data-dir",
            &data.display().to_string(),
            "--batch",
            "1000",
            &log.display().to_string(),
        ],
        None,
    );
    assert!(ok, "{out}");
    assert!(
        out.contains("read 2500 events") && out.contains("accepted 2500"),
        "{out}"
    );
    // A server started on that directory finds them all.
    let s = Server::start_in(&data, &[]);
    assert_eq!(s.wait_total("*", 2500), 2500);
    assert_eq!(s.total("hostname:host3"), 500);
}

#[test]
fn missing_file_and_unreachable_server_are_clear_errors() {
    let (ok, out) = ingest(&["/nonexistent/file.log"], None);
    assert!(!ok);
    assert!(out.contains("/nonexistent/file.log: no such file"), "{out}");
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("a.log");
    std::fs::write(&f, "x\n").unwrap();
    let (ok, out) = ingest(
        &["--server", "http://127.0.0.1:9", &f.display().to_string()],
        None,
    );
    assert!(!ok);
    assert!(out.contains("127.0.0.1:9"), "{out}");
}

#[test]
fn broken_gzip_files_are_named_in_the_error() {
    let s = Server::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let whole = gzip(b"Nov 21 09:00:00 web1 cron[5]: one\nNov 21 09:00:01 web1 cron[5]: two\n");
    for (name, bytes) in [
        ("header-only.gz", b"\x1f\x8bgarbage".to_vec()),
        ("truncated.gz", whole[..whole.len() / 2].to_vec()),
    ] {
        let f = dir.path().join(name);
        std::fs::write(&f, bytes).unwrap();
        let (ok, out) = ingest(&["--server", &s.url, &f.display().to_string()], None);
        assert!(!ok, "{name}: {out}");
        assert!(out.contains(&f.display().to_string()), "{name}: {out}");
    }
    // One broken file among others: the others are imported, and the command still fails.
    let good = dir.path().join("good.log");
    std::fs::write(&good, "Nov 21 09:00:02 web1 cron[5]: survivor\n").unwrap();
    let broken = dir.path().join("header-only.gz");
    let (ok, out) = ingest(
        &[
            "--server",
            &s.url,
            &broken.display().to_string(),
            &good.display().to_string(),
        ],
        None,
    );
    assert!(!ok, "{out}");
    assert!(out.contains("1 of 2 file(s) could not be read"), "{out}");
    assert_eq!(s.wait_total("summary:survivor", 1), 1);
}

/// A raw audit.log: the records of each event are joined into one event; nothing is lost
/// (every raw record is kept in `details.auditrecords`).
#[test]
fn audit_log_records_are_joined_per_event() {
    let s = Server::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.log");
    std::fs::write(
        &log,
        concat!(
            "type=SYSCALL msg=audit(1763805600.123:4242): arch=c000003e syscall=59 success=yes exit=0 a0=55d0 a1=55d1 a2=55d2 a3=0 items=2 ppid=900 pid=901 auid=1000 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=pts0 ses=3 comm=\"ls\" exe=\"/usr/bin/ls\" key=\"exec\"\n",
            "type=EXECVE msg=audit(1763805600.123:4242): argc=2 a0=\"ls\" a1=2D6C61\n",
            "type=CWD msg=audit(1763805600.123:4242): cwd=\"/root\"\n",
            "type=PATH msg=audit(1763805600.123:4242): item=0 name=\"/usr/bin/ls\" inode=1 dev=08:01 mode=0100755 ouid=0 ogid=0 rdev=00:00 nametype=NORMAL\n",
            "type=PROCTITLE msg=audit(1763805600.123:4242): proctitle=6C73002D6C61\n",
            "type=EOE msg=audit(1763805600.123:4242):\n",
            "type=USER_AUTH msg=audit(1763805601.000:4243): pid=950 uid=0 auid=4294967295 ses=4294967295 msg='op=PAM:authentication grantors=? acct=\"mallory\" exe=\"/usr/sbin/sshd\" hostname=203.0.113.66 addr=203.0.113.66 terminal=ssh res=failed'\n",
        ),
    )
    .unwrap();
    let (ok, out) = ingest(&["--server", &s.url, &log.display().to_string()], None);
    assert!(ok, "{out}");
    assert!(
        out.contains("read 7 events") && out.contains("accepted 2"),
        "{out}"
    );
    assert_eq!(s.wait_total("tags:auditd", 2), 2);
    let (_, r) = s.search_with("details.serial:4242", &[]);
    assert_eq!(r["total"], 1, "{r}");
    let h = &r["hits"][0];
    assert_eq!(h["category"], "execution", "{h}");
    assert_eq!(h["details"]["command"], "ls -la");
    assert_eq!(h["details"]["cwd"], "/root");
    // SYSCALL, EXECVE, CWD, PATH, PROCTITLE, EOE.
    assert_eq!(
        h["details"]["auditrecords"].as_array().unwrap().len(),
        6,
        "{h}"
    );
    let (_, r) = s.search_with("details.username:mallory", &[]);
    let h = &r["hits"][0];
    assert_eq!(h["category"], "authentication", "{h}");
    assert_eq!(h["details"]["success"], false);
    assert_eq!(h["details"]["sourceipaddress"], "203.0.113.66");
}
