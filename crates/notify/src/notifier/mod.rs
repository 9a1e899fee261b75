//! The notifiers: one kind per file, and [`Notifier`], the one a configuration names.

mod amqp;
mod email;
mod http;
mod slack;
mod syslog;
mod webhook;

pub use amqp::AmqpNotifier;
pub use email::EmailNotifier;
pub use slack::{payload as slack_payload, severity_color, SlackNotifier};
pub use syslog::{cef_event, cef_severity, SyslogNotifier};
pub use webhook::{sign, verify, VerifyError, WebhookNotifier, ALERT_ID_HEADER};

use ferrodef_event::Alert;

use crate::config::NotifierConfig;
use crate::error::{ConfigError, SendError};

/// A configured notifier.
#[derive(Debug)]
pub enum Notifier {
    /// Generic webhook.
    Webhook(WebhookNotifier),
    /// Slack-compatible webhook.
    Slack(SlackNotifier),
    /// Email.
    Email(EmailNotifier),
    /// CEF over syslog.
    Syslog(SyslogNotifier),
    /// AMQP exchange.
    Amqp(AmqpNotifier),
}

impl Notifier {
    /// Builds the notifier a configuration names (exactly one kind must be set).
    pub fn from_config(
        c: &NotifierConfig,
        console_url: Option<&str>,
    ) -> Result<Notifier, ConfigError> {
        let name = c.name.as_str();
        let set: Vec<&str> = [
            ("webhook", c.webhook.is_some()),
            ("slack", c.slack.is_some()),
            ("email", c.email.is_some()),
            ("syslog", c.syslog.is_some()),
            ("amqp", c.amqp.is_some()),
        ]
        .into_iter()
        .filter_map(|(k, on)| on.then_some(k))
        .collect();
        if set.len() != 1 {
            return Err(ConfigError::new(
                name,
                "",
                format!(
                    "set exactly one of webhook, slack, email, syslog, amqp (found {})",
                    if set.is_empty() {
                        "none".to_string()
                    } else {
                        set.join(", ")
                    }
                ),
            ));
        }
        if let Some(w) = &c.webhook {
            return WebhookNotifier::new(name, w).map(Notifier::Webhook);
        }
        if let Some(s) = &c.slack {
            return SlackNotifier::new(name, s, console_url).map(Notifier::Slack);
        }
        if let Some(e) = &c.email {
            return EmailNotifier::new(name, e, console_url).map(Notifier::Email);
        }
        if let Some(s) = &c.syslog {
            return SyslogNotifier::new(name, s, console_url).map(Notifier::Syslog);
        }
        match &c.amqp {
            Some(a) => AmqpNotifier::new(name, a).map(Notifier::Amqp),
            None => Err(ConfigError::new(name, "", "no target")),
        }
    }

    /// One delivery attempt.
    pub async fn send(&self, alert: &Alert) -> Result<(), SendError> {
        match self {
            Notifier::Webhook(n) => n.send(alert).await,
            Notifier::Slack(n) => n.send(alert).await,
            Notifier::Email(n) => n.send(alert).await,
            Notifier::Syslog(n) => n.send(alert).await,
            Notifier::Amqp(n) => n.send(alert).await,
        }
    }

    /// The kind's name (`webhook`, `slack`, `email`, `syslog`, `amqp`).
    pub fn kind(&self) -> &'static str {
        match self {
            Notifier::Webhook(_) => "webhook",
            Notifier::Slack(_) => "slack",
            Notifier::Email(_) => "email",
            Notifier::Syslog(_) => "syslog",
            Notifier::Amqp(_) => "amqp",
        }
    }

    /// Releases connections (at shutdown).
    pub async fn close(&self) {
        if let Notifier::Amqp(n) = self {
            n.close().await;
        }
    }
}
