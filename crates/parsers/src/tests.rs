use super::*;
use crate::access::{access_fields, AccessFields};
use crate::sshd::ssh_auth;
use serde_json::{json, Value};

fn f(p: &Parsed, k: &str) -> Value {
    p.fields.get(k).cloned().unwrap_or(Value::Null)
}

#[test]
fn sshd_failures_and_more() {
    let p =
        parse_sshd("Failed password for invalid user admin from 1.2.3.4 port 2222 ssh2").unwrap();
    assert_eq!(p.category, Some("authentication"));
    assert_eq!(
        (
            f(&p, "username"),
            f(&p, "sourceipaddress"),
            f(&p, "sourceport"),
            f(&p, "authmethod"),
            f(&p, "success"),
            f(&p, "invaliduser")
        ),
        (
            json!("admin"),
            json!("1.2.3.4"),
            json!("2222"),
            json!("password"),
            json!(false),
            json!(true)
        )
    );
    let p = parse_sshd(
        "Failed publickey for root from 2001:db8::7 port 50000 ssh2: ED25519 SHA256:abc",
    )
    .unwrap();
    assert_eq!(
        (f(&p, "sourceipaddress"), f(&p, "rsakeyfingerprint")),
        (json!("2001:db8::7"), json!("SHA256:abc"))
    );
    let p = parse_sshd("Invalid user oracle from 203.0.113.9 port 4711").unwrap();
    assert_eq!(
        (f(&p, "username"), f(&p, "sourceport"), f(&p, "success")),
        (json!("oracle"), json!("4711"), json!(false))
    );
    let p = parse_sshd("Received disconnect from 198.51.100.4 port 50522:11: Bye Bye [preauth]")
        .unwrap();
    assert_eq!(
        (f(&p, "sourceipaddress"), f(&p, "sourceport")),
        (json!("198.51.100.4"), json!("50522"))
    );
    let p = parse_sshd("Disconnected from invalid user test 198.51.100.4 port 50522 [preauth]")
        .unwrap();
    assert_eq!(
        (f(&p, "username"), f(&p, "disconnect")),
        (json!("test"), json!("invalid"))
    );
    let p = parse_sshd("error: maximum authentication attempts exceeded for root from 192.0.2.8 port 1234 ssh2 [preauth]").unwrap();
    assert_eq!(
        (f(&p, "username"), f(&p, "success")),
        (json!("root"), json!(false))
    );
    let p = parse_sshd("PAM 2 more authentication failures; logname= uid=0 euid=0 tty=ssh ruser= rhost=192.0.2.8  user=root").unwrap();
    assert_eq!(
        (f(&p, "username"), f(&p, "sourceipaddress")),
        (json!("root"), json!("192.0.2.8"))
    );
    let p = parse_sshd("pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=192.0.2.9  user=bob").unwrap();
    assert_eq!(
        (f(&p, "username"), f(&p, "sourceipaddress")),
        (json!("bob"), json!("192.0.2.9"))
    );
    let p = parse_sshd("reverse mapping checking getaddrinfo for host.example.net [192.0.2.10] failed - POSSIBLE BREAK-IN ATTEMPT!").unwrap();
    assert_eq!(
        (f(&p, "sourceipaddress"), f(&p, "sourcehostname")),
        (json!("192.0.2.10"), json!("host.example.net"))
    );
    assert!(p.tags.contains(&"reverse_mapping_failed"));
    let p = parse_sshd("Address 192.0.2.11 maps to x.example.org, but this does not map back to the address - POSSIBLE BREAK-IN ATTEMPT!").unwrap();
    assert_eq!(f(&p, "sourceipaddress"), json!("192.0.2.11"));
    assert!(parse_sshd("Server listening on 0.0.0.0 port 22.").is_none());
}

