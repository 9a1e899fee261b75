//! ferrodef's own security events, in CEF as Mozilla's logging recommendations prescribe
//! (`seeds/cef-logging-recommendations.txt`): vendor `mozilla`, product `ferrodef`, CEF
//! version 0; the extensions `rt` (`MMM dd yyyy HH:mm:ss`, UTC), `suser` (the acting account,
//! `unauthenticated` when none), `suid` (its numeric id, 0 when none), `act`, `src`, `dst`,
//! `requestMethod`, `request`, `cs1Label=requestClientApplication`, `cs1` (User-Agent) and
//! `msg`. Lines are built by the `cef` crate exactly as Mozilla's Python library builds them.
//!
//! Every event goes to every [`SecuritySink`]: ferrodef's own store (so its rules can alert
//! on them) and, when configured, syslog (facility LOCAL4) through [`SyslogSink`].

use std::net::IpAddr;
use std::sync::mpsc::{sync_channel, SyncSender, TrySendError};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use parking_lot::Mutex;

/// The request behind an event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestInfo {
    /// The client's address (`src`).
    pub src: Option<IpAddr>,
    /// The address of the server that received the request (`dst`).
    pub dst: Option<IpAddr>,
    /// HTTP method (`requestMethod`).
    pub method: String,
    /// The full URL of the request (`request`).
    pub url: String,
    /// User-Agent (`cs1`).
    pub user_agent: Option<String>,
}

impl RequestInfo {
    /// A command run on the server's machine (`ferrodef user ...`): no addresses, the
    /// command line as the request, `ferrodef-cli` as the client.
    pub fn cli(command: &str) -> RequestInfo {
        RequestInfo {
            src: None,
            dst: None,
            method: "CLI".into(),
            url: command.into(),
            user_agent: Some(format!("ferrodef-cli/{}", env!("CARGO_PKG_VERSION"))),
        }
    }
}

/// One security event. `user`/`user_id` are the acting account (`suser`/`suid`), `target`
/// the account acted upon (`duser`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecurityEvent {
    /// An authenticated principal tried something its role does not allow.
    AccessDenied {
        /// What was needed (`read`, `triage`, `ingest`, `admin`).
        needed: String,
    },
    /// A login (form or HTTP Basic) failed: unknown user, wrong password, disabled or
    /// locked account, or too many failures from the address.
    LoginFailed {
        /// Why.
        reason: String,
    },
    /// An account was locked after too many failed logins.
    AccountLocked {
        /// Whether it is an admin account (signature `AAL0`, severity 9).
        admin: bool,
        /// Failures that led to it.
        failures: u32,
        /// Until when.
        until: DateTime<Utc>,
    },
    /// An admin account's password was reset by someone else.
    AdminPasswordReset {
        /// The admin account.
        target: String,
    },
    /// An admin account changed its own password.
    AdminPasswordChange,
    /// A new admin account was created, or an account was granted admin.
    NewPrivilegedAccount {
        /// The account.
        target: String,
        /// `created` or `granted`.
        how: &'static str,
    },
    /// An account was disabled.
    UserDisabled {
        /// The account.
        target: String,
    },
    /// An account was unlocked by an admin before its lock expired.
    UserUnlocked {
        /// The account.
        target: String,
    },
    /// An API token was created.
    TokenCreated {
        /// Token id.
        id: String,
        /// Its role.
        role: crate::Role,
        /// Its owner (`user:x` / `source:y`).
        owner: String,
    },
    /// An API token was revoked.
    TokenRevoked {
        /// Token id.
        id: String,
    },
    /// A request came with an unknown, malformed or revoked API token.
    InvalidToken {
        /// Why.
        reason: String,
    },
    /// An unsafe request with a session had a missing or wrong CSRF token, or came from
    /// another origin.
    CsrfInvalid {
        /// Why.
        reason: String,
    },
}

