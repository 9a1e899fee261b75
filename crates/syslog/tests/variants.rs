//! RFC 3164 variants seen in the wild, framing, and robustness.

use chrono::{TimeZone, Utc};
use ferrodef_syslog::framing::{Framer, Framing};
use ferrodef_syslog::{parse, parse_strict, DefaultTz, ParseOptions, Protocol};
use proptest::prelude::*;

fn opts() -> ParseOptions {
    ParseOptions {
        now: Utc
            .with_ymd_and_hms(2026, 11, 22, 12, 0, 0)
            .single()
            .expect("date"),
        ..ParseOptions::default()
    }
}

#[test]
fn haproxy_without_hostname() {
    let m = parse(
        b"<134>Feb 18 20:53:31 haproxy[376]: I am a message",
        &opts(),
    );
    assert_eq!(m.protocol, Protocol::Rfc3164);
    assert_eq!(m.hostname, None);
    assert_eq!(m.appname, Some("haproxy"));
    assert_eq!(m.procid, Some("376"));
    assert_eq!(m.msg, "I am a message");
    assert_eq!(
        m.timestamp.map(|t| t.to_rfc3339()).as_deref(),
        Some("2026-02-18T20:53:31+00:00")
    );
}

#[test]
fn missing_pri_and_year_rollover() {
    let m = parse(b"Dec 31 23:59:59 host1 cron[1]: job", &opts());
    assert_eq!(m.facility, None);
    assert_eq!(m.hostname, Some("host1"));
    // Dec 31 is more than a day after Nov 22 2026: last year.
    assert_eq!(
        m.timestamp.map(|t| t.to_rfc3339()).as_deref(),
        Some("2025-12-31T23:59:59+00:00")
    );
}

#[test]
fn timezone_for_bsd_dates() {
    let o = ParseOptions {
        default_tz: DefaultTz::from(chrono_tz::Europe::Paris),
        ..opts()
    };
    let m = parse(b"<13>Jul 14 12:00:00 h app: x", &o);
    assert_eq!(
        m.timestamp.map(|t| t.to_rfc3339()).as_deref(),
        Some("2026-07-14T12:00:00+02:00")
    );
    let m = parse(b"<13>Jan 14 12:00:00 h app: x", &o);
    assert_eq!(
        m.timestamp.map(|t| t.to_rfc3339()).as_deref(),
        Some("2026-01-14T12:00:00+01:00")
    );
}

#[test]
fn kernel_line_keeps_bracketed_uptime_in_message() {
    let m = parse(
        b"<4>Nov 22 10:15:03 fw1 kernel: [123456.789] IN=eth0 SRC=198.51.100.23",
        &opts(),
    );
    assert_eq!((m.hostname, m.appname), (Some("fw1"), Some("kernel")));
    assert!(m.structured_data.is_empty());
    assert_eq!(m.msg, "[123456.789] IN=eth0 SRC=198.51.100.23");
}

#[test]
fn rfc3339_timestamp_in_bsd_layout_and_ipv6_host() {
    let m = parse(
        b"<30>2026-11-22T10:00:00.5+01:00 fe80::1 app[9]: hi",
        &opts(),
    );
    assert_eq!(m.protocol, Protocol::Rfc3164);
    assert_eq!(m.hostname, Some("fe80::1"));
    assert_eq!((m.appname, m.procid), (Some("app"), Some("9")));
    assert_eq!(
        m.timestamp.map(|t| t.to_rfc3339()).as_deref(),
        Some("2026-11-22T10:00:00.500+01:00")
    );
}

#[test]
fn cef_payload_is_never_a_host_or_tag() {
    let line =
        b"<164>Nov 22 10:15:07 CEF:0|mozilla|weave|3|AuthFail|Authentication failure|5|src=1.2.3.4";
    let m = parse(line, &opts());
    assert_eq!(m.hostname, None);
    assert_eq!(m.appname, None);
    assert!(m.msg.starts_with("CEF:0|"));
    let m = parse(
        b"<164>Nov 22 10:15:07 auth-1 CEF:0|a|b|1|s|n|5|x=y",
        &opts(),
    );
    assert_eq!((m.hostname, m.appname), (Some("auth-1"), None));
    assert!(m.msg.starts_with("CEF:0|"));
}

#[test]
fn neither_format_is_kept_whole() {
    for line in ["just some text", "12345", "<>oops", "<999999>x"] {
        let m = parse(line.as_bytes(), &opts());
        assert_eq!(m.protocol, Protocol::Unknown, "{line}");
        assert_eq!(m.msg, line);
        assert!(parse_strict(line.as_bytes(), &opts()).is_err(), "{line}");
    }
}

#[test]
fn pri_without_timestamp_keeps_the_message() {
    let m = parse(b"<13>myapp: started", &opts());
    assert_eq!(m.protocol, Protocol::Rfc3164);
    assert_eq!(m.appname, Some("myapp"));
    assert_eq!(m.msg, "started");
    let m = parse(b"<13>plain words here", &opts());
    assert_eq!((m.hostname, m.appname), (None, None));
    assert_eq!(m.msg, "plain words here");
}

