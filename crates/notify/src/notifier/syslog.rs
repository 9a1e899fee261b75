//! CEF over syslog: each alert becomes one CEF event (through the project's `cef` crate) sent
//! as an RFC 3164 message over UDP, TCP or the local socket.
//!
//! The CEF event: signature = the rule, name = the summary, severity 0–10 from the alert's
//! severity ([`cef_severity`]); extensions `rt` (firing time, ms), `cat` (category),
//! `externalId` (alert id), `cnt` (events), `msg` (summary), `src` (the key, when it is an IP
//! address) and labelled strings: `cs1` rule kind, `cs2` MozDef class name, `cs3` key, `cs4`
//! tags, `cs5` runbook URL, `cs6` console link.

use std::borrow::Cow;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use cef::{CefConfig, CefEvent, Facility, SyslogSender, Transport};
use ferrodef_event::{Alert, Severity};

use crate::config::{SyslogConfig, SyslogTransport};
use crate::error::{ConfigError, SendError};
use crate::template::alert_link;

/// Longest CEF name (the summary), in characters.
const MAX_NAME_CHARS: usize = 512;

/// Sends alerts as CEF over syslog.
#[derive(Debug)]
pub struct SyslogNotifier {
    sender: Arc<SyslogSender>,
    config: CefConfig,
    timeout: Duration,
    console_url: Option<String>,
}

impl SyslogNotifier {
    /// Builds the notifier (no connection yet).
    pub fn new(
        name: &str,
        c: &SyslogConfig,
        console_url: Option<&str>,
    ) -> Result<SyslogNotifier, ConfigError> {
        if c.address.trim().is_empty() {
            return Err(ConfigError::new(name, "syslog.address", "empty address"));
        }
        let facility: Facility = c
            .facility
            .parse()
            .map_err(|e: String| ConfigError::new(name, "syslog.facility", e))?;
        let transport = match c.transport {
            SyslogTransport::Udp => Transport::Udp(c.address.clone()),
            SyslogTransport::Tcp => Transport::Tcp(c.address.clone()),
            SyslogTransport::Unix => Transport::Unix(c.address.clone().into()),
        };
        let config = CefConfig {
            version: "0".into(),
            vendor: c.vendor.clone(),
            product: c.product.clone(),
            device_version: env!("CARGO_PKG_VERSION").into(),
        };
        let mut sender =
            SyslogSender::new(transport, config.clone(), c.tag.clone()).facility(facility);
        if let Some(h) = &c.hostname {
            sender = sender.hostname(h.clone());
        }
        Ok(SyslogNotifier {
            sender: Arc::new(sender),
            config,
            timeout: c.timeout,
            console_url: console_url.map(str::to_string),
        })
    }

    /// One attempt (the `cef` crate's sockets block: the send runs on tokio's blocking pool).
    pub async fn send(&self, alert: &Alert) -> Result<(), SendError> {
        let severity = cef_severity(alert.severity);
        let line = cef_event(alert, &self.config, self.console_url.as_deref()).to_string();
        let sender = Arc::clone(&self.sender);
        let task = tokio::task::spawn_blocking(move || sender.send_line(severity, &line));
        match tokio::time::timeout(self.timeout, task).await {
            Ok(Ok(Ok(()))) => Ok(()),
            Ok(Ok(Err(e))) => Err(SendError::transient(format!("syslog: {e}"))),
            Ok(Err(e)) => Err(SendError::transient(format!("syslog send task: {e}"))),
            Err(_) => Err(SendError::transient(format!(
                "syslog: no send within {:?}",
                self.timeout
            ))),
        }
    }
}

/// CEF severity (0–10) of a MozDef severity.
pub fn cef_severity(s: Severity) -> u8 {
    match s {
        Severity::Debug => 0,
        Severity::Info => 1,
        Severity::Notice => 3,
        Severity::Warning => 5,
        Severity::Error => 7,
        Severity::Critical => 8,
        Severity::Alert => 9,
        Severity::Emergency => 10,
    }
}

fn cut(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((i, _)) => text[..i].to_string(),
        None => text.to_string(),
    }
}

