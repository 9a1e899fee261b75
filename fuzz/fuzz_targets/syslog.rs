#![no_main]
//! The syslog parser and framer never panic; the syslog→MozDef mapping (with CEF inside)
//! never panics; strict parsing accepts only what lenient parsing recognises as a format;
//! framed messages respect the length limit.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let opts = ferrodef_syslog::ParseOptions::default();
    let m = ferrodef_syslog::parse(data, &opts);
    if let Ok(strict) = ferrodef_syslog::parse_strict(data, &opts) {
        assert_ne!(strict.protocol, ferrodef_syslog::Protocol::Unknown);
    }
    let _ = m.pri();
    let ctx = ferrodef_transforms::normalize::NormalizeContext {
        now: opts.now,
        mozdefhostname: "fuzz".into(),
        default_tz: chrono_tz::UTC,
        source: None,
    };
    let _ = ferrodef_transforms::syslog::message_event(&m, Default::default(), &ctx);
    let mut framer = ferrodef_syslog::framing::Framer::new(64);
    let split = data.len() / 2;
    let mut check = |frame: &[u8], _truncated: bool| assert!(frame.len() <= 64);
    framer.push(&data[..split], &mut check);
    framer.push(&data[split..], &mut check);
    framer.finish(&mut check);
});