#[test]
fn sudo_lines() {
    // The seed's own example.
    let p = parse_by_program(
        "sudo",
        "  averez : TTY=ttys004 ; PWD=/Users/averez ; USER=root ; COMMAND=/usr/bin/su",
    )
    .unwrap();
    assert_eq!(
        (
            f(&p, "username"),
            f(&p, "tty"),
            f(&p, "pwd"),
            f(&p, "targetuser"),
            f(&p, "command"),
            f(&p, "success")
        ),
        (
            json!("averez"),
            json!("ttys004"),
            json!("/Users/averez"),
            json!("root"),
            json!("/usr/bin/su"),
            json!(true)
        )
    );
    let p = parse_sudo("bob : 3 incorrect password attempts ; TTY=pts/1 ; PWD=/home/bob ; USER=root ; COMMAND=/bin/bash").unwrap();
    assert_eq!(
        (f(&p, "success"), f(&p, "failure")),
        (json!(false), json!("3 incorrect password attempts"))
    );
    let p = parse_sudo(
        "eve : user NOT in sudoers ; TTY=pts/2 ; PWD=/tmp ; USER=root ; COMMAND=/usr/bin/id",
    )
    .unwrap();
    assert_eq!(f(&p, "failure"), json!("user NOT in sudoers"));
    let p = parse_sudo("alice : TTY=pts/0 ; PWD=/srv ; USER=postgres ; ENV=A=b ; COMMAND=/usr/bin/psql -c select 1").unwrap();
    assert_eq!(f(&p, "command"), json!("/usr/bin/psql -c select 1"));
    let p = parse_sudo("pam_unix(sudo:auth): authentication failure; logname=bob uid=1000 euid=0 tty=/dev/pts/1 ruser=bob rhost=  user=bob").unwrap();
    assert_eq!(f(&p, "success"), json!(false));
    assert!(parse_sudo("something else").is_none());
}

#[test]
fn su_lines() {
    let p = parse_su("FAILED SU (to root) bob on pts/3").unwrap();
    assert_eq!(
        (f(&p, "fromuser"), f(&p, "touser"), f(&p, "success")),
        (json!("bob"), json!("root"), json!(false))
    );
    let p = parse_su("Successful su for root by alice").unwrap();
    assert_eq!(
        (f(&p, "fromuser"), f(&p, "success")),
        (json!("alice"), json!(true))
    );
    let p = parse_su("+ pts/0 alice:root").unwrap();
    assert_eq!(
        (f(&p, "fromuser"), f(&p, "touser"), f(&p, "success")),
        (json!("alice"), json!("root"), json!(true))
    );
}

#[test]
fn pam_sessions() {
    let p = parse_by_program(
        "CRON",
        "pam_unix(cron:session): session opened for user root(uid=0) by root(uid=0)",
    )
    .unwrap();
    assert_eq!(
        (
            f(&p, "service"),
            f(&p, "status"),
            f(&p, "username"),
            f(&p, "uid"),
            f(&p, "originuser")
        ),
        (
            json!("cron"),
            json!("opened"),
            json!("root"),
            json!("0"),
            json!("root")
        )
    );
    let p = parse_pam_session(
        "systemd",
        "pam_unix(systemd-user:session): session closed for user alice",
    )
    .unwrap();
    assert_eq!(
        (f(&p, "status"), f(&p, "uid")),
        (json!("closed"), Value::Null)
    );
}

