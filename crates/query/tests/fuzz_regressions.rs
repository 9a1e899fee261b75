//! Inputs the fuzzer (`fuzz/fuzz_targets/query.rs`) found: whatever parses prints back to a
//! query that parses again.

fn roundtrip(q: &str) {
    let e = ferrodef_query::parse(q).expect("parses");
    let printed = e.to_string();
    let again = ferrodef_query::parse(&printed)
        .unwrap_or_else(|err| panic!("{q:?} printed as {printed:?}: {err}"));
    assert_eq!(again.to_string(), printed, "{q:?}");
}

/// The fuzzer's input: a wildcard word inside `_exists_:( … )` was taken as a pattern and
/// printed as `_exists_:…*b`, which does not parse. Inside the group a word is a field name,
/// as after `_exists_:`, so the wildcard is refused the same way; without it, it prints back.
#[test]
fn exists_over_a_group_with_control_characters_prints_back() {
    let err = ferrodef_query::parse("_exists_:(+ a#+a -\u{1}\0ostnam*b) eeO")
        .expect_err("a wildcard is no field name");
    assert!(
        err.to_string().contains("_exists_ takes a field name"),
        "{err}"
    );
    roundtrip("_exists_:(+ a#+a -\u{1}\0ostnamb) eeO");
}

#[test]
fn exists_over_a_group_means_each_field_exists() {
    let e = ferrodef_query::parse("_exists_:(a b)").expect("parses");
    assert_eq!(e.to_string(), "_exists_:a AND _exists_:b");
    let err = ferrodef_query::parse("_exists_:(a b*)").expect_err("a wildcard is no field name");
    assert!(
        err.to_string().contains("_exists_ takes a field name"),
        "{err}"
    );
}

/// The fuzzer's input: inside `field:( … )` a word may start with '>' (there it is no
/// comparison), and a wildcard pattern `>>>>…*b` printed after `field:` read as a range.
/// It prints with the '>' escaped and means the same.
#[test]
fn a_wildcard_starting_with_a_comparison_sign_in_a_field_group_prints_back() {
    roundtrip("_exists@_:(+@\0\0\0\0 ->>>>\u{1}\0oszgnam*b) e\0\0(\0\0\0 -\u{1}\0oszgnam*b) eeO");
    roundtrip("f:(>a* <b?)");
    let e = ferrodef_query::parse("f:(>a*)").expect("parses");
    assert_eq!(e.to_string(), "f:\\>a*");
    // The escaped pattern matches what the unescaped one did.
    let ferrodef_query::Expr::Wildcard { pattern, .. } =
        ferrodef_query::parse("f:\\>a*").expect("parses")
    else {
        panic!("a wildcard");
    };
    assert_eq!(
        ferrodef_query::wildcard_to_regex(&pattern),
        ferrodef_query::wildcard_to_regex(">a*")
    );
}