#[test]
fn invalid_utf8_is_replaced_and_flagged() {
    let m = parse(b"<13>Nov 22 10:00:00 host app: caf\xe9", &opts());
    assert!(m.invalid_utf8);
    assert_eq!(m.msg, "caf\u{fffd}");
    assert_eq!(m.hostname, Some("host"));
}

#[test]
fn rfc5424_escapes_and_bom() {
    let line = "<165>1 2003-10-11T22:14:15.003Z h app - ID [a@1 x=\"q\\\"uote\" y=\"br\\]acket\" z=\"back\\\\slash\"] \u{feff}hello";
    let m = parse(line.as_bytes(), &opts());
    assert_eq!(m.protocol, Protocol::Rfc5424);
    assert_eq!(m.sd_param("a@1", "x"), Some("q\"uote"));
    assert_eq!(m.sd_param("a@1", "y"), Some("br]acket"));
    assert_eq!(m.sd_param("a@1", "z"), Some("back\\slash"));
    assert_eq!(m.msg, "hello");
}

fn frames(chunks: &[&[u8]], max: usize) -> (Vec<(String, bool)>, Option<Framing>) {
    let mut f = Framer::new(max);
    let mut out = Vec::new();
    for c in chunks {
        f.push(c, |m, t| {
            out.push((String::from_utf8_lossy(m).into_owned(), t))
        });
    }
    f.finish(|m, t| out.push((String::from_utf8_lossy(m).into_owned(), t)));
    (out, f.framing())
}

#[test]
fn framing_newline_split_anywhere() {
    let stream = b"<13>a: one\r\n\n<13>b: two\n<13>c: three";
    for cut in 0..stream.len() {
        let (a, b) = stream.split_at(cut);
        let (out, fr) = frames(&[a, b], 1024);
        assert_eq!(fr, Some(Framing::NonTransparent));
        let msgs: Vec<&str> = out.iter().map(|(m, _)| m.trim_end_matches('\r')).collect();
        assert_eq!(
            msgs,
            ["<13>a: one", "<13>b: two", "<13>c: three"],
            "cut at {cut}"
        );
    }
}

#[test]
fn framing_octet_counted_split_anywhere() {
    let stream = b"10 <13>1 - x\n13 <13>1 - a\nb c";
    for cut in 0..stream.len() {
        let (a, b) = stream.split_at(cut);
        let (out, fr) = frames(&[a, b], 1024);
        assert_eq!(fr, Some(Framing::OctetCounting), "cut at {cut}");
        let msgs: Vec<&str> = out.iter().map(|(m, _)| m.as_str()).collect();
        assert_eq!(msgs, ["<13>1 - x\n", "<13>1 - a\nb c"], "cut at {cut}");
    }
}

#[test]
fn framing_truncates_oversized_without_gluing() {
    let (out, _) = frames(&[b"<13>aaaaaaaaaaaaaaaa\n<13>ok\n"], 8);
    assert_eq!(
        out,
        [
            ("<13>aaaa".to_string(), true),
            ("<13>ok".to_string(), false)
        ]
    );
    let (out, _) = frames(&[b"20 <13>aaaaaaaaaaaaaaaa", b"5 <13>b"], 8);
    assert_eq!(
        out,
        [("<13>aaaa".to_string(), true), ("<13>b".to_string(), false)]
    );
    // The tail of an oversized line arriving in later chunks is skipped too.
    let (out, _) = frames(&[b"<13>aaaaaaaaaaaa", b"aaaaaaa", b"aaa\n<13>z\n"], 8);
    assert_eq!(
        out,
        [("<13>aaaa".to_string(), true), ("<13>z".to_string(), false)]
    );
}

proptest! {
    #[test]
    fn never_panics(data in proptest::collection::vec(any::<u8>(), 0..300)) {
        let o = opts();
        let m = parse(&data, &o);
        let _ = parse_strict(&data, &o);
        let _ = m.msg.len();
        let mut f = Framer::new(16);
        f.push(&data, |m, t| assert!(m.len() <= 16 || !t));
        f.finish(|_, _| {});
    }

    #[test]
    fn bsd_lines_roundtrip_fields(host in "[a-z][a-z0-9.-]{0,20}", app in "[a-z][a-z0-9_-]{0,12}", pid in 1u32..99999, msg in "[ -~]{0,80}") {
        let line = format!("<38>Nov  2 03:04:05 {host} {app}[{pid}]: {msg}");
        let m = parse(line.as_bytes(), &opts());
        prop_assert_eq!(m.protocol, Protocol::Rfc3164);
        prop_assert_eq!(m.hostname, Some(host.as_str()));
        prop_assert_eq!(m.appname, Some(app.as_str()));
        prop_assert_eq!(m.pid(), Some(pid));
        prop_assert_eq!(m.msg.as_ref(), msg.trim());
    }
}
