#![no_main]
//! The CEF parser never panics, and what the builder writes from parsed fields parses back
//! to the same fields.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let s = String::from_utf8_lossy(data);
    let Ok(ev) = cef::parse(&s) else { return };
    let _ = ev.severity_number();
    let _ = ev.labeled_fields();
    let sev = ev.severity_number().unwrap_or(0);
    let mut built = cef::Event::new(ev.signature_id.to_string(), ev.name.to_string(), sev);
    for (k, v) in &ev.extensions {
        let legal = !k.is_empty()
            && k.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_');
        let plain = !v.is_empty() && v.trim() == v.as_ref() && !v.contains(['\r', '\n']);
        if legal && plain && !["cs1", "cs1Label", "requestMethod", "request", "src", "dhost", "suser"].contains(k) {
            built = built.extension(k.to_string(), v.to_string());
        }
    }
    let line = built.format(&cef::CefConfig::default(), "Oct 15 13:45:30", "h").line;
    let back = cef::parse(&line).expect("the builder's output parses");
    assert_eq!(back.signature_id, ev.signature_id);
    assert_eq!(back.name, ev.name);
});
