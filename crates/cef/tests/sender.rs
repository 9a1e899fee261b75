//! The syslog sender delivers RFC 3164 messages over real loopback sockets.

use std::io::{BufRead, BufReader};
use std::net::{TcpListener, UdpSocket};
use std::time::Duration;

use cef::{CefConfig, Event, Facility, SyslogSender, Transport};

fn config() -> CefConfig {
    CefConfig {
        version: "0".into(),
        vendor: "mozilla".into(),
        product: "ferrodef".into(),
        device_version: "1.0".into(),
    }
}

/// `<PRI>Mmm dd hh:mm:ss host tag[pid]: ` checked, the CEF line returned.
fn check_rfc3164<'a>(msg: &'a str, pri: u16, host: Option<&str>) -> &'a str {
    let rest = msg
        .strip_prefix(&format!("<{pri}>"))
        .unwrap_or_else(|| panic!("PRI {pri} in {msg:?}"));
    // "Mmm dd hh:mm:ss " is 16 bytes, the day space-padded.
    let (date, rest) = rest.split_at(16);
    assert!(
        chrono::NaiveDateTime::parse_from_str(
            &format!("2024 {}", date.trim_end()),
            "%Y %b %e %H:%M:%S"
        )
        .is_ok(),
        "date {date:?}"
    );
    let rest = match host {
        Some(h) => rest.strip_prefix(&format!("{h} ")).expect("host"),
        None => rest,
    };
    let tag = format!("app[{}]: ", std::process::id());
    rest.strip_prefix(&tag)
        .unwrap_or_else(|| panic!("tag in {rest:?}"))
}

#[test]
fn udp_datagrams() {
    let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
    udp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let sender = SyslogSender::new(
        Transport::Udp(udp.local_addr().unwrap().to_string()),
        config(),
        "app",
    )
    .hostname("web-1");
    let ev = Event::new("AccountLockout", "Account locked", 9)
        .user("bob")
        .source_ip("198.51.100.1");
    sender.send(&ev).unwrap();
    sender
        .send(&Event::new("Info", "Informational", 1))
        .unwrap();
    let mut buf = [0u8; 4096];
    let (n, _) = udp.recv_from(&mut buf).unwrap();
    let msg = std::str::from_utf8(&buf[..n]).unwrap();
    // LOCAL4 (20) * 8 + crit (2) = 162.
    let line = check_rfc3164(msg, 162, Some("web-1"));
    assert_eq!(line, ev.format_cef_only(&config()));
    let parsed = cef::parse(msg).unwrap();
    assert_eq!(parsed.name, "Account locked");
    assert_eq!(parsed.get("suser"), Some("bob"));
    let (n, _) = udp.recv_from(&mut buf).unwrap();
    let msg = std::str::from_utf8(&buf[..n]).unwrap();
    check_rfc3164(msg, 20 * 8 + 6, Some("web-1"));
}

#[test]
fn tcp_lines_over_one_connection() {
    let tcp = TcpListener::bind("127.0.0.1:0").unwrap();
    let sender = SyslogSender::new(
        Transport::Tcp(tcp.local_addr().unwrap().to_string()),
        config(),
        "app",
    )
    .hostname("web-1")
    .facility(Facility::Auth);
    // A raw line break in a name (Mozilla writes it after a backslash) must not split the
    // frame.
    sender.send(&Event::new("A", "first\nline", 5)).unwrap();
    sender.send(&Event::new("B", "second", 7)).unwrap();
    let (conn, _) = tcp.accept().unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut lines = BufReader::new(conn).lines();
    let l1 = lines.next().unwrap().unwrap();
    let l2 = lines.next().unwrap().unwrap();
    // auth (4) * 8 + warning (4) = 36; + err (3) = 35.
    assert!(
        check_rfc3164(&l1, 36, Some("web-1")).contains("|first\\ line|"),
        "{l1}"
    );
    assert!(
        check_rfc3164(&l2, 35, Some("web-1")).contains("|second|"),
        "{l2}"
    );
}

#[cfg(unix)]
#[test]
fn unix_datagram_socket() {
    use std::os::unix::net::UnixDatagram;
    let path = std::env::temp_dir().join(format!("cef-sender-test-{}.sock", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let server = UnixDatagram::bind(&path).unwrap();
    server
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let sender = SyslogSender::new(Transport::Unix(path.clone()), config(), "app");
    let ev = Event::new("AuthFail", "Authentication failure", 5).user("tarek");
    sender.send(&ev).unwrap();
    let mut buf = [0u8; 4096];
    let n = server.recv(&mut buf).unwrap();
    let msg = std::str::from_utf8(&buf[..n]).unwrap();
    // Local messages carry no host name (as syslog(3) writes them); 20 * 8 + 4 = 164.
    assert_eq!(check_rfc3164(msg, 164, None), ev.format_cef_only(&config()));
    let _ = std::fs::remove_file(&path);
}

#[test]
fn unreachable_tcp_is_an_error() {
    // Bind then drop to get a port nobody listens on.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let sender = SyslogSender::new(Transport::Tcp(format!("127.0.0.1:{port}")), config(), "app");
    assert!(sender.send(&Event::new("A", "a", 1)).is_err());
}
