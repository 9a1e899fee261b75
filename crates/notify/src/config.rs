//! Configuration of notifications: the notifiers, their routes, queues and retry policies.
//!
//! The types deserialize from TOML (or any serde format); unknown keys are errors, so a typo
//! in a setting never silently falls back to a default. [`NotifyConfig::from_toml_str`] reads
//! a standalone file; [`NotifyConfig::validate`] checks what serde cannot (names, URLs,
//! addresses, templates, globs) and names the notifier and field at fault.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::ConfigError;
use crate::route::RouteConfig;

/// Everything about notifications.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotifyConfig {
    /// Base URL of ferrodef's console; when set, notifications link to
    /// `<console_url>/alerts/<alert id>`.
    #[serde(default)]
    pub console_url: Option<String>,
    /// How many alerts' delivery records are kept in memory (oldest forgotten first; records
    /// not yet final are never forgotten).
    #[serde(default = "default_record_capacity")]
    pub record_capacity: usize,
    /// The notifiers. One alert goes to every notifier whose route matches it.
    #[serde(default)]
    pub notifiers: Vec<NotifierConfig>,
}

impl Default for NotifyConfig {
    fn default() -> Self {
        NotifyConfig {
            console_url: None,
            record_capacity: default_record_capacity(),
            notifiers: Vec::new(),
        }
    }
}

fn default_record_capacity() -> usize {
    10_000
}

impl NotifyConfig {
    /// Reads a configuration from TOML text (errors carry line and column) and validates it.
    pub fn from_toml_str(text: &str) -> Result<NotifyConfig, ConfigError> {
        let config: NotifyConfig =
            toml::from_str(text).map_err(|e| ConfigError::new("notify", "", e.to_string()))?;
        config.validate()?;
        Ok(config)
    }

    /// Checks what deserialization cannot: unique non-empty names, exactly one target per
    /// notifier, URLs, addresses, globs, templates. [`crate::Dispatcher::start`] runs it too.
    pub fn validate(&self) -> Result<(), ConfigError> {
        crate::dispatcher::build_lanes(self).map(drop)
    }
}

/// One notifier: where alerts go, which alerts, and how delivery is retried.
///
/// Exactly one of `webhook`, `slack`, `email`, `syslog`, `amqp` is set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotifierConfig {
    /// Unique name (labels metrics and delivery records).
    pub name: String,
    /// A disabled notifier receives nothing.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Which alerts this notifier receives (all, when empty).
    #[serde(default)]
    pub route: RouteConfig,
    /// Alerts waiting for this notifier at most; more are dropped and counted.
    #[serde(default = "default_queue_size")]
    pub queue_size: usize,
    /// Deliveries in progress at once (waiting retries included).
    #[serde(default = "default_max_in_flight")]
    pub max_in_flight: usize,
    /// Retries.
    #[serde(default)]
    pub retry: RetryPolicy,
    /// Generic JSON webhook.
    #[serde(default)]
    pub webhook: Option<WebhookConfig>,
    /// Slack-compatible incoming webhook.
    #[serde(default)]
    pub slack: Option<SlackConfig>,
    /// Email over SMTP.
    #[serde(default)]
    pub email: Option<EmailConfig>,
    /// CEF over syslog.
    #[serde(default)]
    pub syslog: Option<SyslogConfig>,
    /// An AMQP exchange (RabbitMQ).
    #[serde(default)]
    pub amqp: Option<AmqpConfig>,
}

fn yes() -> bool {
    true
}

fn default_queue_size() -> usize {
    1024
}

fn default_max_in_flight() -> usize {
    16
}

