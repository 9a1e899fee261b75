//! Users, tokens, sessions, lockout and the security events, on a real data directory with an
//! injected clock (no sleeps).

use std::sync::Arc;

use chrono::{Duration, TimeZone, Utc};
use ferrodef_auth::*;

struct Fixture {
    _dir: tempfile::TempDir,
    auth: Auth,
    clock: ManualClock,
    events: MemorySink,
}

fn fixture() -> Fixture {
    fixture_with(AuthSettings::default())
}

fn fixture_with(settings: AuthSettings) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap());
    let log = SecurityLog::new();
    let events = MemorySink::default();
    let auth = Auth::open(dir.path(), settings, Arc::new(clock.clone()), log.clone()).unwrap();
    auth.bootstrap_admin(Some("admin password 1")).unwrap();
    // Events from here on (the first admin's NPA0 is checked in its own test).
    log.add_sink(Arc::new(events.clone()));
    Fixture {
        _dir: dir,
        auth,
        clock,
        events,
    }
}

fn req(ip: &str) -> RequestInfo {
    RequestInfo {
        src: Some(ip.parse().unwrap()),
        dst: Some("127.0.0.1".parse().unwrap()),
        method: "POST".into(),
        url: "/api/login".into(),
        user_agent: Some("test-agent/1".into()),
    }
}

fn admin() -> Actor {
    Actor {
        name: "admin".into(),
        id: 1,
    }
}

fn signatures(f: &Fixture) -> Vec<String> {
    f.events
        .records()
        .into_iter()
        .map(|r| r.signature)
        .collect()
}

#[test]
fn first_start_creates_admin_once_and_a_generated_password_works() {
    let dir = tempfile::tempdir().unwrap();
    let open = || {
        Auth::open(
            dir.path(),
            AuthSettings::default(),
            Arc::new(SystemClock),
            SecurityLog::new(),
        )
        .unwrap()
    };
    let a = open();
    let pw = a
        .bootstrap_admin(None)
        .unwrap()
        .expect("a generated password");
    assert!(pw.len() >= 20, "{pw}");
    assert_eq!(
        a.login("admin", &pw, &RequestInfo::default()).unwrap().role,
        Role::Admin
    );
    // Never again: the next start sees a user.
    assert_eq!(open().bootstrap_admin(None).unwrap(), None);
    assert_eq!(a.users().unwrap().len(), 1);
    assert_eq!(
        open().bootstrap_admin(Some("another password")).unwrap(),
        None
    );
    assert!(open()
        .login("admin", "another password", &RequestInfo::default())
        .is_err());
    // A too-short configured password is refused, naming the setting.
    let dir2 = tempfile::tempdir().unwrap();
    let b = Auth::open(
        dir2.path(),
        AuthSettings::default(),
        Arc::new(SystemClock),
        SecurityLog::new(),
    )
    .unwrap();
    let e = b.bootstrap_admin(Some("short")).unwrap_err().to_string();
    assert!(e.contains("FERRODEF_ADMIN_PASSWORD"), "{e}");
}

#[test]
fn lockout_after_n_failures_then_unlock_after_the_period() {
    let f = fixture();
    let r = req("198.51.100.7");
    f.auth
        .add_user(&admin(), "ann", Role::Analyst, "ann password 1", &r)
        .unwrap();
    for _ in 0..4 {
        assert_eq!(
            f.auth.login("ann", "wrong", &r),
            Err(LoginError::BadCredentials)
        );
    }
    assert_eq!(f.auth.user("ann").unwrap().failed_logins, 4);
    assert_eq!(
        f.auth.login("ann", "wrong", &r),
        Err(LoginError::BadCredentials)
    );
    let until = Utc.with_ymd_and_hms(2026, 3, 1, 12, 15, 0).unwrap();
    assert_eq!(f.auth.user("ann").unwrap().locked_until, Some(until));
    let sigs = signatures(&f);
    assert_eq!(sigs.iter().filter(|s| **s == "AUTH0").count(), 5);
    assert_eq!(sigs.last().map(String::as_str), Some("AL0"));
    let lock = f.events.records().last().unwrap().clone();
    let parsed = cef::parse(&lock.cef).unwrap();
    assert_eq!(parsed.get("suser"), Some("ann"));
    assert_eq!(parsed.get("suid"), Some("2"));
    assert_eq!(parsed.get("src"), Some("198.51.100.7"));
    assert_eq!(parsed.get("dst"), Some("127.0.0.1"));
    assert_eq!(parsed.get("rt"), Some("Mar 01 2026 12:00:00"));
    assert_eq!(parsed.get("requestMethod"), Some("POST"));
    assert_eq!(parsed.get("request"), Some("/api/login"));
    assert_eq!(
        parsed.labeled("requestClientApplication"),
        Some("test-agent/1")
    );
    // Locked: even the right password is refused, without being checked.
    assert_eq!(
        f.auth.login("ann", "ann password 1", &r),
        Err(LoginError::Locked { until })
    );
    f.clock.advance(Duration::minutes(14));
    assert!(f.auth.login("ann", "ann password 1", &r).is_err());
    f.clock.advance(Duration::minutes(1));
    let p = f.auth.login("ann", "ann password 1", &r).unwrap();
    assert_eq!((p.name.as_str(), p.role), ("ann", Role::Analyst));
    assert_eq!(f.auth.user("ann").unwrap().failed_logins, 0);
}

