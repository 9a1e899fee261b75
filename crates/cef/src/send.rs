//! Sending CEF lines to syslog.

use std::io::Write;
use std::net::{TcpStream, ToSocketAddrs, UdpSocket};
use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;
use std::sync::Mutex;

use crate::{CefConfig, Event};

/// Syslog facility (LOCAL4 by default, as the recommendations and Mozilla's library use).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Facility {
    /// auth (4)
    Auth,
    /// authpriv (10)
    AuthPriv,
    /// user (1)
    User,
    /// local0 (16) .. local7 (23): `Local(n)`.
    Local(u8),
    /// local4 (20)
    #[default]
    Local4,
}

impl Facility {
    fn code(self) -> u8 {
        match self {
            Facility::Auth => 4,
            Facility::AuthPriv => 10,
            Facility::User => 1,
            Facility::Local(n) => 16 + n.min(7),
            Facility::Local4 => 20,
        }
    }
}

/// Where lines go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transport {
    /// The local syslog socket (`/dev/log` by default).
    Unix(PathBuf),
    /// UDP to `host:port`.
    Udp(String),
    /// TCP to `host:port`, one line per message (LF framing).
    Tcp(String),
}

/// Sends CEF events to syslog.
pub struct SyslogSender {
    transport: Transport,
    facility: Facility,
    app: String,
    config: CefConfig,
    tcp: Mutex<Option<TcpStream>>,
}

/// This machine's host name.
pub(crate) fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

/// Syslog severity for a CEF severity: 9–10 crit, 7–8 err, 5–6 warning, 3–4 notice, 0–2 info.
fn syslog_severity(cef: u8) -> u8 {
    match cef {
        9.. => 2,
        7..=8 => 3,
        5..=6 => 4,
        3..=4 => 5,
        _ => 6,
    }
}

impl SyslogSender {
    /// A sender for `config`'s product, tagging messages with `app`.
    pub fn new(transport: Transport, config: CefConfig, app: impl Into<String>) -> Self {
        SyslogSender {
            transport,
            facility: Facility::default(),
            app: app.into(),
            config,
            tcp: Mutex::new(None),
        }
    }

    /// Uses another facility.
    pub fn facility(mut self, f: Facility) -> Self {
        self.facility = f;
        self
    }

    /// The syslog datagram for an event: `<PRI>Mmm dd hh:mm:ss host app: CEF:...`.
    pub fn message(&self, event: &Event) -> String {
        let pri =
            u16::from(self.facility.code()) * 8 + u16::from(syslog_severity(event.severity()));
        let now = chrono::Utc::now();
        let date = now.format("%b %e %H:%M:%S");
        format!(
            "<{pri}>{date} {} {}: {}",
            host_name(),
            self.app,
            event.format_cef_only(&self.config)
        )
    }

    /// Sends one event.
    pub fn send(&self, event: &Event) -> std::io::Result<()> {
        let msg = self.message(event);
        match &self.transport {
            Transport::Unix(path) => {
                let s = UnixDatagram::unbound()?;
                s.send_to(msg.as_bytes(), path)?;
            }
            Transport::Udp(addr) => {
                let target = addr
                    .to_socket_addrs()?
                    .next()
                    .ok_or_else(|| std::io::Error::other(format!("no address for {addr}")))?;
                let bind = if target.is_ipv6() {
                    "[::]:0"
                } else {
                    "0.0.0.0:0"
                };
                let s = UdpSocket::bind(bind)?;
                s.send_to(msg.as_bytes(), target)?;
            }
            Transport::Tcp(addr) => {
                let mut guard = self
                    .tcp
                    .lock()
                    .map_err(|_| std::io::Error::other("sender lock poisoned"))?;
                let mut line = msg.into_bytes();
                line.push(b'\n');
                // One reconnect on a broken connection.
                for attempt in 0..2 {
                    if guard.is_none() {
                        *guard = Some(TcpStream::connect(addr.as_str())?);
                    }
                    let res = guard.as_mut().map(|s| s.write_all(&line));
                    match res {
                        Some(Ok(())) => return Ok(()),
                        Some(Err(e)) if attempt == 1 => return Err(e),
                        _ => *guard = None,
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severity_mapping() {
        assert_eq!(syslog_severity(10), 2);
        assert_eq!(syslog_severity(5), 4);
        assert_eq!(syslog_severity(0), 6);
    }
}
