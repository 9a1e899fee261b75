//! The parser reads back everything the builder writes; the sender delivers over real sockets.

use std::io::{BufRead, BufReader};
use std::net::{TcpListener, UdpSocket};

use cef::{parse, CefConfig, Event, SyslogSender, Transport};
use proptest::prelude::*;

fn config() -> CefConfig {
    CefConfig {
        version: "0".into(),
        vendor: "mozilla".into(),
        product: "ferrodef".into(),
        device_version: "1.0".into(),
    }
}

#[test]
fn escapes_and_spaces() {
    let line = r"CEF:0|Vendor \| Inc|Pro\\duct|1|sig|A \| B|7|msg=a\=b c\\d\nnext  src=10.0.0.1 cs4Label=Reason cs4=bad login  act=block\r";
    let ev = parse(line).unwrap();
    assert_eq!(ev.device_vendor, "Vendor | Inc");
    assert_eq!(ev.device_product, "Pro\\duct");
    assert_eq!(ev.name, "A | B");
    assert_eq!(ev.severity_number(), Some(7));
    assert_eq!(ev.get("msg"), Some("a=b c\\d\nnext"));
    assert_eq!(ev.get("src"), Some("10.0.0.1"));
    assert_eq!(ev.get("cs4"), Some("bad login"));
    assert_eq!(ev.get("act"), Some("block\r"));
    assert_eq!(ev.labeled_fields(), vec![("Reason", "bad login")]);
}

#[test]
fn errors_name_field_and_offset() {
    let e = parse("CEF:0|a|b|c").unwrap_err();
    assert!(e.message.contains("header field 4 (device_version)"), "{e}");
    let e = parse("no cef here").unwrap_err();
    assert_eq!(e.offset, 0);
    let e = parse("CEF:0|a|b|1|s|n|5|garbage before pairs k=v").unwrap_err();
    assert!(e.to_string().contains("extension"), "{e}");
    assert_eq!(e.offset, 18);
}

#[test]
fn severity_words() {
    for (s, n) in [
        ("Low", Some(3)),
        ("Very-High", Some(10)),
        ("11", None),
        ("x", None),
    ] {
        let line = format!("CEF:0|a|b|1|s|n|{s}|");
        let ev = parse(&line).unwrap();
        assert_eq!(ev.severity_number(), n, "{s}");
    }
}

#[test]
fn msg_is_cut_at_1023_characters() {
    let long: String = "é".repeat(2000);
    let ev = Event::new("S", "N", 3).msg(long);
    let f = ev.format(&config(), "Oct 15 13:45:30", "h");
    // Too long for the 1024-byte line: dropped with a warning, as Mozilla's library does.
    assert!(!f.line.contains("msg="));
    assert!(f
        .warnings
        .iter()
        .any(|w| w.starts_with("CEF Message too big.")));
    let ev = Event::new("S", "N", 3).msg("short");
    assert!(ev.format_cef_only(&config()).ends_with("msg=short"));
}

#[test]
fn udp_and_tcp_senders_deliver() {
    let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
    let sender = SyslogSender::new(
        Transport::Udp(udp.local_addr().unwrap().to_string()),
        config(),
        "app",
    );
    let ev = Event::new("AccountLockout", "Account locked", 9)
        .user("bob")
        .source_ip("198.51.100.1");
    sender.send(&ev).unwrap();
    let mut buf = [0u8; 2048];
    let (n, _) = udp.recv_from(&mut buf).unwrap();
    let msg = std::str::from_utf8(&buf[..n]).unwrap();
    // LOCAL4 (20) * 8 + crit (2) = 162.
    assert!(msg.starts_with("<162>"), "{msg}");
    let at = cef::find_cef(msg).unwrap();
    let parsed = parse(&msg[at..]).unwrap();
    assert_eq!(parsed.name, "Account locked");
    assert_eq!(parsed.get("suser"), Some("bob"));

    let tcp = TcpListener::bind("127.0.0.1:0").unwrap();
    let sender = SyslogSender::new(
        Transport::Tcp(tcp.local_addr().unwrap().to_string()),
        config(),
        "app",
    );
    sender.send(&Event::new("A", "first", 1)).unwrap();
    sender.send(&Event::new("B", "second", 1)).unwrap();
    let (conn, _) = tcp.accept().unwrap();
    let mut lines = BufReader::new(conn).lines();
    let l1 = lines.next().unwrap().unwrap();
    let l2 = lines.next().unwrap().unwrap();
    assert!(
        l1.contains("|first|") && l2.contains("|second|"),
        "{l1} {l2}"
    );
}

proptest! {
    #[test]
    fn format_then_parse_is_identity(
        sig in "[A-Za-z0-9|\\\\ ]{1,20}",
        name in "\\PC{1,40}",
        sev in 0u8..=10,
        user in "[a-z0-9._-]{1,12}",
        keys in proptest::collection::btree_set("[a-z][a-zA-Z0-9]{0,10}", 0..5),
        values in proptest::collection::vec("[^ \\r\\n\\t]([^\\r\\n]{0,30}[^ \\r\\n\\t])?", 5),
    ) {
        let mut ev = Event::new(sig.clone(), name.clone(), sev).user(user.clone());
        let keys: Vec<String> = keys.into_iter()
            .filter(|k| !["cs1", "cs1Label", "requestMethod", "request", "src", "dhost", "suser"].contains(&k.as_str()))
            .collect();
        for (k, v) in keys.iter().zip(&values) {
            ev = ev.extension(k.clone(), v.clone());
        }
        let f = ev.format(&config(), "Oct 15 13:45:30", "h");
        let parsed = parse(&f.line).unwrap();
        prop_assert_eq!(parsed.signature_id.as_ref(), sig.as_str());
        prop_assert_eq!(parsed.name.as_ref(), name.as_str());
        prop_assert_eq!(parsed.severity_number(), Some(sev));
        prop_assert_eq!(parsed.get("suser"), Some(user.as_str()));
        for (k, v) in keys.iter().zip(&values) {
            if f.line.contains(&format!(" {k}=")) {
                prop_assert_eq!(parsed.get(k), Some(v.as_str()));
            }
        }
    }

    #[test]
    fn parser_never_panics(s in "\\PC{0,200}") {
        let _ = parse(&s);
        let _ = parse(&format!("CEF:0|{s}"));
    }
}