#[test]
fn admin_lock_is_severity_9_and_an_admin_can_unlock() {
    let f = fixture_with(AuthSettings {
        max_failures: 2,
        ..AuthSettings::default()
    });
    let r = req("198.51.100.8");
    f.auth
        .add_user(&admin(), "root2", Role::Admin, "root2 password", &r)
        .unwrap();
    let _ = f.auth.login("root2", "x", &r);
    let _ = f.auth.login("root2", "y", &r);
    let rec = f.events.records().last().unwrap().clone();
    assert_eq!((rec.signature.as_str(), rec.severity), ("AAL0", 9));
    assert!(
        rec.cef.contains("|AAL0|Admin Account Locked|9|"),
        "{}",
        rec.cef
    );
    let change = UserChange {
        unlock: true,
        ..UserChange::default()
    };
    f.auth.update_user(&admin(), "root2", &change, &r).unwrap();
    assert_eq!(signatures(&f).last().map(String::as_str), Some("UL0"));
    assert!(f.auth.login("root2", "root2 password", &r).is_ok());
}

#[test]
fn an_address_with_too_many_failures_is_throttled() {
    let f = fixture_with(AuthSettings {
        ip_max_failures: 3,
        ..AuthSettings::default()
    });
    let bad = req("203.0.113.9");
    for name in ["a", "b", "c"] {
        assert_eq!(
            f.auth.login(name, "x", &bad),
            Err(LoginError::BadCredentials)
        );
    }
    assert!(matches!(
        f.auth.login("admin", "admin password 1", &bad),
        Err(LoginError::Throttled { retry_after: 600 })
    ));
    // Another address is not affected.
    assert!(f
        .auth
        .login("admin", "admin password 1", &req("203.0.113.10"))
        .is_ok());
    f.clock.advance(Duration::minutes(10));
    assert!(f.auth.login("admin", "admin password 1", &bad).is_ok());
}

#[test]
fn tokens_are_hashed_shown_once_and_revocable() {
    let f = fixture();
    let r = req("192.0.2.1");
    let (view, secret) = f
        .auth
        .create_token(
            &admin(),
            TokenOwner::Source("fw1".into()),
            Role::Ingest,
            "firewall",
            &r,
        )
        .unwrap();
    assert!(
        secret.starts_with("fdt_") && secret.contains(&view.id),
        "{secret}"
    );
    let raw = std::fs::read_to_string(f._dir.path().join("auth/auth.json")).unwrap();
    assert!(!raw.contains(&secret[16..]), "the secret is not stored");
    let p = f.auth.check_token(&secret, &r).unwrap().unwrap();
    assert_eq!(
        (p.name.as_str(), p.role, p.user_id),
        ("source:fw1", Role::Ingest, 0)
    );
    assert!(f
        .auth
        .check_token(&format!("{secret}x"), &r)
        .unwrap()
        .is_none());
    assert!(f.auth.check_token("fdt_nothing", &r).unwrap().is_none());
    f.auth.revoke_token(&admin(), &view.id, &r).unwrap();
    assert!(f.auth.check_token(&secret, &r).unwrap().is_none());
    let sigs = signatures(&f);
    assert!(
        sigs.iter().any(|s| s == "TOK0") && sigs.iter().any(|s| s == "TOK1"),
        "{sigs:?}"
    );
    assert_eq!(sigs.iter().filter(|s| **s == "TOK2").count(), 3);
    assert!(f.auth.tokens(None).unwrap()[0].revoked.is_some());
}