/// Retries with exponential backoff: after failed attempt `n` the next waits
/// `min(max_backoff, initial_backoff × multiplier^(n-1))` (with jitter: a random time between
/// half that and all of it), until `max_attempts` attempts were made or the alert has waited
/// `max_age` since it was submitted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetryPolicy {
    /// Attempts at most (1: no retry).
    #[serde(default = "default_max_attempts")]
    pub max_attempts: u32,
    /// Wait after the first failure.
    #[serde(default = "default_initial_backoff", with = "humantime_serde")]
    pub initial_backoff: Duration,
    /// Longest wait between attempts.
    #[serde(default = "default_max_backoff", with = "humantime_serde")]
    pub max_backoff: Duration,
    /// Growth of the wait per failure.
    #[serde(default = "default_multiplier")]
    pub multiplier: f64,
    /// No attempt starts later than this after submission.
    #[serde(default = "default_max_age", with = "humantime_serde")]
    pub max_age: Duration,
    /// Randomize waits (so many failing deliveries do not retry in step).
    #[serde(default = "yes")]
    pub jitter: bool,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: default_max_attempts(),
            initial_backoff: default_initial_backoff(),
            max_backoff: default_max_backoff(),
            multiplier: default_multiplier(),
            max_age: default_max_age(),
            jitter: true,
        }
    }
}

fn default_max_attempts() -> u32 {
    6
}
fn default_initial_backoff() -> Duration {
    Duration::from_secs(1)
}
fn default_max_backoff() -> Duration {
    Duration::from_secs(120)
}
fn default_multiplier() -> f64 {
    2.0
}
fn default_max_age() -> Duration {
    Duration::from_secs(30 * 60)
}

/// A generic webhook: `POST` of the alert's JSON.
///
/// With a secret, each request carries `X-Ferrodef-Timestamp: <unix seconds>` and
/// `X-Ferrodef-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">`; a receiver
/// recomputes the HMAC and rejects timestamps older than a few minutes (replay).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// `http://` or `https://` URL.
    pub url: String,
    /// HMAC secret (prefer `secret_env`).
    #[serde(default)]
    pub secret: Option<String>,
    /// Name of an environment variable holding the HMAC secret.
    #[serde(default)]
    pub secret_env: Option<String>,
    /// Header of the signature.
    #[serde(default = "default_signature_header")]
    pub signature_header: String,
    /// Header of the timestamp.
    #[serde(default = "default_timestamp_header")]
    pub timestamp_header: String,
    /// Time for one request, connection included.
    #[serde(default = "default_http_timeout", with = "humantime_serde")]
    pub timeout: Duration,
    /// Extra request headers.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Send the alert's sample events too (they can be large).
    #[serde(default = "yes")]
    pub include_events: bool,
}

fn default_signature_header() -> String {
    "X-Ferrodef-Signature".into()
}
fn default_timestamp_header() -> String {
    "X-Ferrodef-Timestamp".into()
}
fn default_http_timeout() -> Duration {
    Duration::from_secs(10)
}

/// A Slack-compatible incoming webhook (Slack, Mattermost, Rocket.Chat…).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlackConfig {
    /// The incoming-webhook URL (prefer `url_env`: the URL is the credential).
    #[serde(default)]
    pub url: Option<String>,
    /// Name of an environment variable holding the URL.
    #[serde(default)]
    pub url_env: Option<String>,
    /// Channel override (`#security`), where the receiver allows it.
    #[serde(default)]
    pub channel: Option<String>,
    /// Poster name override.
    #[serde(default)]
    pub username: Option<String>,
    /// Poster icon (`:rotating_light:`).
    #[serde(default)]
    pub icon_emoji: Option<String>,
    /// Use the alert's own `channel` (MozDef's IRC channel) when it has one.
    #[serde(default)]
    pub use_alert_channel: bool,
    /// Time for one request.
    #[serde(default = "default_http_timeout", with = "humantime_serde")]
    pub timeout: Duration,
}

/// How the SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum SmtpSecurity {
    /// Plain SMTP (only on trusted networks or loopback).
    None,
    /// STARTTLS when the server offers it, else plain.
    Opportunistic,
    /// STARTTLS, required (port 587).
    #[default]
    Starttls,
    /// TLS from the first byte (SMTPS, port 465).
    Tls,
}

