//! Sending CEF lines to syslog (RFC 3164 messages), with blocking std sockets.

use std::io::{self, Write};
use std::net::{TcpStream, ToSocketAddrs, UdpSocket};
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::{Mutex, MutexGuard};

use crate::{CefConfig, Event};

/// Syslog facility. LOCAL4 by default, as Mozilla's recommendations and library use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[allow(missing_docs)]
pub enum Facility {
    Kern,
    User,
    Mail,
    Daemon,
    Auth,
    Syslog,
    Lpr,
    News,
    Uucp,
    Cron,
    AuthPriv,
    Ftp,
    Local0,
    Local1,
    Local2,
    Local3,
    #[default]
    Local4,
    Local5,
    Local6,
    Local7,
}

const FACILITIES: [(Facility, &str, u8); 20] = [
    (Facility::Kern, "KERN", 0),
    (Facility::User, "USER", 1),
    (Facility::Mail, "MAIL", 2),
    (Facility::Daemon, "DAEMON", 3),
    (Facility::Auth, "AUTH", 4),
    (Facility::Syslog, "SYSLOG", 5),
    (Facility::Lpr, "LPR", 6),
    (Facility::News, "NEWS", 7),
    (Facility::Uucp, "UUCP", 8),
    (Facility::Cron, "CRON", 9),
    (Facility::AuthPriv, "AUTHPRIV", 10),
    (Facility::Ftp, "FTP", 11),
    (Facility::Local0, "LOCAL0", 16),
    (Facility::Local1, "LOCAL1", 17),
    (Facility::Local2, "LOCAL2", 18),
    (Facility::Local3, "LOCAL3", 19),
    (Facility::Local4, "LOCAL4", 20),
    (Facility::Local5, "LOCAL5", 21),
    (Facility::Local6, "LOCAL6", 22),
    (Facility::Local7, "LOCAL7", 23),
];

impl Facility {
    /// The facility code (LOCAL4 = 20).
    pub fn code(self) -> u8 {
        FACILITIES
            .iter()
            .find(|(f, _, _)| *f == self)
            .map_or(20, |(_, _, c)| *c)
    }
}

impl FromStr for Facility {
    type Err = String;

    /// A facility by name, as in the library's `syslog.facility` setting (`LOCAL4`, `auth`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        FACILITIES
            .iter()
            .find(|(_, n, _)| n.eq_ignore_ascii_case(s))
            .map(|(f, _, _)| *f)
            .ok_or_else(|| format!("unknown syslog facility {s:?}"))
    }
}

/// Syslog severity for a CEF severity, by the CEF bands: 0–3 (Low) info (6), 4–6 (Medium)
/// warning (4), 7–8 (High) err (3), 9–10 (Very-High) crit (2).
pub fn syslog_severity(cef_severity: u8) -> u8 {
    match cef_severity {
        0..=3 => 6,
        4..=6 => 4,
        7..=8 => 3,
        _ => 2,
    }
}

/// Where messages go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transport {
    /// A local syslog datagram socket (`/dev/log` on Linux). Unix only.
    Unix(PathBuf),
    /// UDP to `host:port`, one message per datagram.
    Udp(String),
    /// TCP to `host:port`, one message per line (LF framing; CR and LF inside a message are
    /// sent as spaces so a message stays one frame). Reconnects once when a send fails.
    Tcp(String),
}

enum Conn {
    #[cfg(unix)]
    Unix(std::os::unix::net::UnixDatagram),
    Udp(UdpSocket),
    Tcp(TcpStream),
}

/// Sends CEF events to syslog as RFC 3164 messages:
/// `<PRI>Mmm dd hh:mm:ss host tag[pid]: CEF:0|...` (without the host name on the local
/// socket, as the C library's `syslog()` writes them). PRI is facility × 8 + the
/// [`syslog_severity`] of the event's CEF severity.
///
/// ```no_run
/// use cef::{CefConfig, Event, Facility, SyslogSender, Transport};
///
/// let config = CefConfig { version: "0".into(), vendor: "mozilla".into(),
///                          product: "accounts".into(), device_version: "3".into() };
/// let sender = SyslogSender::new(Transport::Udp("127.0.0.1:514".into()), config, "accounts")
///     .facility(Facility::Local4);
/// sender.send(&Event::new("AuthFail", "Authentication failure", 5).user("tarek"))?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct SyslogSender {
    transport: Transport,
    facility: Facility,
    tag: String,
    hostname: String,
    config: CefConfig,
    conn: Mutex<Option<Conn>>,
}

impl std::fmt::Debug for SyslogSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyslogSender")
            .field("transport", &self.transport)
            .field("facility", &self.facility)
            .field("tag", &self.tag)
            .field("hostname", &self.hostname)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// This machine's host name (`localhost` when unknown).
pub(crate) fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

/// The program's name, as Python's `syslog` uses `sys.argv[0]`.
fn program_name() -> String {
    std::env::args()
        .next()
        .and_then(|a| {
            std::path::Path::new(&a)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
        })
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "cef".into())
}

