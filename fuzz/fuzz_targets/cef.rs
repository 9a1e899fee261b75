#![no_main]
//! The CEF parser never panics; whatever it parses prints back (with the spec's escaping) to
//! a line that parses to the same event, and builder output always parses.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let s = String::from_utf8_lossy(data);
    let strict = cef::ParseOptions {
        require_header_values: true,
    };
    let _ = cef::parse_with(&s, strict);
    if let Ok(ev) = cef::parse(&s) {
        let printed = ev.to_string();
        let again = cef::parse(&printed);
        assert_eq!(again.as_ref(), Ok(&ev), "{s:?} printed as {printed:?}");
        let _ = ev.severity_number();
        let _ = ev.labeled_fields();

        // Header texts fed to the builder come back through the parser.
        let event = cef::Event::new(ev.signature_id.as_ref(), ev.name.as_ref(), 5)
            .user_agent(ev.device_product.as_ref());
        let config = cef::CefConfig::default();
        let line = event.format_cef_only(&config);
        let back = cef::parse(&line);
        assert!(back.is_ok(), "builder line {line:?}: {back:?}");
        if let Ok(back) = back {
            assert_eq!(back.signature_id, ev.signature_id, "{line:?}");
            assert_eq!(back.name, ev.name, "{line:?}");
        }
    }
});
