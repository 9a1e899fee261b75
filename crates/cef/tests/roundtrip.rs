//! The parser reads back everything the builders write; errors say what and where.

use std::borrow::Cow;

use cef::{parse, parse_with, CefConfig, CefEvent, Event, ParseErrorKind, ParseOptions};
use chrono::{TimeZone, Utc};
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
    assert_eq!(ev.severity_level(), Some(cef::SeverityLevel::High));
    assert_eq!(ev.get("msg"), Some("a=b c\\d\nnext"));
    assert_eq!(ev.get("src"), Some("10.0.0.1"));
    assert_eq!(ev.get_any("sourceAddress"), Some("10.0.0.1"));
    assert_eq!(ev.get("cs4"), Some("bad login"));
    assert_eq!(ev.get("act"), Some("block\r"));
    assert_eq!(ev.labeled_fields(), vec![("Reason", "bad login")]);
    assert_eq!(ev.labeled("Reason"), Some("bad login"));
    // Unknown escapes keep their backslash; `\|` is tolerated in values.
    let ev = parse(r"CEF:0|V\endor|p|1|s|n|1|path=C:\temp\x p=a\|b").unwrap();
    assert_eq!(ev.device_vendor, r"V\endor");
    assert_eq!(ev.get("path"), Some(r"C:\temp\x"));
    assert_eq!(ev.get("p"), Some("a|b"));
    // Full-name label pairs.
    let ev = parse("CEF:0|v|p|1|s|n|1|deviceCustomString2Label=Policy deviceCustomString2=strict")
        .unwrap();
    assert_eq!(ev.labeled_fields(), vec![("Policy", "strict")]);
    let named: Vec<_> = ev.named_extensions().collect();
    assert_eq!(named[0].0, "deviceCustomString2Label");
}

#[test]
fn errors_name_field_and_offset() {
    let e = parse("CEF:0|a|b|").unwrap_err();
    assert_eq!(
        e.to_string(),
        "header field 3 (device_version) missing at byte 10"
    );
    assert_eq!(e.kind, ParseErrorKind::MissingField(3));
    let e = parse("<13>Nov 22 10:15:07 h CEF:0|only|three").unwrap_err();
    assert_eq!(e.kind, ParseErrorKind::MissingField(3));
    assert_eq!(e.offset, 38);
    let e = parse("CEF:0|a|b|1|s|n|").unwrap_err();
    assert_eq!(
        e.to_string(),
        "header field 6 (severity) missing at byte 16"
    );
    let e = parse("no cef here").unwrap_err();
    assert_eq!((e.offset, e.kind), (0, ParseErrorKind::NoHeader));
    let e = parse("x CEF:zero|a").unwrap_err();
    assert_eq!((e.offset, e.kind), (6, ParseErrorKind::BadVersion));
    assert!(e.to_string().contains("header field 0 (version)"), "{e}");
    let e = parse("CEF:0|a|b|1|s|n|5|garbage before pairs k=v").unwrap_err();
    assert_eq!((e.offset, e.kind), (18, ParseErrorKind::ExtensionText));
    assert!(
        e.to_string().starts_with("extension: expected `key=value`"),
        "{e}"
    );
    let strict = ParseOptions {
        require_header_values: true,
    };
    let e = parse_with("CEF:0|a||1|s|n|5|", strict).unwrap_err();
    assert_eq!((e.offset, e.kind), (8, ParseErrorKind::EmptyField(2)));
    assert_eq!(
        e.to_string(),
        "header field 2 (device_product) is empty at byte 8"
    );
    // Lenient: the severity may end the line, the first key may be unusual.
    let ev = parse("CEF:0|a|b|1|s|n|5").unwrap();
    assert_eq!(ev.severity, "5");
    let ev = parse("CEF:1|a|b|1|s|n|5|vendor:key=1 src=2").unwrap();
    assert_eq!(ev.get("vendor:key"), Some("1"));
}

