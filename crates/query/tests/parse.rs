use std::ops::Bound;

use chrono::{TimeZone, Utc};
use ferrodef_query::{parse, parse_time, wildcard_to_regex, Expr};
use proptest::prelude::*;

fn term(f: Option<&str>, v: &str) -> Expr {
    Expr::Term {
        field: f.map(Into::into),
        value: v.into(),
    }
}

#[test]
fn basics_and_precedence() {
    assert_eq!(parse("").unwrap(), Expr::MatchAll);
    assert_eq!(parse(" * ").unwrap(), Expr::MatchAll);
    assert_eq!(parse("*:*").unwrap(), Expr::MatchAll);
    assert_eq!(parse("failed").unwrap(), term(None, "failed"));
    assert_eq!(
        parse("category:authentication").unwrap(),
        term(Some("category"), "authentication")
    );
    // NOT > AND > OR; adjacency is AND.
    assert_eq!(
        parse("a OR b c").unwrap(),
        Expr::Or(vec![
            term(None, "a"),
            Expr::And(vec![term(None, "b"), term(None, "c")])
        ])
    );
    assert_eq!(
        parse("NOT a AND b").unwrap(),
        Expr::And(vec![Expr::Not(Box::new(term(None, "a"))), term(None, "b")])
    );
    assert_eq!(
        parse("a && b || !c").unwrap(),
        parse("(a AND b) OR NOT c").unwrap()
    );
    assert_eq!(
        parse("+a -b").unwrap(),
        Expr::And(vec![term(None, "a"), Expr::Not(Box::new(term(None, "b")))])
    );
    assert_eq!(
        parse("f:(x OR y)").unwrap(),
        Expr::Or(vec![term(Some("f"), "x"), term(Some("f"), "y")])
    );
    // lower-case keywords are words
    assert_eq!(
        parse("a and b").unwrap(),
        Expr::And(vec![term(None, "a"), term(None, "and"), term(None, "b")])
    );
}

