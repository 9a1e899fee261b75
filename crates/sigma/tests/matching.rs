//! Detection semantics: selections, keywords, wildcards, every modifier, conditions,
//! filters, log sources and the event formats of the mapping.

use ferrodef_sigma::{ProblemSeverity, SigmaRules};
use serde_json::{json, Value};

/// A rule for `product: test` (no mapping: evaluated on every event, a warning).
fn rule(detection: &str) -> SigmaRules {
    rule_ls(
        "logsource:\n  product: windows\n  category: process_creation\n",
        detection,
    )
}

fn rule_ls(logsource: &str, detection: &str) -> SigmaRules {
    let text = format!(
        "title: T\nid: 11111111-1111-1111-1111-111111111111\nlevel: high\n{logsource}detection:\n{detection}"
    );
    let (rules, problems) = SigmaRules::from_str(&text, "test.yml");
    let errors: Vec<_> = problems
        .iter()
        .filter(|p| p.severity == ProblemSeverity::Error)
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(rules.len(), 1);
    rules
}

/// A Sysmon process creation event (EventID 1) as flat nxlog keys plus `extra`.
fn ev(extra: Value) -> Value {
    let mut e = json!({"EventID": 1, "Channel": "Microsoft-Windows-Sysmon/Operational"});
    if let (Some(m), Value::Object(x)) = (e.as_object_mut(), extra) {
        m.extend(x);
    }
    e
}

fn hit(rules: &SigmaRules, e: &Value) -> bool {
    !rules.matches(e).is_empty()
}

#[test]
fn maps_are_and_lists_are_or() {
    let r = rule("  sel:\n    Image|endswith: '\\cmd.exe'\n    CommandLine|contains:\n      - ' /c '\n      - ' /k '\n  condition: sel\n");
    assert!(hit(
        &r,
        &ev(json!({"Image": "C:\\Windows\\System32\\CMD.EXE", "CommandLine": "cmd /c dir"}))
    ));
    assert!(hit(
        &r,
        &ev(json!({"Image": "C:\\x\\cmd.exe", "CommandLine": "cmd /K dir"}))
    ));
    assert!(!hit(
        &r,
        &ev(json!({"Image": "C:\\x\\cmd.exe", "CommandLine": "cmd dir"}))
    ));
    assert!(!hit(
        &r,
        &ev(json!({"Image": "C:\\x\\powershell.exe", "CommandLine": "x /c y"}))
    ));
    // List of maps: OR of ANDs.
    let r = rule("  sel:\n    - Image|endswith: a.exe\n      User: bob\n    - Image|endswith: b.exe\n  condition: sel\n");
    assert!(hit(&r, &ev(json!({"Image": "x\\a.exe", "User": "BOB"}))));
    assert!(!hit(&r, &ev(json!({"Image": "x\\a.exe", "User": "alice"}))));
    assert!(hit(&r, &ev(json!({"Image": "x\\b.exe"}))));
}

#[test]
fn wildcards_case_and_escapes() {
    let r = rule("  sel:\n    CommandLine: '*net* user ?admin'\n  condition: sel\n");
    assert!(hit(
        &r,
        &ev(json!({"CommandLine": "C:\\NET.exe user xADMIN"}))
    ));
    assert!(!hit(&r, &ev(json!({"CommandLine": "net user admin"}))));
    let r = rule("  sel:\n    CommandLine|cased: 'Get-Item'\n  condition: sel\n");
    assert!(hit(&r, &ev(json!({"CommandLine": "Get-Item"}))));
    assert!(!hit(&r, &ev(json!({"CommandLine": "get-item"}))));
    let r = rule("  sel:\n    CommandLine: 'a\\*b'\n  condition: sel\n");
    assert!(hit(&r, &ev(json!({"CommandLine": "a*b"}))));
    assert!(!hit(&r, &ev(json!({"CommandLine": "axxb"}))));
}