#[test]
fn a_users_token_follows_the_user() {
    let f = fixture();
    let r = req("192.0.2.2");
    f.auth
        .add_user(&admin(), "vic", Role::Analyst, "vic password", &r)
        .unwrap();
    let (_, tok) = f
        .auth
        .create_token(
            &admin(),
            TokenOwner::User("vic".into()),
            Role::Analyst,
            "script",
            &r,
        )
        .unwrap();
    assert!(f
        .auth
        .create_token(
            &admin(),
            TokenOwner::User("vic".into()),
            Role::Admin,
            "x",
            &r
        )
        .is_err());
    let change = |role, disabled| UserChange {
        role,
        disabled,
        unlock: false,
    };
    f.auth
        .update_user(&admin(), "vic", &change(Some(Role::Viewer), None), &r)
        .unwrap();
    assert_eq!(
        f.auth.check_token(&tok, &r).unwrap().unwrap().role,
        Role::Viewer
    );
    f.auth
        .update_user(&admin(), "vic", &change(None, Some(true)), &r)
        .unwrap();
    assert!(f.auth.check_token(&tok, &r).unwrap().is_none());
    assert_eq!(signatures(&f).iter().filter(|s| **s == "UD0").count(), 1);
    assert_eq!(
        f.auth.login("vic", "vic password", &r),
        Err(LoginError::BadCredentials)
    );
}

#[test]
fn sessions_end_on_logout_disable_and_password_change() {
    let f = fixture();
    let r = req("192.0.2.3");
    f.auth
        .add_user(&admin(), "sam", Role::Viewer, "sam password", &r)
        .unwrap();
    let p = f.auth.login("sam", "sam password", &r).unwrap();
    let s = f.auth.create_session(&p);
    let got = f.auth.session(&s.id).unwrap().unwrap();
    assert_eq!(
        got.via,
        Via::Session {
            csrf: s.csrf.clone()
        }
    );
    f.clock.advance(Duration::seconds(1));
    let sam = Actor {
        name: "sam".into(),
        id: 2,
    };
    assert!(matches!(
        f.auth
            .set_password(&sam, "sam", Some("bad"), "new sam password", &r),
        Err(AuthError::Forbidden(_))
    ));
    f.auth
        .set_password(&sam, "sam", Some("sam password"), "new sam password", &r)
        .unwrap();
    assert!(f.auth.session(&s.id).unwrap().is_none());
    let s2 = f
        .auth
        .create_session(&f.auth.login("sam", "new sam password", &r).unwrap());
    assert!(f.auth.session(&s2.id).unwrap().is_some());
    f.auth.end_session(&s2.id);
    assert!(f.auth.session(&s2.id).unwrap().is_none());
    // Idle sessions end.
    let s3 = f.auth.create_session(&p);
    f.clock.advance(Duration::minutes(61));
    assert!(f.auth.session(&s3.id).unwrap().is_none());
}

#[test]
fn admin_events_name_actor_and_target() {
    let f = fixture();
    let r = req("192.0.2.4");
    f.auth
        .add_user(&admin(), "low", Role::Viewer, "low password", &r)
        .unwrap();
    assert!(
        signatures(&f).is_empty(),
        "no event for a low-level account"
    );
    let up = UserChange {
        role: Some(Role::Admin),
        ..UserChange::default()
    };
    f.auth.update_user(&admin(), "low", &up, &r).unwrap();
    f.auth
        .set_password(&admin(), "low", None, "reset password", &r)
        .unwrap();
    f.auth
        .set_password(
            &admin(),
            "admin",
            Some("admin password 1"),
            "admin password 2",
            &r,
        )
        .unwrap();
    assert_eq!(signatures(&f), vec!["NPA0", "APR0", "APC0"]);
    let recs = f.events.records();
    let npa = cef::parse(&recs[0].cef).unwrap();
    assert_eq!(npa.get("suser"), Some("admin"));
    assert_eq!(npa.get("duser"), Some("low"));
    assert_eq!(npa.get("act"), Some("Action Allowed"));
    // The last enabled admin cannot be demoted.
    let down = UserChange {
        role: Some(Role::Viewer),
        ..UserChange::default()
    };
    f.auth.update_user(&admin(), "low", &down, &r).unwrap();
    assert!(matches!(
        f.auth.update_user(&admin(), "admin", &down, &r),
        Err(AuthError::Conflict(_))
    ));
}

#[test]
fn another_process_changes_are_seen() {
    let f = fixture();
    let other = Auth::open(
        f._dir.path(),
        AuthSettings::default(),
        Arc::new(SystemClock),
        SecurityLog::new(),
    )
    .unwrap();
    let (v, tok) = other
        .create_token(
            &admin(),
            TokenOwner::Source("s".into()),
            Role::Ingest,
            "n",
            &RequestInfo::default(),
        )
        .unwrap();
    assert!(f
        .auth
        .check_token(&tok, &RequestInfo::default())
        .unwrap()
        .is_some());
    other
        .revoke_token(&admin(), &v.id, &RequestInfo::default())
        .unwrap();
    assert!(f
        .auth
        .check_token(&tok, &RequestInfo::default())
        .unwrap()
        .is_none());
}