/// Signature id, name and severity of each event. `ACE0`/8 and the admin lock's 9 come from
/// the recommendations' table; the others follow its naming.
impl SecurityEvent {
    /// (signature id, name, CEF severity 0–10).
    pub fn signature(&self) -> (&'static str, &'static str, u8) {
        match self {
            SecurityEvent::AccessDenied { .. } => ("ACE0", "Access Control Violation", 8),
            SecurityEvent::LoginFailed { .. } => ("AUTH0", "Login Failed", 5),
            SecurityEvent::AccountLocked { admin: false, .. } => ("AL0", "Account Locked", 7),
            SecurityEvent::AccountLocked { admin: true, .. } => ("AAL0", "Admin Account Locked", 9),
            SecurityEvent::AdminPasswordReset { .. } => ("APR0", "Admin Account Pass Reset", 7),
            SecurityEvent::AdminPasswordChange => ("APC0", "Admin Account Pass Change", 6),
            SecurityEvent::NewPrivilegedAccount { .. } => ("NPA0", "New Privileged Account", 7),
            SecurityEvent::UserDisabled { .. } => ("UD0", "User Disabled", 5),
            SecurityEvent::UserUnlocked { .. } => ("UL0", "Account Unlocked", 5),
            SecurityEvent::TokenCreated { .. } => ("TOK0", "API Token Created", 5),
            SecurityEvent::TokenRevoked { .. } => ("TOK1", "API Token Revoked", 4),
            SecurityEvent::InvalidToken { .. } => ("TOK2", "Invalid API Token", 6),
            SecurityEvent::CsrfInvalid { .. } => ("CSRF0", "CSRF Token Invalid", 8),
        }
    }

    /// `act`: what ferrodef did.
    pub fn action(&self) -> &'static str {
        match self {
            SecurityEvent::AccessDenied { .. }
            | SecurityEvent::LoginFailed { .. }
            | SecurityEvent::InvalidToken { .. }
            | SecurityEvent::CsrfInvalid { .. } => "Action Denied",
            SecurityEvent::AccountLocked { .. } => "Account Locked",
            _ => "Action Allowed",
        }
    }

    fn target(&self) -> Option<&str> {
        match self {
            SecurityEvent::AdminPasswordReset { target }
            | SecurityEvent::NewPrivilegedAccount { target, .. }
            | SecurityEvent::UserDisabled { target }
            | SecurityEvent::UserUnlocked { target } => Some(target),
            _ => None,
        }
    }

    fn msg(&self) -> String {
        match self {
            SecurityEvent::AccessDenied { needed } => {
                format!("the account's role does not allow {needed}")
            }
            SecurityEvent::LoginFailed { reason } => format!("login failed: {reason}"),
            SecurityEvent::AccountLocked {
                failures, until, ..
            } => format!(
                "locked after {failures} failed logins until {}",
                until.format("%Y-%m-%dT%H:%M:%SZ")
            ),
            SecurityEvent::AdminPasswordReset { target } => {
                format!("password of admin account {target} reset")
            }
            SecurityEvent::AdminPasswordChange => "admin account changed its password".into(),
            SecurityEvent::NewPrivilegedAccount { target, how } => {
                format!("admin role {how}: {target}")
            }
            SecurityEvent::UserDisabled { target } => format!("account {target} disabled"),
            SecurityEvent::UserUnlocked { target } => format!("account {target} unlocked"),
            SecurityEvent::TokenCreated { id, role, owner } => {
                format!("API token {id} created for {owner} with role {role}")
            }
            SecurityEvent::TokenRevoked { id } => format!("API token {id} revoked"),
            SecurityEvent::InvalidToken { reason } => format!("API token refused: {reason}"),
            SecurityEvent::CsrfInvalid { reason } => format!("CSRF check failed: {reason}"),
        }
    }
}

/// Free text for a CEF line: control characters become spaces (a line must stay one line),
/// cut at `max` characters.
fn clean(s: &str, max: usize) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(max)
        .collect()
}

/// A user name for `suser`, which Mozilla's format writes unescaped: names ferrodef accepts
/// need nothing; anything else (a name typed at a failed login) has `\` and `=` escaped.
fn clean_user(s: &str) -> String {
    cef::escape_value(&clean(s, 128))
}

/// One formatted event, as the sinks receive it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecurityRecord {
    /// When it happened.
    pub time: DateTime<Utc>,
    /// CEF severity.
    pub severity: u8,
    /// Signature id (`ACE0`...).
    pub signature: String,
    /// The CEF line, from `CEF:` on, as Mozilla's library writes it.
    pub cef: String,
}

/// Receives security events. Implementations must return quickly (queue, do not block).
pub trait SecuritySink: Send + Sync {
    /// One event.
    fn record(&self, record: &SecurityRecord);
}

/// The actor of an event: name and numeric id (`unauthenticated`/0 when none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// Name (`suser`).
    pub name: String,
    /// Id (`suid`).
    pub id: u64,
}

impl Actor {
    /// No logged-in account.
    pub fn unauthenticated() -> Actor {
        Actor {
            name: "unauthenticated".into(),
            id: 0,
        }
    }
}

/// Formats events and hands them to the sinks.
#[derive(Clone)]
pub struct SecurityLog {
    config: cef::CefConfig,
    sinks: Arc<Mutex<Vec<Arc<dyn SecuritySink>>>>,
}