#[test]
fn null_empty_exists_and_numbers() {
    let r = rule("  sel:\n    ParentImage: null\n  condition: sel\n");
    assert!(hit(&r, &ev(json!({}))));
    assert!(hit(&r, &ev(json!({"ParentImage": null}))));
    assert!(!hit(&r, &ev(json!({"ParentImage": "x"}))));
    let r = rule("  sel:\n    ParentImage: ''\n  condition: sel\n");
    assert!(hit(&r, &ev(json!({"ParentImage": ""}))));
    assert!(!hit(&r, &ev(json!({}))));
    let r = rule("  sel:\n    Hashes|exists: true\n  condition: sel\n");
    assert!(hit(&r, &ev(json!({"Hashes": "x"}))));
    assert!(!hit(&r, &ev(json!({}))));
    let r = rule("  sel:\n    Hashes|exists: false\n  condition: sel\n");
    assert!(hit(&r, &ev(json!({}))));
    let r = rule("  sel:\n    LogonType: 10\n  condition: sel\n");
    assert!(hit(&r, &ev(json!({"LogonType": 10}))));
    assert!(hit(&r, &ev(json!({"LogonType": "10"}))));
    assert!(!hit(&r, &ev(json!({"LogonType": 3}))));
    let r = rule("  sel:\n    Size|gte: 100\n    Size|lt: 200\n  condition: sel\n");
    assert!(hit(&r, &ev(json!({"Size": 100}))));
    assert!(hit(&r, &ev(json!({"Size": "150"}))));
    assert!(!hit(&r, &ev(json!({"Size": 200}))));
    let r = rule("  sel:\n    Size|gt: 1\n    Size|lte: 2\n  condition: sel\n");
    assert!(hit(&r, &ev(json!({"Size": 2}))));
    assert!(!hit(&r, &ev(json!({"Size": 1}))));
}

#[test]
fn all_neq_startswith_re() {
    let r = rule("  sel:\n    CommandLine|contains|all:\n      - '-enc'\n      - 'hidden'\n  condition: sel\n");
    assert!(hit(&r, &ev(json!({"CommandLine": "ps -ENC x -w hidden"}))));
    assert!(!hit(&r, &ev(json!({"CommandLine": "ps -enc x"}))));
    let r = rule("  sel:\n    User|neq: SYSTEM\n  condition: sel\n");
    assert!(hit(&r, &ev(json!({"User": "bob"}))));
    assert!(!hit(&r, &ev(json!({"User": "system"}))));
    let r = rule("  sel:\n    Image|startswith: 'C:\\Users\\'\n  condition: sel\n");
    assert!(hit(&r, &ev(json!({"Image": "c:\\users\\x.exe"}))));
    assert!(!hit(&r, &ev(json!({"Image": "D:\\c:\\users\\"}))));
    let r = rule("  sel:\n    CommandLine|re: '\\s-O\\s'\n  condition: sel\n");
    assert!(hit(&r, &ev(json!({"CommandLine": "wget -O x"}))));
    assert!(!hit(&r, &ev(json!({"CommandLine": "wget -o x"}))));
    let r = rule("  sel:\n    CommandLine|re|i: '^WGET'\n  condition: sel\n");
    assert!(hit(&r, &ev(json!({"CommandLine": "wget -o x"}))));
    let r = rule("  sel:\n    CommandLine|re|m: '^b$'\n  condition: sel\n");
    assert!(hit(&r, &ev(json!({"CommandLine": "a\nb\nc"}))));
    let r = rule("  sel:\n    CommandLine|re|s: 'a.c'\n  condition: sel\n");
    assert!(hit(&r, &ev(json!({"CommandLine": "a\nc"}))));
    let r = rule("  sel:\n    CommandLine|re: 'a.c'\n  condition: sel\n");
    assert!(!hit(&r, &ev(json!({"CommandLine": "a\nc"}))));
}

#[test]
fn windash_base64_utf16() {
    let r = rule("  sel:\n    CommandLine|windash|contains: ' -enc '\n  condition: sel\n");
    assert!(hit(&r, &ev(json!({"CommandLine": "powershell /enc abc"}))));
    assert!(hit(
        &r,
        &ev(json!({"CommandLine": "powershell \u{2013}enc abc"}))
    ));
    assert!(!hit(&r, &ev(json!({"CommandLine": "powershell +enc abc"}))));
    let r = rule("  sel:\n    CommandLine|base64offset|contains: 'http://'\n  condition: sel\n");
    // "IEX http://x" encoded: "http://" at offset 4.
    assert!(hit(
        &r,
        &ev(json!({"CommandLine": "powershell -e SUVYIGh0dHA6Ly94"}))
    ));
    assert!(!hit(
        &r,
        &ev(json!({"CommandLine": "powershell -e c3RhcnQ="}))
    ));
    let r = rule("  sel:\n    CommandLine|base64: 'abc'\n  condition: sel\n");
    assert!(hit(&r, &ev(json!({"CommandLine": "YWJj"}))));
    assert!(
        !hit(&r, &ev(json!({"CommandLine": "ywjj"}))),
        "base64 is case-sensitive"
    );
    // UTF-16LE then base64: "ab" → "YQBiAA=="
    let r = rule("  sel:\n    CommandLine|wide|base64: 'ab'\n  condition: sel\n");
    assert!(hit(&r, &ev(json!({"CommandLine": "YQBiAA=="}))));
    let r = rule("  sel:\n    CommandLine|utf16be|base64: 'ab'\n  condition: sel\n");
    assert!(hit(&r, &ev(json!({"CommandLine": "AGEAYg=="}))));
    let r = rule("  sel:\n    CommandLine|utf16|base64: 'a'\n  condition: sel\n");
    assert!(hit(&r, &ev(json!({"CommandLine": "//5hAA=="}))));
    let r = rule("  sel:\n    CommandLine|utf16le|base64offset|contains: 'ab'\n  condition: sel\n");
    assert!(hit(&r, &ev(json!({"CommandLine": "x YQBiAA== y"}))));
}