/// The server's Auth of `dir`, keeping its sessions there, at `clock`'s time.
fn reopen(dir: &std::path::Path, clock: &ManualClock) -> (Auth, usize) {
    let auth = Auth::open(
        dir,
        AuthSettings::default(),
        Arc::new(clock.clone()),
        SecurityLog::new(),
    )
    .unwrap();
    let n = auth.keep_sessions(dir).unwrap();
    (auth, n)
}

#[test]
fn sessions_survive_a_restart_but_not_logout_password_change_or_expiry() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap());
    let r = req("192.0.2.3");
    let (auth, restored) = reopen(dir.path(), &clock);
    assert_eq!(restored, 0);
    auth.bootstrap_admin(Some("admin password 1")).unwrap();
    auth.add_user(&admin(), "sam", Role::Viewer, "sam password", &r)
        .unwrap();
    let p = auth.login("sam", "sam password", &r).unwrap();
    let kept = auth.create_session(&p);
    let ended = auth.create_session(&p);
    let other = auth.create_session(&auth.login("admin", "admin password 1", &r).unwrap());
    auth.end_session(&ended.id);
    drop(auth);

    // The file: owner-only, no cookie value in it, only hashes.
    let file = dir.path().join("auth/sessions.json");
    let text = std::fs::read_to_string(&file).unwrap();
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    for s in [&kept, &ended, &other] {
        assert!(!text.contains(&s.id), "a cookie value is stored");
    }
    assert!(text.contains(&kept.csrf));

    // Restarted: the kept sessions work with their CSRF tokens, the ended one does not.
    clock.advance(Duration::minutes(10));
    let (auth, restored) = reopen(dir.path(), &clock);
    assert_eq!(restored, 2);
    let got = auth.session(&kept.id).unwrap().expect("session kept");
    assert_eq!(
        (got.name.as_str(), got.via),
        (
            "sam",
            Via::Session {
                csrf: kept.csrf.clone()
            }
        )
    );
    assert!(auth.session(&ended.id).unwrap().is_none());
    assert!(auth.session(&other.id).unwrap().is_some());
    // A password change (here by another process: the `user passwd` command) ends sam's
    // sessions, also across a restart.
    clock.advance(Duration::seconds(1));
    let cli = Auth::open(
        dir.path(),
        AuthSettings::default(),
        Arc::new(clock.clone()),
        SecurityLog::new(),
    )
    .unwrap();
    cli.set_password(&admin(), "sam", None, "new sam password", &r)
        .unwrap();
    drop(cli);
    drop(auth);
    let (auth, _) = reopen(dir.path(), &clock);
    assert!(auth.session(&kept.id).unwrap().is_none());
    assert!(auth.session(&other.id).unwrap().is_some());
    drop(auth);

    // Past the idle time (the last use above was written with sam's removal): gone.
    clock.advance(Duration::minutes(61));
    let (auth, restored) = reopen(dir.path(), &clock);
    assert_eq!(restored, 0);
    assert!(auth.session(&other.id).unwrap().is_none());
    drop(auth);

    // A file others may write is not trusted (a forged entry would be a login).
    let p2 = {
        let (auth, _) = reopen(dir.path(), &clock);
        let s = auth.create_session(&auth.login("admin", "admin password 1", &r).unwrap());
        drop(auth);
        s
    };
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o666)).unwrap();
    let auth = Auth::open(
        dir.path(),
        AuthSettings::default(),
        Arc::new(clock.clone()),
        SecurityLog::new(),
    )
    .unwrap();
    let e = auth.keep_sessions(dir.path()).unwrap_err().to_string();
    assert!(
        e.contains("sessions.json") && e.contains("not trusted"),
        "{e}"
    );
    assert!(auth.session(&p2.id).unwrap().is_none());
}

#[test]
fn restored_sessions_still_end_at_their_lifetime() {
    let dir = tempfile::tempdir().unwrap();
    let start = Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap();
    let clock = ManualClock::new(start);
    let r = req("192.0.2.4");
    let (mut auth, _) = reopen(dir.path(), &clock);
    auth.bootstrap_admin(Some("admin password 1")).unwrap();
    let s = auth.create_session(&auth.login("admin", "admin password 1", &r).unwrap());
    // Used every 50 minutes (never idle), the server restarted each time (writing the last
    // uses on the way out, as `serve` does), until past the 12 h lifetime.
    for _ in 0..16 {
        clock.advance(Duration::minutes(50));
        auth.save_sessions(true);
        drop(auth);
        auth = reopen(dir.path(), &clock).0;
        let live = clock.now() < start + Duration::hours(12);
        assert_eq!(
            auth.session(&s.id).unwrap().is_some(),
            live,
            "at {}",
            clock.now()
        );
    }
}