impl std::fmt::Debug for SecurityLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecurityLog")
            .field("config", &self.config)
            .field("sinks", &self.sinks.lock().len())
            .finish()
    }
}

impl Default for SecurityLog {
    fn default() -> Self {
        SecurityLog::new()
    }
}

/// The CEF header configuration of ferrodef's events.
pub fn cef_config() -> cef::CefConfig {
    cef::CefConfig {
        version: "0".into(),
        vendor: "mozilla".into(),
        product: "ferrodef".into(),
        device_version: env!("CARGO_PKG_VERSION").into(),
    }
}

impl SecurityLog {
    /// A log with no sinks yet.
    pub fn new() -> SecurityLog {
        SecurityLog {
            config: cef_config(),
            sinks: Arc::new(Mutex::new(Vec::new())),
        }
    }

    /// Adds a sink (e.g. the store, once the server runs).
    pub fn add_sink(&self, sink: Arc<dyn SecuritySink>) {
        self.sinks.lock().push(sink);
    }

    /// The CEF event for `ev` by `actor` in `req` at `time`.
    pub fn cef_event(
        ev: &SecurityEvent,
        actor: &Actor,
        req: &RequestInfo,
        time: DateTime<Utc>,
    ) -> cef::Event {
        let (sig, name, sev) = ev.signature();
        // `src` is part of the fixed fields: empty when unknown (a command on the server).
        let mut e = cef::Event::new(sig, name, sev)
            .user(clean_user(&actor.name))
            .user_id(actor.id)
            .action(ev.action())
            .extension("rt", time.format("%b %d %Y %H:%M:%S").to_string())
            .source_ip(req.src.map_or_else(String::new, |ip| ip.to_string()))
            .request(clean(&req.method, 16), clean(&req.url, 512))
            .msg(clean(&ev.msg(), cef::MAX_MSG_CHARS));
        if let Some(dst) = req.dst {
            e = e.destination_ip(dst.to_string());
        }
        if let Some(ua) = &req.user_agent {
            e = e.user_agent(clean(ua, 256));
        }
        if let Some(t) = ev.target() {
            e = e.extension("duser", clean_user(t));
        }
        e
    }

    /// Records `ev` by `actor` in `req` at `time` in every sink.
    pub fn emit(&self, ev: &SecurityEvent, actor: &Actor, req: &RequestInfo, time: DateTime<Utc>) {
        let (sig, _, sev) = ev.signature();
        let record = SecurityRecord {
            time,
            severity: sev,
            signature: sig.to_string(),
            cef: Self::cef_event(ev, actor, req, time).format_cef_only(&self.config),
        };
        self.record(&record);
    }

    /// Hands an already formatted record to every sink.
    pub fn record(&self, record: &SecurityRecord) {
        tracing::info!(target: "ferrodef::security", "{}", record.cef);
        let sinks = self.sinks.lock().clone();
        for s in sinks {
            s.record(record);
        }
    }
}

/// Keeps records in memory (tests, and the CLI, which prints nothing but may want them).
#[derive(Debug, Default, Clone)]
pub struct MemorySink(Arc<Mutex<Vec<SecurityRecord>>>);

impl MemorySink {
    /// The records so far.
    pub fn records(&self) -> Vec<SecurityRecord> {
        self.0.lock().clone()
    }
}

impl SecuritySink for MemorySink {
    fn record(&self, record: &SecurityRecord) {
        self.0.lock().push(record.clone());
    }
}

/// Keeps records in the data directory's spool for the server to store (the sink of the
/// `ferrodef user` and `token` commands, which cannot write to the store while a server holds
/// it).
pub struct SpoolSink(pub crate::file::AuthFile);

impl SecuritySink for SpoolSink {
    fn record(&self, record: &SecurityRecord) {
        if let Err(e) = self.0.spool(std::slice::from_ref(record)) {
            tracing::error!("spooling a security event: {e}: {}", record.cef);
        }
    }
}

/// Sends records to syslog (RFC 3164, facility LOCAL4 unless told otherwise) from its own
/// thread: a slow or absent syslog never holds up a login. At most 4096 records wait; beyond,
/// records are dropped and counted in the log.
pub struct SyslogSink {
    tx: SyncSender<SecurityRecord>,
}

impl SyslogSink {
    /// A sink sending through `transport` with `facility`.
    pub fn new(transport: cef::Transport, facility: cef::Facility) -> SyslogSink {
        let (tx, rx) = sync_channel::<SecurityRecord>(4096);
        let sender = cef::SyslogSender::new(transport, cef_config(), "ferrodef").facility(facility);
        std::thread::Builder::new()
            .name("cef-syslog".into())
            .spawn(move || {
                for r in rx {
                    if let Err(e) = sender.send_line(r.severity, &r.cef) {
                        tracing::warn!("security events to syslog: {e}");
                    }
                }
            })
            .map_err(|e| tracing::error!("starting the syslog sender thread: {e}"))
            .ok();
        SyslogSink { tx }
    }
}