#[test]
fn cidr_fieldref_time_parts() {
    let r = rule("  sel:\n    DestinationIp|cidr:\n      - 10.0.0.0/8\n      - 'fe80::/10'\n  condition: sel\n");
    assert!(hit(&r, &ev(json!({"DestinationIp": "10.1.2.3"}))));
    assert!(hit(&r, &ev(json!({"DestinationIp": "fe80::1"}))));
    assert!(!hit(&r, &ev(json!({"DestinationIp": "11.1.2.3"}))));
    assert!(!hit(&r, &ev(json!({"DestinationIp": "not an ip"}))));
    let r = rule("  sel:\n    User|fieldref: ParentUser\n  condition: sel\n");
    assert!(hit(&r, &ev(json!({"User": "A\\b", "ParentUser": "a\\B"}))));
    assert!(!hit(&r, &ev(json!({"User": "a", "ParentUser": "b"}))));
    assert!(!hit(&r, &ev(json!({"User": "a"}))));
    let r = rule("  sel:\n    CommandLine|fieldref|contains: Image\n  condition: sel\n");
    assert!(hit(
        &r,
        &ev(json!({"CommandLine": "run x.exe now", "Image": "X.EXE"}))
    ));
    let r = rule("  sel:\n    UtcTime|hour: 3\n    UtcTime|year: 2025\n    UtcTime|month: 11\n    UtcTime|day: 28\n    UtcTime|minute: 43\n    UtcTime|week: 48\n  condition: sel\n");
    assert!(hit(&r, &ev(json!({"UtcTime": "2025-11-28 03:43:04.579"}))));
    assert!(hit(&r, &ev(json!({"UtcTime": "2025-11-28T03:43:04Z"}))));
    assert!(!hit(&r, &ev(json!({"UtcTime": "2025-11-28 04:43:04.579"}))));
}

#[test]
fn expand_placeholders_and_unresolved_report() {
    let text = "title: T\nid: x1\nlogsource:\n  product: windows\n  category: process_creation\ndetection:\n  sel:\n    Image|expand: '%dir%\\x.exe'\n  condition: sel\n";
    let (rules, problems) = SigmaRules::from_str(text, "e.yml");
    assert_eq!(rules.len(), 0);
    assert_eq!(problems.len(), 1);
    assert!(problems[0].reason.contains("%dir%"), "{}", problems[0]);
    assert_eq!(problems[0].line, Some(8), "{}", problems[0]);
    let mut opts = ferrodef_sigma::LoadOptions::default();
    opts.placeholders
        .insert("dir".into(), vec!["C:\\a".into(), "C:\\b".into()]);
    let (rules, problems) = SigmaRules::from_texts(&[("e.yml".into(), text.to_string())], &opts);
    assert!(problems.is_empty(), "{problems:?}");
    assert!(hit(&rules, &ev(json!({"Image": "c:\\b\\x.exe"}))));
    assert!(!hit(&rules, &ev(json!({"Image": "c:\\c\\x.exe"}))));
}

#[test]
fn conditions_of_and_them() {
    let r = rule("  sel_a:\n    A: 1\n  sel_b:\n    B: 1\n  filter:\n    C: 1\n  condition: 1 of sel_* and not filter\n");
    assert!(hit(&r, &ev(json!({"A": 1}))));
    assert!(hit(&r, &ev(json!({"B": 1}))));
    assert!(!hit(&r, &ev(json!({"A": 1, "C": 1}))));
    assert!(!hit(&r, &ev(json!({}))));
    let r = rule("  sel_a:\n    A: 1\n  sel_b:\n    B: 1\n  condition: all of sel_*\n");
    assert!(hit(&r, &ev(json!({"A": 1, "B": 1}))));
    assert!(!hit(&r, &ev(json!({"A": 1}))));
    let r = rule("  a:\n    A: 1\n  b:\n    B: 1\n  condition: all of them\n");
    assert!(hit(&r, &ev(json!({"A": 1, "B": 1}))));
    assert!(!hit(&r, &ev(json!({"B": 1}))));
    let r = rule("  a:\n    A: 1\n  b:\n    B: 1\n  c:\n    C: 1\n  condition: 2 of them\n");
    assert!(hit(&r, &ev(json!({"A": 1, "C": 1}))));
    assert!(!hit(&r, &ev(json!({"C": 1}))));
    let r =
        rule("  a:\n    A: 1\n  b:\n    B: 1\n  c:\n    C: 1\n  condition: (a or b) and not (c)\n");
    assert!(hit(&r, &ev(json!({"B": 1}))));
    assert!(!hit(&r, &ev(json!({"B": 1, "C": 1}))));
}