#[test]
fn severity_words() {
    for (s, n) in [
        ("Low", Some(3)),
        ("Medium", Some(6)),
        ("High", Some(8)),
        ("Very-High", Some(10)),
        ("10", Some(10)),
        ("0", Some(0)),
        ("11", None),
        ("Unknown", None),
        ("x", None),
    ] {
        let line = format!("CEF:0|a|b|1|s|n|{s}|");
        let ev = parse(&line).unwrap();
        assert_eq!(ev.severity_number(), n, "{s}");
    }
}

#[test]
fn builder_fields_and_limits() {
    let t = Utc.with_ymd_and_hms(2010, 1, 31, 18, 30, 1).unwrap();
    let ev = Event::new("ACE0", "Access Control Violation", 8)
        .user("janedoe")
        .user_id(55)
        .action("Action Denied")
        .forwarded_for("198.51.100.4, 10.0.0.1")
        .destination_ip("192.0.2.10")
        .request("POST", "/admin?x=1")
        .user_agent("Mozilla/5.0 (X11)")
        .receipt_time(&t)
        .extension("dpt", 443);
    let line = ev.format(&config(), t, "web-1").line;
    assert_eq!(
        line,
        "Jan 31 18:30:01 web-1 CEF:0|mozilla|ferrodef|1.0|ACE0|Access Control Violation|8|\
         cs1Label=requestClientApplication cs1=Mozilla/5.0 (X11) requestMethod=POST \
         request=/admin?x\\=1 src=198.51.100.4 dhost=none suser=janedoe suid=55 dpt=443 \
         dst=192.0.2.10 rt=1264962601000 act=Action Denied"
    );
    let p = parse(&line).unwrap();
    for (k, v) in [
        ("suser", "janedoe"),
        ("suid", "55"),
        ("act", "Action Denied"),
        ("src", "198.51.100.4"),
        ("dst", "192.0.2.10"),
        ("requestMethod", "POST"),
        ("request", "/admin?x=1"),
        ("cs1", "Mozilla/5.0 (X11)"),
        ("rt", "1264962601000"),
    ] {
        assert_eq!(p.get(k), Some(v), "{k}");
    }
    assert_eq!(
        ev.format_cef_only(&config()),
        line.strip_prefix("Jan 31 18:30:01 web-1 ").unwrap()
    );

    // `msg` is cut at 1023 characters; such a message never fits Mozilla's 1024-byte line,
    // so `format` drops it with the library's warning, and `to_cef_event` keeps it.
    let long: String = "é".repeat(2000);
    let ev = Event::new("S", "N", 3).msg(long);
    let f = ev.format(&config(), t, "h");
    assert!(!f.line.contains("msg="));
    assert_eq!(f.warnings.len(), 1);
    assert!(f.warnings[0].starts_with("CEF Message too big. Jan 31 18:30:01 h CEF:0|"));
    let full = ev.to_cef_event(&config()).to_string();
    let msg = parse(&full).unwrap().get("msg").unwrap().to_string();
    assert_eq!(msg.chars().count(), cef::MAX_MSG_CHARS);

    // Illegal keys are kept, with the library's warning.
    let f = Event::new("S", "N", 3)
        .extension("ba|d", 1)
        .format(&config(), "Jan 31 18:30:01", "h");
    assert!(f.line.ends_with(" ba|d=1"));
    assert_eq!(f.warnings, ["The \"ba|d\" key contains illegal characters"]);
}

#[test]
fn strict_display_escapes_what_mozilla_does_not() {
    // Mozilla's format writes `suser` unescaped: a crafted user name adds a field.
    let ev = Event::new("S", "N", 3).user("bob act=allowed");
    let moz = ev.format_cef_only(&config());
    assert_eq!(parse(&moz).unwrap().get("act"), Some("allowed"));
    // The spec-escaped writer does not let it.
    let strict = ev.to_cef_event(&config()).to_string();
    let p = parse(&strict).unwrap();
    assert_eq!(p.get("suser"), Some("bob act=allowed"));
    assert_eq!(p.get("act"), None);
}