#[test]
fn access_logs() {
    let p = parse_access_log(r#"127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326 "http://www.example.com/start.html" "Mozilla/4.08 [en] (Win98; I ;Nav)""#).unwrap();
    assert_eq!(p.category, Some("web"));
    assert_eq!(
        (
            f(&p, "sourceipaddress"),
            f(&p, "user"),
            f(&p, "method"),
            f(&p, "url"),
            f(&p, "status"),
            f(&p, "bytes"),
            f(&p, "referrer"),
            f(&p, "useragent")
        ),
        (
            json!("127.0.0.1"),
            json!("frank"),
            json!("GET"),
            json!("/apache_pb.gif"),
            json!(200),
            json!(2326),
            json!("http://www.example.com/start.html"),
            json!("Mozilla/4.08 [en] (Win98; I ;Nav)")
        )
    );
    let p = parse_access_log(
        r#"2001:db8::1 - - [22/Nov/2026:10:00:00 +0000] "POST /login HTTP/1.1" 401 -"#,
    )
    .unwrap();
    assert_eq!(
        (f(&p, "status"), f(&p, "bytes"), f(&p, "user")),
        (json!(401), json!(0), Value::Null)
    );
    let p = parse_access_log("1286536308.779    180 192.168.0.224 TCP_DENIED/403 411 CONNECT evil.example.com:8443 - HIER_NONE/- text/html").unwrap();
    assert_eq!(p.category, Some("proxy"));
    assert_eq!(
        (
            f(&p, "sourceipaddress"),
            f(&p, "proxyaction"),
            f(&p, "status"),
            f(&p, "method"),
            f(&p, "host"),
            f(&p, "destinationport")
        ),
        (
            json!("192.168.0.224"),
            json!("TCP_DENIED"),
            json!(403),
            json!("CONNECT"),
            json!("evil.example.com"),
            json!("8443")
        )
    );
    let p = parse_access_log("1286536308.779    180 192.168.0.224 TCP_MISS/200 411 GET http://example.com/index.html - DIRECT/93.184.216.34 text/html").unwrap();
    assert_eq!(
        (f(&p, "host"), f(&p, "destination")),
        (json!("example.com"), json!("http://example.com/index.html"))
    );
    assert!(parse_access_log("not an access log").is_none());
}

/// The regular expressions the hand-written sshd and access-log matchers replaced (with
/// `[0-9]` for `\d`: ports and status codes are ASCII digits). The matchers must agree with
/// them on every line.
mod reference {
    use super::*;
    use proptest::prelude::*;
    use regex::Regex;
    use std::sync::LazyLock;

    static SSH_AUTH: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"^(Accepted|Failed|Postponed) (\S+) for (invalid user )?(\S+) from (\S+) port ([0-9]+)(?: ssh[0-9]?)?(?:: (?:RSA|ECDSA|ED25519|DSA|RSA-CERT|ECDSA-CERT|ED25519-CERT) (\S+))?").unwrap()
    });
    static ACCESS: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r#"^(\S+) (\S+) (\S+) \[([^\]]+)\] "(\S+) (\S+)(?: (\S+))?" ([0-9]{3}) ([0-9]+|-)(?: "([^"]*)" "([^"]*)")?"#).unwrap()
    });

    /// What the regex captured: method, user, invalid, ip, port, fingerprint, status.
    fn ssh_regex(msg: &str) -> Option<Vec<Option<String>>> {
        let c = SSH_AUTH.captures(msg)?;
        let g = |i| c.get(i).map(|m| m.as_str().to_string());
        Some(vec![
            g(2),
            g(4),
            g(3).map(|_| "true".into()),
            g(5),
            g(6),
            g(7),
            g(1),
        ])
    }

    fn ssh_hand(msg: &str) -> Option<Vec<Option<String>>> {
        let p = ssh_auth(msg)?;
        let s = |k: &str| p.fields.get(k).and_then(Value::as_str).map(str::to_string);
        let status = s("authstatus").or_else(|| Some("Postponed".into()));
        if status.as_deref() == Some("Postponed") {
            // The regex still captured everything; the parser returns only method and user.
            let r = ssh_regex(msg)?;
            return Some(vec![
                s("authmethod"),
                s("username"),
                r[2].clone(),
                r[3].clone(),
                r[4].clone(),
                r[5].clone(),
                status,
            ]);
        }
        Some(vec![
            s("authmethod"),
            s("username"),
            p.fields.get("invaliduser").map(|_| "true".into()),
            s("sourceipaddress"),
            s("sourceport"),
            s("rsakeyfingerprint"),
            status,
        ])
    }

    fn access_regex(line: &str) -> Option<AccessFields<'_>> {
        let c = ACCESS.captures(line)?;
        let g = |i| c.get(i).map(|m| m.as_str());
        Some(AccessFields {
            client: g(1)?,
            user: g(3)?,
            time: g(4)?,
            method: g(5)?,
            url: g(6)?,
            protocol: g(7),
            status: g(8)?,
            bytes: g(9)?,
            referrer: g(10),
            useragent: g(11),
        })
    }

    fn word() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("invalid".to_string()),
            Just("user".to_string()),
            Just("from".to_string()),
            Just("port".to_string()),
            Just("ssh2".to_string()),
            Just("RSA".to_string()),
            Just("ED25519-CERT".to_string()),
            Just("SHA256:x".to_string()),
            "[0-9]{1,6}",
            "[a-z0-9.:]{1,12}",
            "[a-zA-Z0-9:\\-\\[\\]\u{e9}\u{3000}]{0,6}",
        ]
    }

    fn sep() -> impl Strategy<Value = &'static str> {
        prop_oneof![8 => Just(" "), 1 => Just("  "), 1 => Just("\t"), 1 => Just(": "), 1 => Just("")]
    }

    fn sshd_line() -> impl Strategy<Value = String> {
        let head = prop_oneof![
            Just("Accepted"),
            Just("Failed"),
            Just("Postponed"),
            Just("Rejected")
        ];
        (head, proptest::collection::vec((sep(), word()), 0..14)).prop_map(|(h, rest)| {
            let mut s = h.to_string();
            for (sep, w) in rest {
                s.push_str(sep);
                s.push_str(&w);
            }
            s
        })
    }

    fn templated_sshd() -> impl Strategy<Value = String> {
        (
            prop_oneof![Just("Accepted"), Just("Failed"), Just("Postponed")],
            word(),
            prop_oneof![Just(""), Just("invalid user ")],
            word(),
            word(),
            "[0-9]{0,6}",
            prop_oneof![
                Just(""),
                Just(" ssh2"),
                Just(" ssh"),
                Just(" ssh22"),
                Just(" sshx")
            ],
            prop_oneof![
                Just(""),
                Just(": RSA SHA256:abc"),
                Just(": RSA-CERT x y"),
                Just(": FOO x"),
                Just(": RSA "),
                Just(":RSA x")
            ],
        )
            .prop_map(|(st, m, inv, u, ip, port, ssh, fp)| {
                format!("{st} {m} for {inv}{u} from {ip} port {port}{ssh}{fp}")
            })
    }

    fn token() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-zA-Z0-9/.:?=&%\\-]{0,10}",
            "[0-9]{1,4}",
            Just("-".to_string()),
            Just("]".to_string()),
            Just("\"".to_string()),
            Just("HTTP/1.1".to_string()),
        ]
    }

    fn access_line() -> impl Strategy<Value = String> {
        (
            (token(), token(), token(), "[a-zA-Z0-9/: +\\-]{0,12}"),
            (
                token(),
                token(),
                prop_oneof![Just(None), token().prop_map(Some)],
            ),
            (
                "[0-9]{2,4}",
                prop_oneof![Just("-".to_string()), "[0-9]{0,5}", token()],
            ),
            prop_oneof![
                Just(String::new()),
                (
                    "[a-zA-Z0-9 /:.\\-]{0,12}",
                    "[a-zA-Z0-9 ();/.\\-\\[\\]]{0,16}"
                )
                    .prop_map(|(r, a)| format!(" \"{r}\" \"{a}\"")),
                "[ \"a-z]{0,6}",
            ],
        )
            .prop_map(
                |((ip, id, user, time), (m, url, proto), (status, bytes), tail)| {
                    let proto = proto.map(|p| format!(" {p}")).unwrap_or_default();
                    format!("{ip} {id} {user} [{time}] \"{m} {url}{proto}\" {status} {bytes}{tail}")
                },
            )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]
        #[test]
        fn ssh_auth_agrees_with_regex(line in prop_oneof![sshd_line(), templated_sshd()]) {
            prop_assert_eq!(ssh_hand(&line), ssh_regex(&line), "{:?}", line);
        }

        /// Without `"` inside the request's words, the request's end is unambiguous and the
        /// matcher and the regex agree field by field.
        #[test]
        fn access_agrees_with_regex(line in access_line()) {
            let hand = access_fields(&line);
            let re = access_regex(&line);
            let request_has_quote = line.split('"').count() > 3 && re.is_some();
            if !request_has_quote {
                prop_assert_eq!(hand, re, "{:?}", line);
            }
        }
    }

    #[test]
    fn access_corpus_lines_agree() {
        for line in [
            r#"127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326 "http://www.example.com/start.html" "Mozilla/4.08 [en] (Win98; I ;Nav)""#,
            r#"2001:db8::1 - - [22/Nov/2026:10:00:00 +0000] "POST /login HTTP/1.1" 401 -"#,
            r#"10.0.0.1 - - [22/Nov/2026:10:00:00 +0000] "GET /x" 200 5"#,
            r#"10.0.0.1 - - [22/Nov/2026:10:00:00 +0000] "GET /x HTTP/1.1" 2000 5"#,
            r#"10.0.0.1 - - [] "GET /x HTTP/1.1" 200 5"#,
            r#"10.0.0.1 - - [t] "GET  /x" 200 5"#,
            r#"10.0.0.1 - - [t] "GET /x HTTP/1.1" 200 5 "ref""#,
        ] {
            assert_eq!(access_fields(line), access_regex(line), "{line}");
        }
    }
}