#[test]
fn keywords_search_every_text_and_summary() {
    let rules = rule_ls(
        "logsource:\n  product: linux\n",
        "  keywords:\n    - 'reverse shell'\n    - 'Trojan*FOUND'\n  condition: keywords\n",
    );
    let fd = |summary: &str| json!({"utctimestamp": "2026-01-01T00:00:00Z", "summary": summary, "details": {}});
    assert!(hit(&rules, &fd("opened a REVERSE SHELL to x")));
    assert!(hit(&rules, &fd("/tmp/x: Trojan.Linux.X FOUND")));
    assert!(!hit(&rules, &fd("all good")));
    let nested = json!({"utctimestamp": "t", "summary": "x", "details": {"msg": "reverse shell"}});
    assert!(hit(&rules, &nested));
    // `|all` keywords: every value somewhere.
    let rules = rule_ls(
        "logsource:\n  product: linux\n",
        "  keywords:\n    '|all':\n      - 'alpha'\n      - 'beta'\n  condition: keywords\n",
    );
    assert!(hit(&rules, &fd("alpha and beta")));
    assert!(!hit(&rules, &fd("alpha only")));
}

#[test]
fn log_source_conditions_select_events() {
    // Windows security service: channel Security only.
    let r = rule_ls(
        "logsource:\n  product: windows\n  service: security\n",
        "  sel:\n    EventID: 4625\n  condition: sel\n",
    );
    assert!(hit(&r, &json!({"EventID": 4625, "Channel": "Security"})));
    assert!(!hit(&r, &json!({"EventID": 4625, "Channel": "System"})));
    // Raw Windows XML JSON, winlogbeat and ferrodef-normalized events.
    assert!(hit(
        &r,
        &json!({"Event": {"System": {"EventID": 4625, "Channel": "Security"}, "EventData": {}}})
    ));
    assert!(hit(
        &r,
        &json!({"winlog": {"event_id": 4625, "channel": "Security", "event_data": {}}})
    ));
    assert!(hit(
        &r,
        &json!({"utctimestamp": "2026-01-01T00:00:00Z", "details": {"eventid": 4625, "channel": "Security"}})
    ));
    // process_creation from Security 4688 uses NewProcessName for Image.
    let r = rule("  sel:\n    Image|endswith: '\\whoami.exe'\n  condition: sel\n");
    assert!(hit(
        &r,
        &json!({"EventID": 4688, "NewProcessName": "C:\\Windows\\whoami.exe"})
    ));
    assert!(hit(
        &r,
        &json!({"EventID": 1, "Image": "C:\\Windows\\whoami.exe"})
    ));
    assert!(!hit(
        &r,
        &json!({"EventID": 3, "Image": "C:\\Windows\\whoami.exe"})
    ));
}

#[test]
fn linux_rules_on_ferrodef_auditd_events() {
    let r = rule_ls(
        "logsource:\n  product: linux\n  service: auditd\n",
        "  sel:\n    type: EXECVE\n    a0: chmod\n    a1|contains: '+s'\n  condition: sel\n",
    );
    let e = json!({
        "utctimestamp": "2026-01-01T00:00:00Z", "category": "execution", "tags": ["auditd"],
        "summary": "x",
        "details": {"audittype": "SYSCALL", "recordtypes": ["SYSCALL", "EXECVE", "CWD"],
                    "args": ["chmod", "u+s", "/tmp/x"], "exe": "/usr/bin/chmod"}
    });
    assert!(hit(&r, &e));
    let mut other = e.clone();
    other["details"]["args"][1] = json!("644");
    assert!(!hit(&r, &other));
    let p = rule_ls(
        "logsource:\n  product: linux\n  category: process_creation\n",
        "  sel:\n    Image|endswith: '/chmod'\n    CommandLine|contains: 'u+s'\n  condition: sel\n",
    );
    let mut e2 = e.clone();
    e2["details"]["command"] = json!("chmod u+s /tmp/x");
    assert!(hit(&p, &e2));
    let mut e3 = e2.clone();
    e3["category"] = json!("authentication");
    assert!(!hit(&p, &e3), "process_creation needs category execution");
}

