//! Properties of the in-memory matcher: boolean laws hold, a query printed and parsed back
//! matches the same events, and a term built from an event's own value matches it.

use chrono::{TimeZone, Utc};
use ferrodef_query::{parse, Expr, Matcher};
use proptest::prelude::*;
use serde_json::{json, Map, Value};

fn event(summary: &str, cat: &str, port: i64, ip: [u8; 4]) -> Map<String, Value> {
    json!({"summary": summary, "category": cat, "hostname": format!("{cat}.example"),
        "utctimestamp": "2017-01-01T00:59:00+00:00",
        "details": {"port": port, "sourceipaddress": format!("{}.{}.{}.{}", ip[0], ip[1], ip[2], ip[3])}})
    .as_object()
    .cloned()
    .unwrap_or_default()
}

fn words() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop::sample::select(vec![
            "failed", "Login", "root", "from", "ssh2", "a_b", "10.0.0.1",
        ]),
        0..6,
    )
    .prop_map(|w| w.join(" "))
}

fn query() -> impl Strategy<Value = String> {
    let leaf = prop::sample::select(vec![
        "failed",
        "summary:login",
        "\"failed login\"",
        "category:auth",
        "category:web",
        "details.port:[0 TO 100]",
        "details.port:22",
        "details.sourceipaddress:10.0.0.0/8",
        "hostname:auth*",
        "_exists_:details.port",
        "summary:/ro.*/",
        "utctimestamp:[now-2m TO now]",
    ])
    .prop_map(str::to_string);
    leaf.prop_recursive(3, 12, 3, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a} AND {b})")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a} OR {b})")),
            inner.prop_map(|a| format!("NOT ({a})")),
        ]
    })
}

proptest! {
    #[test]
    fn boolean_laws_and_round_trip(
        q1 in query(), q2 in query(), s in words(),
        cat in prop::sample::select(vec!["auth", "web"]), port in 0i64..200,
        ip in prop::array::uniform4(0u8..=255),
    ) {
        let now = Utc.with_ymd_and_hms(2017, 1, 1, 1, 0, 0).single().unwrap_or_default();
        let e = event(&s, cat, port, ip);
        let m = |q: &str| Matcher::parse(q).map(|m| m.matches(&e, now));
        let (a, b) = (m(&q1), m(&q2));
        prop_assert!(a.is_ok() && b.is_ok());
        let (a, b) = (a.unwrap_or(false), b.unwrap_or(false));
        prop_assert_eq!(m(&format!("({q1}) AND ({q2})")).ok(), Some(a && b));
        prop_assert_eq!(m(&format!("({q1}) OR ({q2})")).ok(), Some(a || b));
        prop_assert_eq!(m(&format!("NOT ({q1})")).ok(), Some(!a));
        let printed = parse(&q1).map(|x| x.to_string()).unwrap_or_default();
        prop_assert_eq!(m(&printed).ok(), Some(a), "printed {}", printed);
    }

    #[test]
    fn a_keyword_matches_its_own_value(v in "[a-zA-Z0-9 ._:/-]{0,20}") {
        let e = json!({"details": {"x": v.clone()}}).as_object().cloned().unwrap_or_default();
        let expr = Expr::Term { field: Some("details.x".into()), value: v.clone() };
        let m = Matcher::new(&expr);
        prop_assert!(m.is_ok());
        // A value that reads as an RFC 3339 time is a date, compared as one; others are exact.
        prop_assert!(m.map(|m| m.matches(&e, Utc::now())).unwrap_or(false));
    }
}