/// Header text: any characters, `\ | = CR LF` and spaces included, biased towards ASCII
/// words and key-like fragments (` ab=`) that a wrong escape would turn into structure.
fn header_text() -> impl Strategy<Value = String> {
    "(\\PC|[a-z0-9]{1,3}|[\\\\|= \r\n]| [a-z]{1,3}=|\\\\[=|n\\\\]){0,12}"
}

/// Extension values: the same, but not ending in whitespace (CEF cannot represent that).
fn value_text() -> impl Strategy<Value = String> {
    "(\\PC|[a-z0-9]{1,3}|[\\\\|= \r\n\t]| [a-z]{1,3}=|\\\\[=|n\\\\]){0,12}".prop_map(|s| {
        s.trim_end_matches(|c: char| c.is_ascii_whitespace())
            .to_string()
    })
}

/// Keys from the key charset (ASCII alphanumerics and `_ . - [ ] , |`).
fn key_text() -> impl Strategy<Value = String> {
    "[A-Za-z0-9_.\\[\\],|-]{1,10}"
}

fn cef_event() -> impl Strategy<Value = CefEvent<'static>> {
    (
        "[A-Za-z0-9 :<>.\\[\\]-]{0,24}",
        "[0-9]{1,2}",
        proptest::collection::vec(header_text(), 6),
        proptest::collection::vec((key_text(), value_text()), 0..6),
    )
        .prop_map(|(prefix, version, h, ext)| {
            let c = |s: &str| Cow::Owned(s.to_string());
            CefEvent {
                prefix: c(prefix.trim()),
                version: c(&version),
                device_vendor: c(&h[0]),
                device_product: c(&h[1]),
                device_version: c(&h[2]),
                signature_id: c(&h[3]),
                name: c(&h[4]),
                severity: c(&h[5]),
                extensions: ext
                    .into_iter()
                    .map(|(k, v)| (Cow::Owned(k), Cow::Owned(v)))
                    .collect(),
            }
        })
}

/// Lines that look like CEF, to exercise the parser on near-misses.
fn cef_ish_line() -> impl Strategy<Value = String> {
    let body = "(\\PC|[\\\\|= \r\n\t]|CEF:0\\||[a-z]{1,4}=| [a-z]{1,3}\\\\=|\\\\[=|nr\\\\]){0,40}";
    prop_oneof![
        body.prop_map(|b| b.to_string()),
        body.prop_map(|b| format!("CEF:0|{b}")),
        body.prop_map(|b| format!("<13>Oct 15 h CEF:1|v|p|1|s|n|5|{b}")),
        (body, body).prop_map(|(a, b)| format!("{a} CEF:0|{b}|")),
    ]
}

const FIXED: [&str; 7] = cef::FIXED_EXTENSIONS;

