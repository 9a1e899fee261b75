//! The literal prefilter (log-source index + Aho-Corasick over the literals rules need) must
//! never change what matches: ORs of ANDs whose common part (`type: EXECVE`) is in every
//! event, wildcard values, numbers, `cased`, non-ASCII text under Unicode case rules, and a
//! rule set evaluated many times on one thread (per-thread scratch state reused).

use ferrodef_sigma::{ProblemSeverity, SigmaRules};
use serde_json::{json, Value};

fn rules(logsource: &str, detection: &str) -> SigmaRules {
    let text = format!(
        "title: T\nid: 22222222-2222-2222-2222-222222222222\n{logsource}detection:\n{detection}"
    );
    let (rules, problems) = SigmaRules::from_str(&text, "p.yml");
    let errors: Vec<_> = problems
        .iter()
        .filter(|p| p.severity == ProblemSeverity::Error)
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    rules
}

fn execve(args: &[&str]) -> Value {
    json!({
        "utctimestamp": "2026-01-01T00:00:00Z", "category": "execution", "tags": ["auditd"],
        "summary": format!("execve {}", args.join(" ")),
        "details": {"audittype": "SYSCALL", "recordtypes": ["SYSCALL", "EXECVE", "PATH"],
                    "args": args, "exe": format!("/usr/bin/{}", args[0]),
                    "command": args.join(" "), "paths": ["/usr/bin/x"], "pid": 4242}
    })
}

fn hit(r: &SigmaRules, e: &Value) -> bool {
    !r.matches(e).is_empty()
}

#[test]
fn or_of_ands_with_a_common_literal() {
    let r = rules(
        "logsource:\n  product: linux\n  service: auditd\n",
        "  s1:\n    type: PATH\n    name: /etc/issue\n  s2:\n    type: EXECVE\n    a0: [uname, uptime]\n  s3:\n    type: EXECVE\n    a0: grep\n    a1|contains: [vbox, xen]\n  condition: 1 of s*\n",
    );
    assert!(hit(&r, &execve(&["uname", "-a"])));
    assert!(hit(&r, &execve(&["UPTIME"])));
    assert!(
        hit(&r, &execve(&["grep", "XEN", "/proc/cpuinfo"])),
        "a1 is args.1"
    );
    assert!(!hit(&r, &execve(&["grep", "-i", "foo"])));
    assert!(!hit(&r, &execve(&["ls", "-la"])));
    let mut path = execve(&["cat"]);
    path["details"]["paths"] = json!(["/etc/issue"]);
    assert!(hit(&r, &path));
}

#[test]
fn wildcards_numbers_and_cased_values() {
    let r = rules(
        "logsource:\n  product: linux\n  category: process_creation\n",
        "  sel:\n    CommandLine: '*wget * - > /tmp/*'\n  num:\n    ProcessId: 4242\n  cased:\n    CommandLine|cased|contains: 'ABC'\n  condition: (sel and num) or cased\n",
    );
    assert!(hit(&r, &execve(&["WGET", "http://x", "-", ">", "/tmp/a"])));
    assert!(!hit(&r, &execve(&["wget", "http://x", "-O", "/tmp/a"])));
    assert!(hit(&r, &execve(&["echo", "xABCx"])));
    assert!(!hit(&r, &execve(&["echo", "xabcx"])), "cased");
    let mut other_pid = execve(&["wget", "u", "-", ">", "/tmp/a"]);
    other_pid["details"]["pid"] = json!(1);
    assert!(!hit(&r, &other_pid));
}

#[test]
fn non_ascii_text_follows_unicode_case_rules() {
    // U+212A KELVIN SIGN lower-cases to an ASCII `k`: the evaluation matches `kill`, so the
    // prefilter must let the text through.
    let r = rules(
        "logsource:\n  product: linux\n",
        "  keywords:\n    - 'kill -9'\n  condition: keywords\n",
    );
    let mut e = execve(&["x"]);
    e["summary"] = json!("\u{212A}ILL -9 1234");
    assert!(hit(&r, &e));
    e["summary"] = json!("käse -9");
    assert!(!hit(&r, &e));
}

#[test]
fn repeated_and_interleaved_events_give_the_same_answers() {
    let r = rules(
        "logsource:\n  product: linux\n  service: auditd\n",
        "  sel:\n    type: EXECVE\n    a0: nc\n    a1: '-e'\n  condition: sel\n",
    );
    let yes = execve(&["nc", "-e", "/bin/sh"]);
    let no = execve(&["nc", "-l", "4444"]);
    for _ in 0..50 {
        assert!(hit(&r, &yes));
        assert!(!hit(&r, &no));
    }
    // A callback that evaluates another event (re-entrant use on the same thread).
    let mut inner = 0;
    r.for_each_match(&yes, |_| {
        inner += usize::from(hit(&r, &yes)) + usize::from(hit(&r, &no));
    });
    assert_eq!(inner, 1);
}