impl SyslogSender {
    /// A sender over `transport` for events of `config`'s product, tagging messages with `tag`
    /// (the application's name; empty: the program's name); facility LOCAL4, host name this
    /// machine's.
    pub fn new(transport: Transport, config: CefConfig, tag: impl Into<String>) -> Self {
        let tag: String = tag.into();
        SyslogSender {
            transport,
            facility: Facility::default(),
            tag: if tag.is_empty() { program_name() } else { tag },
            hostname: host_name(),
            config,
            conn: Mutex::new(None),
        }
    }

    /// A sender to the local syslog socket, `/dev/log`.
    pub fn local(config: CefConfig, tag: impl Into<String>) -> Self {
        Self::new(Transport::Unix("/dev/log".into()), config, tag)
    }

    /// Uses another facility.
    pub fn facility(mut self, facility: Facility) -> Self {
        self.facility = facility;
        self
    }

    /// Uses another host name in network messages.
    pub fn hostname(mut self, hostname: impl Into<String>) -> Self {
        self.hostname = hostname.into();
        self
    }

    /// The syslog message for a CEF line of CEF severity `cef_severity`, stamped `time`.
    pub fn frame<Tz: chrono::TimeZone>(
        &self,
        cef_severity: u8,
        cef_line: &str,
        time: &chrono::DateTime<Tz>,
    ) -> String
    where
        Tz::Offset: std::fmt::Display,
    {
        let pri = u16::from(self.facility.code()) * 8 + u16::from(syslog_severity(cef_severity));
        let date = time.format("%b %e %H:%M:%S");
        let pid = std::process::id();
        match self.transport {
            Transport::Unix(_) => format!("<{pri}>{date} {}[{pid}]: {cef_line}", self.tag),
            _ => format!(
                "<{pri}>{date} {} {}[{pid}]: {cef_line}",
                self.hostname, self.tag
            ),
        }
    }

    /// Sends one event (its CEF line as [`Event::format_cef_only`] writes it), stamped with
    /// the local time.
    pub fn send(&self, event: &Event) -> io::Result<()> {
        self.send_line(event.severity(), &event.format_cef_only(&self.config))
    }

    /// Sends an already formatted CEF line of CEF severity `cef_severity`.
    pub fn send_line(&self, cef_severity: u8, cef_line: &str) -> io::Result<()> {
        let msg = self.frame(cef_severity, cef_line, &chrono::Local::now());
        let payload = match self.transport {
            Transport::Tcp(_) => {
                let mut line = msg.replace(['\r', '\n'], " ").into_bytes();
                line.push(b'\n');
                line
            }
            _ => msg.into_bytes(),
        };
        let mut guard = self.lock()?;
        // A cached connection may have gone away (syslog restarted): one fresh attempt.
        for attempt in 0..2 {
            if guard.is_none() {
                *guard = Some(self.connect()?);
            }
            let res = match guard.as_mut() {
                #[cfg(unix)]
                Some(Conn::Unix(s)) => s.send(&payload).map(drop),
                Some(Conn::Udp(s)) => s.send(&payload).map(drop),
                Some(Conn::Tcp(s)) => s.write_all(&payload).and_then(|()| s.flush()),
                None => Err(io::Error::other("not connected")),
            };
            match res {
                Ok(()) => return Ok(()),
                Err(e) if attempt == 1 => return Err(e),
                Err(_) => *guard = None,
            }
        }
        Err(io::Error::other("send failed"))
    }

    fn lock(&self) -> io::Result<MutexGuard<'_, Option<Conn>>> {
        self.conn
            .lock()
            .map_err(|_| io::Error::other("syslog sender lock poisoned"))
    }

    fn connect(&self) -> io::Result<Conn> {
        match &self.transport {
            #[cfg(unix)]
            Transport::Unix(path) => {
                let s = std::os::unix::net::UnixDatagram::unbound()?;
                s.connect(path)?;
                Ok(Conn::Unix(s))
            }
            #[cfg(not(unix))]
            Transport::Unix(_) => Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "unix sockets are not available on this platform",
            )),
            Transport::Udp(addr) => {
                let target = addr
                    .to_socket_addrs()?
                    .next()
                    .ok_or_else(|| io::Error::other(format!("no address for {addr}")))?;
                let bind = if target.is_ipv6() {
                    "[::]:0"
                } else {
                    "0.0.0.0:0"
                };
                let s = UdpSocket::bind(bind)?;
                s.connect(target)?;
                Ok(Conn::Udp(s))
            }
            Transport::Tcp(addr) => Ok(Conn::Tcp(TcpStream::connect(addr.as_str())?)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severity_and_facility() {
        assert_eq!(syslog_severity(10), 2);
        assert_eq!(syslog_severity(8), 3);
        assert_eq!(syslog_severity(5), 4);
        assert_eq!(syslog_severity(0), 6);
        assert_eq!(Facility::default().code(), 20);
        assert_eq!("local7".parse::<Facility>(), Ok(Facility::Local7));
        assert_eq!(Facility::AuthPriv.code(), 10);
        assert!("nope".parse::<Facility>().is_err());
    }
}