impl SecuritySink for SyslogSink {
    fn record(&self, record: &SecurityRecord) {
        match self.tx.try_send(record.clone()) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                tracing::warn!("security events to syslog: queue full, one event dropped")
            }
            Err(TrySendError::Disconnected(_)) => {
                tracing::warn!("security events to syslog: sender stopped, one event dropped")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn access_denied_line_is_byte_exact() {
        let t = Utc.with_ymd_and_hms(2010, 1, 31, 18, 30, 1).unwrap();
        let req = RequestInfo {
            src: Some("10.1.2.3".parse().unwrap()),
            dst: Some("10.0.0.1".parse().unwrap()),
            method: "POST".into(),
            url: "/api/users?x=1".into(),
            user_agent: Some("Mozilla/5.0 (X11) Firefox/3.6.2".into()),
        };
        let actor = Actor {
            name: "janedoe".into(),
            id: 55,
        };
        let ev = SecurityEvent::AccessDenied {
            needed: "admin".into(),
        };
        let line = SecurityLog::cef_event(&ev, &actor, &req, t).format_cef_only(&cef_config());
        let v = env!("CARGO_PKG_VERSION");
        assert_eq!(
            line,
            format!(
                "CEF:0|mozilla|ferrodef|{v}|ACE0|Access Control Violation|8|\
                 cs1Label=requestClientApplication cs1=Mozilla/5.0 (X11) Firefox/3.6.2 \
                 requestMethod=POST request=/api/users?x\\=1 src=10.1.2.3 dhost=none \
                 suser=janedoe suid=55 dst=10.0.0.1 act=Action Denied \
                 rt=Jan 31 2010 18:30:01 msg=the account's role does not allow admin"
            )
        );
    }

    #[test]
    fn hostile_user_names_and_agents_stay_one_field() {
        let t = Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap();
        let req = RequestInfo {
            user_agent: Some("evil\nCEF:0|x".into()),
            ..RequestInfo::default()
        };
        let actor = Actor {
            name: "bob src=6.6.6.6".into(),
            id: 0,
        };
        let ev = SecurityEvent::LoginFailed {
            reason: "unknown user".into(),
        };
        let line = SecurityLog::cef_event(&ev, &actor, &req, t).format_cef_only(&cef_config());
        assert!(!line.contains('\n'), "{line}");
        let parsed = cef::parse(&line).unwrap();
        assert_eq!(parsed.get("suser"), Some("bob src=6.6.6.6"));
        assert_eq!(parsed.get("src"), Some(""));
        assert_eq!(
            parsed.labeled("requestClientApplication"),
            Some("evil CEF:0|x")
        );
        assert_eq!(parsed.signature_id, "AUTH0");
    }

    #[test]
    fn sinks_receive_records() {
        let log = SecurityLog::new();
        let mem = MemorySink::default();
        log.add_sink(Arc::new(mem.clone()));
        log.emit(
            &SecurityEvent::TokenRevoked { id: "abc".into() },
            &Actor::unauthenticated(),
            &RequestInfo::cli("ferrodef token revoke abc"),
            Utc::now(),
        );
        let r = mem.records();
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].signature, "TOK1");
        assert!(
            r[0].cef.contains("suser=unauthenticated suid=0"),
            "{}",
            r[0].cef
        );
    }

    #[test]
    fn syslog_sink_sends_local4() {
        let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        sock.set_read_timeout(Some(std::time::Duration::from_secs(10)))
            .unwrap();
        let sink = SyslogSink::new(
            cef::Transport::Udp(sock.local_addr().unwrap().to_string()),
            cef::Facility::Local4,
        );
        let log = SecurityLog::new();
        log.add_sink(Arc::new(sink));
        log.emit(
            &SecurityEvent::AccountLocked {
                admin: true,
                failures: 5,
                until: Utc::now(),
            },
            &Actor {
                name: "admin".into(),
                id: 1,
            },
            &RequestInfo::default(),
            Utc::now(),
        );
        let mut buf = [0u8; 4096];
        let n = sock.recv(&mut buf).unwrap();
        let msg = String::from_utf8_lossy(&buf[..n]);
        // local4 (20) * 8 + crit (2) for severity 9.
        assert!(msg.starts_with("<162>"), "{msg}");
        assert!(msg.contains("|AAL0|Admin Account Locked|9|"), "{msg}");
    }
}