/// Email over SMTP. Subject and body are minijinja templates over the alert's fields
/// (`{{ summary }}`, `{{ severity }}`, `{{ rule }}`, `{{ link }}`…).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailConfig {
    /// SMTP server host name or address.
    pub host: String,
    /// Port (default: 25 for `none`/`opportunistic`, 587 for `starttls`, 465 for `tls`).
    #[serde(default)]
    pub port: Option<u16>,
    /// Connection security.
    #[serde(default)]
    pub security: SmtpSecurity,
    /// Name the server's certificate must carry (default: `host`).
    #[serde(default)]
    pub tls_domain: Option<String>,
    /// Extra trusted CA certificate(s), PEM file.
    #[serde(default)]
    pub ca_file: Option<String>,
    /// Accept any certificate (never in production).
    #[serde(default)]
    pub danger_accept_invalid_certs: bool,
    /// SMTP user.
    #[serde(default)]
    pub username: Option<String>,
    /// SMTP password (prefer `password_env`).
    #[serde(default)]
    pub password: Option<String>,
    /// Name of an environment variable holding the SMTP password.
    #[serde(default)]
    pub password_env: Option<String>,
    /// Sender (`ferrodef <siem@example.com>`).
    pub from: String,
    /// Recipients.
    pub to: Vec<String>,
    /// Subject template (one line; line breaks become spaces).
    #[serde(default = "default_subject")]
    pub subject: String,
    /// Body template (plain text).
    #[serde(default = "default_body")]
    pub body: String,
    /// Time for one SMTP command.
    #[serde(default = "default_http_timeout", with = "humantime_serde")]
    pub timeout: Duration,
}

/// The default subject template.
pub fn default_subject() -> String {
    "[ferrodef] {{ severity }}: {{ summary }}".into()
}

/// The default body template.
pub fn default_body() -> String {
    "{{ summary }}\n\n\
     Severity: {{ severity }}\n\
     Category: {{ category }}\n\
     Rule:     {{ rule }} ({{ rule_kind }}, {{ classname }})\n\
     Time:     {{ utctimestamp }}\n\
     Events:   {{ count }}\n\
     {% if key %}Key:      {{ key }}\n{% endif %}\
     {% if tags %}Tags:     {{ tags|join(\", \") }}\n{% endif %}\
     {% if url %}Runbook:  {{ url }}\n{% endif %}\
     {% if link %}Alert:    {{ link }}\n{% endif %}\
     Alert id: {{ id }}\n"
        .into()
}

/// Syslog transport of the CEF notifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum SyslogTransport {
    /// One datagram per alert.
    #[default]
    Udp,
    /// One line per alert (LF framing).
    Tcp,
    /// The local syslog socket (`address` is its path, e.g. `/dev/log`).
    Unix,
}

/// CEF over syslog (RFC 3164), through the `cef` crate, as MozDef's alert output to a
/// SIEM did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyslogConfig {
    /// Transport.
    #[serde(default)]
    pub transport: SyslogTransport,
    /// `host:port` (UDP/TCP) or a socket path (unix).
    pub address: String,
    /// Facility name (`LOCAL4`, `AUTH`…).
    #[serde(default = "default_facility")]
    pub facility: String,
    /// The tag (program name) of the messages.
    #[serde(default = "default_tag")]
    pub tag: String,
    /// Host name in the messages (default: this machine's).
    #[serde(default)]
    pub hostname: Option<String>,
    /// CEF device vendor.
    #[serde(default = "default_vendor")]
    pub vendor: String,
    /// CEF device product.
    #[serde(default = "default_vendor")]
    pub product: String,
    /// Time for one send.
    #[serde(default = "default_syslog_timeout", with = "humantime_serde")]
    pub timeout: Duration,
}

fn default_facility() -> String {
    "LOCAL4".into()
}
fn default_tag() -> String {
    "ferrodef".into()
}
fn default_vendor() -> String {
    "ferrodef".into()
}
fn default_syslog_timeout() -> Duration {
    Duration::from_secs(5)
}