/// The CEF event of an alert.
pub fn cef_event(
    alert: &Alert,
    config: &CefConfig,
    console_url: Option<&str>,
) -> CefEvent<'static> {
    let o = |s: &str| Cow::Owned(s.to_string());
    let mut ext: Vec<(Cow<'static, str>, Cow<'static, str>)> = vec![
        (
            o("rt"),
            Cow::Owned(alert.utctimestamp.timestamp_millis().to_string()),
        ),
        (o("cat"), o(&alert.category)),
        (o("externalId"), o(&alert.id)),
        (o("cnt"), Cow::Owned(alert.count.to_string())),
        (
            o("msg"),
            Cow::Owned(cut(&alert.summary, cef::MAX_MSG_CHARS)),
        ),
    ];
    let mut labeled = |n: u8, label: &str, value: String| {
        ext.push((Cow::Owned(format!("cs{n}Label")), o(label)));
        ext.push((Cow::Owned(format!("cs{n}")), Cow::Owned(value)));
    };
    let kind = serde_json::to_value(alert.rule_kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    labeled(1, "ruleKind", kind);
    labeled(2, "classname", alert.classname.clone());
    if let Some(key) = &alert.key {
        labeled(3, "key", key.clone());
    }
    if !alert.tags.is_empty() {
        labeled(4, "tags", alert.tags.join(","));
    }
    if let Some(url) = &alert.url {
        labeled(5, "runbook", url.clone());
    }
    if let Some(base) = console_url {
        labeled(6, "alertUrl", alert_link(base, &alert.id));
    }
    if let Some(ip) = alert.key.as_deref().and_then(|k| k.parse::<IpAddr>().ok()) {
        ext.push((o("src"), Cow::Owned(ip.to_string())));
    }
    CefEvent {
        prefix: Cow::Borrowed(""),
        version: o(&config.version),
        device_vendor: o(&config.vendor),
        device_product: o(&config.product),
        device_version: o(&config.device_version),
        signature_id: o(&alert.rule),
        // A header field is one line.
        name: Cow::Owned(cut(&alert.summary, MAX_NAME_CHARS).replace(['\r', '\n'], " ")),
        severity: Cow::Owned(cef_severity(alert.severity).to_string()),
        extensions: ext,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alert_round_trips_through_the_cef_parser() {
        let mut a = crate::sample_alert();
        a.summary = "a=b | c\\d\nnext".into();
        let config = CefConfig::default();
        let line = cef_event(&a, &config, Some("https://siem")).to_string();
        let ev = cef::parse(&line).unwrap();
        assert_eq!(ev.signature_id, "bruteforce_ssh");
        assert_eq!(ev.name, "a=b | c\\d next");
        assert_eq!(ev.severity_number(), Some(5));
        assert_eq!(ev.get("msg"), Some(a.summary.as_str()));
        assert_eq!(ev.get("src"), Some("203.0.113.7"));
        assert_eq!(ev.labeled("ruleKind"), Some("mozdef"));
        assert_eq!(ev.labeled("tags"), Some("ssh,bruteforce"));
        let link = format!("https://siem/alerts/{}", a.id);
        assert_eq!(ev.labeled("alertUrl"), Some(link.as_str()));
        assert_eq!(
            ev.get("rt"),
            Some(a.utctimestamp.timestamp_millis().to_string().as_str())
        );
    }

    #[test]
    fn severities_are_ordered() {
        let all = [
            Severity::Debug,
            Severity::Info,
            Severity::Notice,
            Severity::Warning,
            Severity::Error,
            Severity::Critical,
            Severity::Alert,
            Severity::Emergency,
        ];
        assert!(all
            .windows(2)
            .all(|w| cef_severity(w[0]) < cef_severity(w[1])));
        assert_eq!(cef_severity(Severity::Emergency), 10);
    }

    #[test]
    fn bad_facility_is_named() {
        let c: SyslogConfig =
            toml::from_str("address = \"127.0.0.1:514\"\nfacility = \"local9\"").unwrap();
        assert_eq!(
            SyslogNotifier::new("s", &c, None).unwrap_err().field,
            "syslog.facility"
        );
    }
}