#[test]
fn values() {
    assert_eq!(
        parse(r#"summary:"failed \"pass\" \\ x""#).unwrap(),
        Expr::Phrase {
            field: Some("summary".into()),
            text: r#"failed "pass" \ x"#.into()
        }
    );
    assert_eq!(
        parse("hostname:web-*").unwrap(),
        Expr::Wildcard {
            field: Some("hostname".into()),
            pattern: "web-*".into()
        }
    );
    assert_eq!(parse(r"f:a\*b").unwrap(), term(Some("f"), "a*b"));
    assert_eq!(
        parse(r"f:a\*b*").unwrap(),
        Expr::Wildcard {
            field: Some("f".into()),
            pattern: r"a\*b*".into()
        }
    );
    assert_eq!(parse(r"f:a\:b").unwrap(), term(Some("f"), "a:b"));
    assert_eq!(parse("f:*").unwrap(), Expr::Exists { field: "f".into() });
    assert_eq!(
        parse("_exists_:details.x").unwrap(),
        Expr::Exists {
            field: "details.x".into()
        }
    );
    assert_eq!(
        parse(r"host:/web-[0-9]+\/x/").unwrap(),
        Expr::Regex {
            field: "host".into(),
            pattern: "web-[0-9]+/x".into()
        }
    );
    assert_eq!(
        parse("details.sourceipaddress:2001:db8::1").unwrap(),
        term(Some("details.sourceipaddress"), "2001:db8::1")
    );
    assert_eq!(
        parse("details.sourceipaddress:10.0.0.0/8").unwrap(),
        Expr::Cidr {
            field: "details.sourceipaddress".into(),
            net: "10.0.0.0/8".parse().unwrap()
        }
    );
    assert_eq!(
        parse("ip:2001:db8::/32").unwrap(),
        Expr::Cidr {
            field: "ip".into(),
            net: "2001:db8::/32".parse().unwrap()
        }
    );
    assert_eq!(
        parse("url:/index.html").unwrap_err().offset,
        4,
        "unterminated regex"
    );
    assert_eq!(parse("path:a/b").unwrap(), term(Some("path"), "a/b"));
}

#[test]
fn ranges() {
    let r = |f: &str, lo: Bound<&str>, hi: Bound<&str>| Expr::Range {
        field: f.into(),
        lower: lo.map(String::from),
        upper: hi.map(String::from),
    };
    use Bound::*;
    assert_eq!(
        parse("n:[1 TO 5]").unwrap(),
        r("n", Included("1"), Included("5"))
    );
    assert_eq!(
        parse("n:{1 TO 5}").unwrap(),
        r("n", Excluded("1"), Excluded("5"))
    );
    assert_eq!(
        parse("n:[1 TO 5}").unwrap(),
        r("n", Included("1"), Excluded("5"))
    );
    assert_eq!(
        parse("n:[* TO 5]").unwrap(),
        r("n", Unbounded, Included("5"))
    );
    assert_eq!(parse("n:>=5").unwrap(), r("n", Included("5"), Unbounded));
    assert_eq!(parse("n:>5").unwrap(), r("n", Excluded("5"), Unbounded));
    assert_eq!(parse("n:<5").unwrap(), r("n", Unbounded, Excluded("5")));
    assert_eq!(parse("n:<=-5").unwrap(), r("n", Unbounded, Included("-5")));
    assert_eq!(
        parse("utctimestamp:[now-1h TO now]").unwrap(),
        r("utctimestamp", Included("now-1h"), Included("now"))
    );
    assert_eq!(
        parse("t:[2026-11-22T10:00:00Z TO 2026-11-22T11:00:00+01:00]").unwrap(),
        r(
            "t",
            Included("2026-11-22T10:00:00Z"),
            Included("2026-11-22T11:00:00+01:00")
        )
    );
}

#[test]
fn errors_carry_offsets() {
    let cases: &[(&str, usize, &str)] = &[
        ("category:(auth", 9, "missing ')'"),
        ("(a OR b", 0, "missing ')'"),
        ("a OR b)", 6, "unbalanced ')'"),
        ("hostname:", 9, "missing value"),
        ("\"open phrase", 0, "unterminated"),
        ("a AND", 2, "after AND"),
        ("a OR", 2, "after OR"),
        ("NOT", 0, "after NOT"),
        ("n:[1 5]", 5, "TO"),
        ("n:[1 TO 5", 2, "unterminated range"),
        ("ip:10.0.0.0/33", 3, "invalid CIDR"),
        ("AND b", 0, "before AND"),
        ("x:>", 3, "missing value after '>'"),
        ("/re/", 0, "need a field"),
        ("é:\"x", 3, "unterminated"),
    ];
    for (q, off, msg) in cases {
        let e = parse(q).unwrap_err();
        assert_eq!(e.offset, *off, "{q}: {e}");
        assert!(e.message.contains(msg), "{q}: {e}");
        assert!(e.to_string().ends_with(&format!("at position {off}")));
    }
    let deep = "(".repeat(100) + "a" + &")".repeat(100);
    assert!(parse(&deep).unwrap_err().message.contains("nested"));
    let nots = "NOT ".repeat(1000) + "a";
    assert!(parse(&nots).is_err());
}

#[test]
fn wildcards_to_regex() {
    assert_eq!(wildcard_to_regex("web-*"), r"web\-.*");
    assert_eq!(wildcard_to_regex("us?r.x"), r"us.r\.x");
    assert_eq!(wildcard_to_regex(r"a\*b*"), r"a\*b.*");
}

#[test]
fn times() {
    let now = Utc.with_ymd_and_hms(2026, 11, 22, 10, 30, 45).unwrap();
    let t = |s: &str| parse_time(s, now).unwrap().to_rfc3339();
    assert_eq!(t("now"), "2026-11-22T10:30:45+00:00");
    assert_eq!(t("now-15m"), "2026-11-22T10:15:45+00:00");
    assert_eq!(t("now+1h"), "2026-11-22T11:30:45+00:00");
    assert_eq!(t("now-1d-2h"), "2026-11-21T08:30:45+00:00");
    assert_eq!(t("now/d"), "2026-11-22T00:00:00+00:00");
    assert_eq!(t("now-1d/d"), "2026-11-21T00:00:00+00:00");
    assert_eq!(t("now-1M"), "2026-10-22T10:30:45+00:00");
    assert_eq!(t("now-1y/M"), "2025-11-01T00:00:00+00:00");
    assert_eq!(t("now/w"), "2026-11-16T00:00:00+00:00");
    assert_eq!(t("2026-11-22T10:00:00Z"), "2026-11-22T10:00:00+00:00");
    assert_eq!(
        t("2026-11-22T10:00:00.5+01:00"),
        "2026-11-22T09:00:00.500+00:00"
    );
    assert_eq!(t("2026-11-22"), "2026-11-22T00:00:00+00:00");
    assert_eq!(t("1763800000"), "2025-11-22T08:26:40+00:00");
    assert_eq!(t("1763800000000"), "2025-11-22T08:26:40+00:00");
    assert_eq!(parse_time("now-15x", now).unwrap_err().offset, 6);
    assert_eq!(parse_time("now*2", now).unwrap_err().offset, 3);
    assert!(parse_time("yesterday", now).is_err());
    assert!(parse_time("now-99999999999y", now).is_err());
}

#[test]
fn fields_lists_every_field() {
    let e = parse("a:1 AND (b:2 OR NOT c:[1 TO 2]) AND _exists_:d AND e").unwrap();
    assert_eq!(e.fields(), vec!["a", "b", "c", "d"]);
}

fn word() -> impl Strategy<Value = String> {
    "[a-z0-9_][a-z0-9_.@]{0,8}".prop_filter("keywords", |s| !matches!(s.as_str(), "to"))
}

fn leaf() -> impl Strategy<Value = Expr> {
    let field = prop::option::of("[a-z][a-z0-9_.]{0,10}");
    prop_oneof![
        (field.clone(), word()).prop_map(|(field, value)| Expr::Term { field, value }),
        (field.clone(), "[^\"\\\\]{0,12}|[a-z \"\\\\]{1,12}")
            .prop_map(|(field, text)| Expr::Phrase { field, text }),
        (field, "[a-z]{1,4}\\*[a-z]{0,3}")
            .prop_map(|(field, pattern)| Expr::Wildcard { field, pattern }),
        ("[a-z][a-z.]{0,8}", "[0-9]{1,4}", "[0-9]{1,4}").prop_map(|(field, a, b)| Expr::Range {
            field,
            lower: std::ops::Bound::Included(a),
            upper: std::ops::Bound::Excluded(b)
        }),
        "[a-z][a-z.]{0,8}".prop_map(|field| Expr::Exists { field }),
        ("[a-z][a-z.]{0,8}", 0u8..=32).prop_map(|(field, p)| Expr::Cidr {
            field,
            net: format!("10.0.0.0/{p}")
                .parse::<ipnet::IpNet>()
                .unwrap()
                .trunc()
        }),
    ]
}

fn expr() -> impl Strategy<Value = Expr> {
    leaf().prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 2..4).prop_map(Expr::And),
            prop::collection::vec(inner.clone(), 2..4).prop_map(Expr::Or),
            inner.prop_map(|e| Expr::Not(Box::new(e))),
        ]
    })
}