fn trimmed(s: &str) -> &str {
    s.trim_end_matches(|c: char| c.is_ascii_whitespace())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Mozilla-compatible format → parse: the header and extensions come back (values that
    /// the library writes unescaped, `suser` and `src`, from text it does not break).
    #[test]
    fn mozilla_format_then_parse(
        sig in header_text(),
        name in header_text(),
        sev in 0u8..=10,
        user in "[^\\\\=\\s]{0,12}",
        ip in "[0-9a-f.:]{0,20}",
        method in value_text(),
        path in value_text(),
        ua in value_text(),
        host in value_text(),
        ext in proptest::collection::btree_map("[a-z][A-Za-z0-9_.-]{0,8}", value_text(), 0..5),
    ) {
        let mut ev = Event::new(sig.clone(), name.clone(), sev)
            .user(user.clone())
            .source_ip(ip.clone())
            .request(method.clone(), path.clone())
            .user_agent(ua.clone())
            .host(host.clone());
        let ext: Vec<(String, String)> = ext
            .into_iter()
            .filter(|(k, _)| !FIXED.contains(&k.as_str()))
            .collect();
        for (k, v) in &ext {
            ev = ev.extension(k.clone(), v.clone());
        }
        let t = Utc.with_ymd_and_hms(2012, 10, 15, 13, 45, 30).unwrap();
        let f = ev.format(&config(), t, "web-1");
        let p = parse(&f.line).unwrap();
        prop_assert_eq!(p.prefix.as_ref(), "Oct 15 13:45:30 web-1");
        prop_assert_eq!(p.version.as_ref(), "0");
        prop_assert_eq!(p.device_vendor.as_ref(), "mozilla");
        prop_assert_eq!(p.device_product.as_ref(), "ferrodef");
        prop_assert_eq!(p.device_version.as_ref(), "1.0");
        prop_assert_eq!(p.signature_id.as_ref(), sig.as_str());
        prop_assert_eq!(p.name.as_ref(), name.as_str());
        prop_assert_eq!(p.severity_number(), Some(sev));
        prop_assert_eq!(p.get("cs1Label"), Some("requestClientApplication"));
        prop_assert_eq!(p.get("suser"), Some(user.as_str()));
        prop_assert_eq!(p.get("src"), Some(ip.as_str()));
        prop_assert_eq!(p.get("requestMethod"), Some(trimmed(&method)));
        prop_assert_eq!(p.get("request"), Some(trimmed(&path)));
        prop_assert_eq!(p.get("cs1"), Some(trimmed(&ua)));
        prop_assert_eq!(p.get("dhost"), Some(trimmed(&host)));
        let too_big = f.warnings.iter().any(|w| w.starts_with("CEF Message too big."));
        for (k, v) in &ext {
            match p.get(k) {
                None => prop_assert!(too_big, "{} missing from {:?}", k, f.line),
                got => prop_assert_eq!(got, Some(v.as_str())),
            }
        }
        prop_assert_eq!(p.extensions.len(), 7 + ext.iter().filter(|(k, _)| p.get(k).is_some()).count());
    }

    /// Any event → spec-escaped line → parse → the same event.
    #[test]
    fn display_then_parse_is_identity(ev in cef_event()) {
        let line = ev.to_string();
        let back = parse(&line);
        prop_assert!(back.is_ok(), "{:?} -> {:?}: {:?}", ev, line, back);
        prop_assert_eq!(back.unwrap(), ev);
    }

    /// The builder's strict form round-trips too, `suser`/`src` included.
    #[test]
    fn builder_strict_form_round_trips(
        sig in header_text(), name in header_text(), user in value_text(), ip in value_text(),
        path in value_text(), msg in value_text(),
    ) {
        let ev = Event::new(sig, name, 4).user(user).source_ip(ip).request("GET", path).msg(msg);
        let strict = ev.to_cef_event(&config());
        let line = strict.to_string();
        prop_assert_eq!(parse(&line).unwrap(), strict);
    }

    /// Whatever parses prints back to a line that parses to the same event.
    #[test]
    fn parsed_lines_reprint_identically(line in cef_ish_line()) {
        if let Ok(ev) = parse(&line) {
            let printed = ev.to_string();
            prop_assert_eq!(parse(&printed), Ok(ev.clone()), "{:?} printed as {:?}", line, printed);
            // Header texts fed to the Mozilla-compatible builder come back too.
            let built = Event::new(ev.signature_id.as_ref(), ev.name.as_ref(), 5)
                .user_agent(ev.device_product.as_ref())
                .format_cef_only(&config());
            let back = parse(&built);
            prop_assert!(back.is_ok(), "{:?}: {:?}", built, back);
            let back = back.unwrap();
            prop_assert_eq!(&back.signature_id, &ev.signature_id);
            prop_assert_eq!(&back.name, &ev.name);
        }
    }

    #[test]
    fn parser_never_panics(s in "\\PC{0,200}", bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = parse(&s);
        let _ = parse(&format!("CEF:0|{s}"));
        let lossy = String::from_utf8_lossy(&bytes);
        let _ = parse(&lossy);
        let _ = parse_with(&lossy, ParseOptions { require_header_values: true });
    }
}