/// Publishing to an AMQP exchange (RabbitMQ), as MozDef published its alerts: topic exchange
/// `alerts`, routing key `mozdef.alert`, persistent messages; with publisher confirms.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AmqpConfig {
    /// `amqp://user:password@host:5672/%2f` (or `amqps://`); prefer `url_env`.
    #[serde(default)]
    pub url: Option<String>,
    /// Name of an environment variable holding the URL.
    #[serde(default)]
    pub url_env: Option<String>,
    /// Exchange name.
    #[serde(default = "default_exchange")]
    pub exchange: String,
    /// Exchange type when declaring (`topic`, `direct`, `fanout`, `headers`).
    #[serde(default = "default_exchange_type")]
    pub exchange_type: String,
    /// Declare the exchange (durable) on connect.
    #[serde(default = "yes")]
    pub declare_exchange: bool,
    /// Routing key.
    #[serde(default = "default_routing_key")]
    pub routing_key: String,
    /// Persistent messages (delivery mode 2).
    #[serde(default = "yes")]
    pub persistent: bool,
    /// Mandatory publishing: a message no queue takes counts as a failed attempt.
    #[serde(default)]
    pub mandatory: bool,
    /// Time for connecting and for one publish and its confirm.
    #[serde(default = "default_http_timeout", with = "humantime_serde")]
    pub timeout: Duration,
}

fn default_exchange() -> String {
    "alerts".into()
}
fn default_exchange_type() -> String {
    "topic".into()
}
fn default_routing_key() -> String {
    "mozdef.alert".into()
}

/// The value of a secret: inline or from the environment variable named by `env`.
pub(crate) fn secret(
    notifier: &str,
    field: &str,
    inline: &Option<String>,
    env: &Option<String>,
) -> Result<Option<String>, ConfigError> {
    match (inline, env) {
        (Some(_), Some(_)) => Err(ConfigError::new(
            notifier,
            field,
            format!("set either {field} or {field}_env, not both"),
        )),
        (Some(v), None) => Ok(Some(v.clone())),
        (None, Some(var)) => match std::env::var(var) {
            Ok(v) if !v.is_empty() => Ok(Some(v)),
            _ => Err(ConfigError::new(
                notifier,
                &format!("{field}_env"),
                format!("environment variable {var} is not set or empty"),
            )),
        },
        (None, None) => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_unknown_keys() {
        let c: NotifyConfig = toml::from_str(
            r#"
            [[notifiers]]
            name = "hook"
            [notifiers.webhook]
            url = "http://127.0.0.1:9/x"
            "#,
        )
        .unwrap();
        let n = &c.notifiers[0];
        assert_eq!(n.queue_size, 1024);
        assert_eq!(n.retry.max_attempts, 6);
        assert_eq!(n.webhook.as_ref().unwrap().timeout, Duration::from_secs(10));
        assert!(n.enabled);

        let err = toml::from_str::<NotifyConfig>(
            "[[notifiers]]\nname = \"x\"\nqueue_sise = 3\n[notifiers.webhook]\nurl = \"http://a\"\n",
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("queue_sise") && err.contains("line 3"),
            "{err}"
        );
    }

    #[test]
    fn durations_are_human() {
        let p: RetryPolicy =
            toml::from_str("initial_backoff = \"250ms\"\nmax_age = \"1h\"").unwrap();
        assert_eq!(p.initial_backoff, Duration::from_millis(250));
        assert_eq!(p.max_age, Duration::from_secs(3600));
        assert!(toml::from_str::<RetryPolicy>("max_age = \"soon\"").is_err());
    }

    #[test]
    fn secrets_from_env() {
        assert_eq!(secret("n", "secret", &None, &None).unwrap(), None);
        let e = secret(
            "n",
            "secret",
            &None,
            &Some("FERRODEF_NOTIFY_TEST_SURELY_UNSET".into()),
        )
        .unwrap_err();
        assert!(e.to_string().contains("FERRODEF_NOTIFY_TEST_SURELY_UNSET"));
        assert!(secret("n", "secret", &Some("a".into()), &Some("B".into())).is_err());
    }
}
