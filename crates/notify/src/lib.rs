//! Alert notifications for ferrodef: where alerts go once they are stored.
//!
//! Notifiers ([`notifier`]): a generic JSON webhook (optionally HMAC-signed), a
//! Slack-compatible incoming webhook, email over SMTP (lettre), CEF over syslog (the `cef`
//! crate), and an AMQP exchange on RabbitMQ (lapin; MozDef's `alerts` topic exchange and
//! `mozdef.alert` routing key by default).
//!
//! The [`Dispatcher`] routes each alert to the notifiers whose filter matches (severity,
//! category, rule globs, rule kind, tags), queues it per notifier without waiting, and
//! delivers in the background with retries and exponential backoff. Each (alert, notifier)
//! gets a [`DeliveryRecord`]; counters per notifier ([`NotifyMetrics`]) go to `/metrics`.
//!
//! ```no_run
//! # async fn demo(alert: ferrodef_event::Alert) -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::Duration;
//! use ferrodef_notify::{Dispatcher, NotifyConfig, NotifyMetrics};
//!
//! let config = NotifyConfig::from_toml_str(r#"
//!     [[notifiers]]
//!     name = "soc"
//!     route.min_severity = "WARNING"
//!     [notifiers.webhook]
//!     url = "https://soc.example.com/hooks/ferrodef"
//!     secret_env = "FERRODEF_WEBHOOK_SECRET"
//! "#)?;
//! let dispatcher = Dispatcher::start(config, NotifyMetrics::new())?;
//! dispatcher.submit(&alert); // never waits
//! // … later
//! for record in dispatcher.deliveries(&alert.id) {
//!     println!("{}: {:?} after {} attempts", record.notifier, record.status, record.attempts);
//! }
//! dispatcher.shutdown(Duration::from_secs(5)).await;
//! # Ok(()) }
//! ```

#![warn(missing_docs)]

pub mod config;
mod dispatcher;
mod error;
pub mod metrics;
pub mod notifier;
mod record;
mod retry;
pub mod route;
mod sample;
pub mod template;
#[cfg(test)]
mod testing;
mod watch;

pub use config::{
    AmqpConfig, EmailConfig, NotifierConfig, NotifyConfig, RetryPolicy, SlackConfig, SmtpSecurity,
    SyslogConfig, SyslogTransport, WebhookConfig,
};
pub use dispatcher::{Dispatcher, ShutdownReport, Submitted};
pub use error::{ConfigError, SendError};
pub use metrics::{NotifierCounts, NotifyMetrics};
pub use notifier::Notifier;
pub use record::{DeliveryRecord, DeliverySink, DeliveryStatus};
pub use route::{Route, RouteConfig};
pub use sample::sample_alert;
pub use watch::{failure_rule, FailureWatch};