/// Flattens nested And/Or the way the parser does.
fn canonical(e: Expr) -> Expr {
    match e {
        Expr::And(v) => {
            let mut out = Vec::new();
            for x in v.into_iter().map(canonical) {
                match x {
                    Expr::And(inner) => out.extend(inner),
                    x => out.push(x),
                }
            }
            Expr::And(out)
        }
        Expr::Or(v) => {
            let mut out = Vec::new();
            for x in v.into_iter().map(canonical) {
                match x {
                    Expr::Or(inner) => out.extend(inner),
                    x => out.push(x),
                }
            }
            Expr::Or(out)
        }
        Expr::Not(e) => Expr::Not(Box::new(canonical(*e))),
        e => e,
    }
}

proptest! {
    #[test]
    fn display_parses_back(e in expr()) {
        let printed = e.to_string();
        let back = parse(&printed);
        prop_assert!(back.is_ok(), "{printed}: {back:?}");
        prop_assert_eq!(back.unwrap(), canonical(e), "{}", printed);
    }

    #[test]
    fn never_panics(s in "\\PC{0,40}") {
        let _ = parse(&s);
        let _ = parse_time(&s, Utc::now());
    }
}

/// Regression (found by the `query` fuzz target): an `_exists_` field with characters that
/// end or change a word printed unescaped and did not parse back.
#[test]
fn exists_fields_with_special_characters_print_back() {
    let q = ferrodef_query::parse("_exists_:a\\\"b").expect("parses");
    let printed = q.to_string();
    assert_eq!(
        ferrodef_query::parse(&printed).expect("prints back"),
        q,
        "{printed}"
    );
    for field in [
        "a\"b",
        "a b",
        "a:b",
        "a(b)",
        "a\\b",
        "x/y",
        "a-b",
        "details.x[0]",
    ] {
        let e = ferrodef_query::Expr::Exists {
            field: field.to_string(),
        };
        let printed = e.to_string();
        assert_eq!(
            ferrodef_query::parse(&printed).unwrap_or_else(|err| panic!("{printed}: {err}")),
            e,
            "{field:?} printed as {printed}"
        );
    }
}

/// Date math read once gives, at any time, what reading the whole expression gives then.
#[test]
fn date_math_read_once_is_the_time_read_each_time() {
    use chrono::{Duration, TimeZone, Utc};
    use ferrodef_query::{parse_time, DateMath};
    let base = Utc
        .with_ymd_and_hms(2026, 1, 31, 23, 59, 58)
        .single()
        .unwrap_or_default();
    for expr in [
        "now",
        " now-15m ",
        "now-1d/d",
        "now+1M",
        "now-1M/M",
        "now-1y/y+2h",
        "now/w",
        "now-90s",
        "now+1w-3d/h",
        "now-10000y",
        "now-1q",
        "now/q",
        "now-",
        "now-5",
        "now*2",
        "now+99999999999999999999d",
    ] {
        for step in 0..50i64 {
            let now = base + Duration::hours(step * 37) + Duration::seconds(step);
            let once = DateMath::parse(expr).map(|m| m.and_then(|m| m.at(now)));
            assert_eq!(once, Some(parse_time(expr, now)), "{expr:?} at {now}");
        }
    }
    assert!(DateMath::parse("2026-01-01").is_none());
}