#[test]
fn filters_apply_to_their_rules() {
    let text = "title: R\nid: r-1\nlogsource:\n  product: windows\n  category: process_creation\ndetection:\n  sel:\n    Image|endswith: '\\x.exe'\n  condition: sel\n---\ntitle: F\nid: f-1\nlogsource:\n  product: windows\nfilter:\n  rules:\n    - r-1\n  dc:\n    Computer|startswith: 'DC-'\n  condition: not dc\n";
    let (rules, problems) = SigmaRules::from_str(text, "f.yml");
    assert!(problems.is_empty(), "{problems:?}");
    assert!(hit(
        &rules,
        &ev(json!({"Image": "a\\x.exe", "Computer": "WS-1"}))
    ));
    assert!(!hit(
        &rules,
        &ev(json!({"Image": "a\\x.exe", "Computer": "DC-1"}))
    ));
}

#[test]
fn problems_name_file_line_and_reason() {
    let cases = [
        ("title: T\nid: a\nlogsource:\n  product: windows\ndetection:\n  sel:\n    A|bogus: 1\n  condition: sel\n", "unsupported modifier `bogus`", 7),
        ("title: T\nid: a\nlogsource:\n  product: windows\ndetection:\n  sel:\n    A: 1\n  condition: sel | count() > 5\n", "aggregation", 8),
        ("title: T\nid: a\nlogsource:\n  product: windows\ndetection:\n  sel:\n    A: 1\n  condition: nope\n", "`nope`", 8),
        ("title: T\nlogsource:\n  product: windows\ndetection:\n  sel:\n    A: 1\n  condition: sel\n", "no `id`", 1),
        ("title: T\nid: a\ndetection:\n  sel:\n    A: 1\n  condition: sel\n", "no `logsource`", 1),
        ("title: T\nid: a\nlogsource:\n  product: windows\ndetection:\n  sel:\n    A: 1\n", "no `condition`", 5),
        ("title: T\nid: a\nlogsource:\n  product: windows\ndetection:\n  sel:\n    A|re: '(unclosed'\n  condition: sel\n", "regex", 7),
        ("title: T\nid: a\nlogsource:\n  product: windows\ndetection:\n  sel:\n    A|cidr: 'x'\n  condition: sel\n", "CIDR", 7),
        ("title: T\nid: a\n  bad: [\n", "invalid YAML", 3),
    ];
    for (text, reason, line) in cases {
        let (rules, problems) = SigmaRules::from_str(text, "p.yml");
        assert_eq!(rules.len(), 0, "{text}");
        assert_eq!(problems.len(), 1, "{text}: {problems:?}");
        let p = &problems[0];
        assert!(p.reason.contains(reason), "{text}: {p}");
        assert_eq!(p.line, Some(line), "{text}: {p}");
        assert!(p.to_string().starts_with("p.yml:"), "{p}");
    }
}

#[test]
fn unmapped_log_source_is_a_warning_and_rule_still_runs() {
    let text = "title: T\nid: a\nlogsource:\n  product: acme\ndetection:\n  sel:\n    x: 1\n  condition: sel\n";
    let (rules, problems) = SigmaRules::from_str(text, "w.yml");
    assert_eq!(rules.len(), 1);
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].severity, ProblemSeverity::Warning);
    assert!(hit(&rules, &json!({"x": 1})));
}

#[test]
fn rule_info_carries_metadata_and_severity() {
    let text = "title: T\nid: a\nstatus: test\ndescription: d\nreferences:\n  - https://x\ntags:\n  - attack.t1059\nlevel: critical\nfields:\n  - CommandLine\nlogsource:\n  product: windows\n  category: process_creation\ndetection:\n  sel:\n    Image: x\n  condition: sel\n";
    let (rules, _) = SigmaRules::from_str(text, "m.yml");
    let r = &rules.rules()[0];
    assert_eq!(r.status.as_deref(), Some("test"));
    assert_eq!(r.tags, vec!["attack.t1059".to_string()]);
    assert_eq!(r.fields, vec!["CommandLine".to_string()]);
    assert_eq!(r.references, vec!["https://x".to_string()]);
    assert_eq!(r.severity(), ferrodef_event::Severity::Critical);
    assert_eq!(r.path, std::path::PathBuf::from("m.yml"));
}
