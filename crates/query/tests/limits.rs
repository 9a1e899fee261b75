//! The limits of the query language: each refused with a message naming it and a position.

use ferrodef_query::{parse, parse_time, MAX_CLAUSES, MAX_QUERY_BYTES, MAX_REGEX_BYTES};

#[test]
fn query_text_longer_than_the_limit_is_refused() {
    let q = "a ".repeat(MAX_QUERY_BYTES / 2 + 1);
    let e = parse(&q).unwrap_err();
    assert!(e.message.contains("limit"), "{e}");
    assert_eq!(e.offset, MAX_QUERY_BYTES);
}

#[test]
fn too_many_clauses_are_refused_at_the_first_one_over() {
    let ok: Vec<String> = (0..MAX_CLAUSES).map(|i| format!("v{i}")).collect();
    assert!(parse(&ok.join(" OR ")).is_ok());
    let q = format!("{} OR extra", ok.join(" OR "));
    let e = parse(&q).unwrap_err();
    assert!(e.message.contains("clauses"), "{e}");
    assert_eq!(e.offset, q.len() - "extra".len(), "{e}");
    // Field groups count each value.
    let group = format!(
        "f:({})",
        (0..=MAX_CLAUSES)
            .map(|i| format!("v{i}"))
            .collect::<Vec<_>>()
            .join(" OR ")
    );
    assert!(parse(&group).unwrap_err().message.contains("clauses"));
}

#[test]
fn regular_expressions_beyond_the_size_limits_are_refused() {
    let e = parse("f:/a{1000}{1000}/").unwrap_err();
    assert!(e.message.contains("too large"), "{e}");
    assert_eq!(e.offset, 2);
    let long = format!("f:/{}/", "a".repeat(MAX_REGEX_BYTES + 1));
    assert!(parse(&long)
        .unwrap_err()
        .message
        .contains("longer than the limit"));
    let nested = format!("f:/{}a{}/", "(".repeat(100), ")".repeat(100));
    assert!(parse(&nested).is_err());
    let e = parse("host:x AND f:/a[/").unwrap_err();
    assert!(e.message.contains("invalid regular expression"), "{e}");
    assert_eq!(e.offset, 13);
    assert!(parse("f:/web-[0-9]{1,3}\\.example\\.com/").is_ok());
}

#[test]
fn times_that_overflow_are_errors_not_panics() {
    let now = chrono::Utc::now();
    for s in [
        "now-264170y",
        "now-264169y",
        "now+99999999d",
        "now-300000y",
        "now+9999999999999999999s",
        "now-10000y",
        "999999999999999999",
        "-0001-01-01T00:00:00Z",
    ] {
        let e = parse_time(s, now).unwrap_err();
        assert!(!e.message.is_empty(), "{s}");
    }
    assert!(parse_time("now-100y/d", now).is_ok());
    let q = "utctimestamp:[now-300000y TO now]";
    let e = parse(q).unwrap_err();
    assert_eq!(e.offset, 13, "{e}");
    assert!(e.message.contains("now-300000y"), "{e}");
    assert!(parse("utctimestamp:>now+99999999d").is_err());
    assert!(parse("utctimestamp:[now-1d TO now]").is_ok());
}
