//! The CEF-over-syslog notifier against local UDP and TCP listeners; what arrives is read
//! with the `cef` crate's parser.

mod common;

use std::io::{BufRead, BufReader};
use std::net::{TcpListener, UdpSocket};
use std::time::Duration;

use common::{alert, config, wait_until};
use ferrodef_event::Severity;
use ferrodef_notify::{DeliveryStatus, Dispatcher, NotifyMetrics};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cef_over_udp_with_configured_facility() {
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let cfg = config(&format!(
        r#"
        console_url = "https://siem.example.com"
        [[notifiers]]
        name = "siem"
        [notifiers.syslog]
        transport = "udp"
        address = "{}"
        facility = "AUTH"
        hostname = "ferrodef-1"
        vendor = "Mozilla"
        product = "MozDef"
        "#,
        sock.local_addr().unwrap()
    ));
    let d = Dispatcher::start(cfg, NotifyMetrics::new()).unwrap();
    let a = alert(1, Severity::Critical, "bruteforce", "bruteforce_ssh");
    d.submit(&a);
    let mut buf = [0u8; 8192];
    let n = sock.recv(&mut buf).expect("a datagram");
    let msg = String::from_utf8_lossy(&buf[..n]).to_string();
    // auth (4) × 8 + err (3): CEF 8 is "High", syslog severity err.
    assert!(msg.starts_with("<35>"), "{msg}");
    assert!(msg.contains(" ferrodef-1 ferrodef["), "{msg}");
    let ev = cef::parse(&msg).unwrap();
    assert_eq!(ev.device_vendor, "Mozilla");
    assert_eq!(ev.device_product, "MozDef");
    assert_eq!(ev.signature_id, "bruteforce_ssh");
    assert_eq!(ev.name, a.summary);
    assert_eq!(ev.severity_number(), Some(8));
    assert_eq!(ev.get("cat"), Some("bruteforce"));
    assert_eq!(ev.get("externalId"), Some(a.id.as_str()));
    assert_eq!(ev.get("cnt"), Some("10"));
    assert_eq!(ev.get("src"), Some("203.0.113.7"));
    assert_eq!(ev.labeled("classname"), Some("AlertBruteforceSsh"));
    let link = format!("https://siem.example.com/alerts/{}", a.id);
    assert_eq!(ev.labeled("alertUrl"), Some(link.as_str()));
    assert!(
        wait_until(Duration::from_secs(5), || d.deliveries(&a.id)[0].status
            == DeliveryStatus::Delivered)
        .await
    );
    d.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cef_over_tcp_one_line_per_alert() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let reader = std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut lines = Vec::new();
        let mut r = BufReader::new(stream);
        while lines.len() < 3 {
            let mut line = String::new();
            if r.read_line(&mut line).unwrap_or(0) == 0 {
                break;
            }
            lines.push(line);
        }
        lines
    });
    let cfg = config(&format!(
        "[[notifiers]]\nname = \"siem\"\nsyslog = {{ transport = \"tcp\", address = \"{addr}\" }}\n"
    ));
    let d = Dispatcher::start(cfg, NotifyMetrics::new()).unwrap();
    let mut ids = Vec::new();
    for n in 0..3 {
        let mut a = alert(10 + n, Severity::Warning, "c", "rule_x");
        a.summary = format!("alert {n}\nwith a line break and a | pipe = sign");
        ids.push(a.id.clone());
        d.submit(&a);
    }
    let lines = reader.join().unwrap();
    assert_eq!(lines.len(), 3);
    let mut got: Vec<String> = lines
        .iter()
        .map(|l| {
            assert!(l.starts_with("<164>"), "local4 warning: {l}");
            let ev = cef::parse(l.trim_end()).unwrap();
            assert_eq!(ev.severity_number(), Some(5));
            assert!(ev.name.contains("| pipe = sign"), "{}", ev.name);
            ev.get("externalId").unwrap().to_string()
        })
        .collect();
    got.sort();
    ids.sort();
    assert_eq!(got, ids);
    d.shutdown(Duration::from_secs(5)).await;
}
