//! Email over SMTP with lettre (tokio, rustls): one message per alert to the configured
//! recipients, subject and body from templates.

use ferrodef_event::Alert;
use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::transport::smtp::AsyncSmtpTransportBuilder;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::sync::OnceLock;

use crate::config::{secret, EmailConfig, SmtpSecurity};
use crate::error::{chain, ConfigError, SendError};
use crate::template::{context, Templates};

/// Longest subject, in characters.
const MAX_SUBJECT_CHARS: usize = 200;

/// Sends alerts by email.
pub struct EmailNotifier {
    /// Checked settings; the transport is built on first use (building it spawns its
    /// connection pool's task, which needs the runtime).
    builder: AsyncSmtpTransportBuilder,
    transport: OnceLock<AsyncSmtpTransport<Tokio1Executor>>,
    from: Mailbox,
    to: Vec<Mailbox>,
    templates: Templates,
    console_url: Option<String>,
}

impl std::fmt::Debug for EmailNotifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmailNotifier")
            .field("from", &self.from)
            .field("to", &self.to)
            .finish_non_exhaustive()
    }
}

impl EmailNotifier {
    /// Builds the notifier: addresses, templates, TLS settings are checked now.
    pub fn new(
        name: &str,
        c: &EmailConfig,
        console_url: Option<&str>,
    ) -> Result<EmailNotifier, ConfigError> {
        let mailbox = |field: &str, s: &str| {
            s.parse::<Mailbox>()
                .map_err(|e| ConfigError::new(name, field, format!("bad address {s:?}: {e}")))
        };
        let from = mailbox("email.from", &c.from)?;
        if c.to.is_empty() {
            return Err(ConfigError::new(name, "email.to", "no recipient"));
        }
        let to =
            c.to.iter()
                .enumerate()
                .map(|(i, s)| mailbox(&format!("email.to[{i}]"), s))
                .collect::<Result<Vec<_>, _>>()?;
        let templates = Templates::compile(
            name,
            &[("email.subject", &c.subject), ("email.body", &c.body)],
        )?;
        Ok(EmailNotifier {
            builder: transport(name, c)?,
            transport: OnceLock::new(),
            from,
            to,
            templates,
            console_url: console_url.map(str::to_string),
        })
    }

    /// One attempt.
    pub async fn send(&self, alert: &Alert) -> Result<(), SendError> {
        let ctx = context(alert, self.console_url.as_deref());
        let subject = one_line(&self.templates.render("email.subject", &ctx)?);
        let body = self.templates.render("email.body", &ctx)?;
        let mut builder = Message::builder()
            .from(self.from.clone())
            .subject(subject)
            .header(ContentType::TEXT_PLAIN);
        for to in &self.to {
            builder = builder.to(to.clone());
        }
        let message = builder
            .body(body)
            .map_err(|e| SendError::permanent(format!("building the message: {e}")))?;
        let transport = self.transport.get_or_init(|| self.builder.clone().build());
        transport.send(message).await.map(drop).map_err(|e| {
            let text = format!("SMTP: {}", chain(&e));
            if e.is_permanent() {
                SendError::permanent(text)
            } else {
                SendError::transient(text)
            }
        })
    }
}

/// Line breaks become spaces (no header injection), cut at 200 characters.
fn one_line(s: &str) -> String {
    let line: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let line = line.trim();
    match line.char_indices().nth(MAX_SUBJECT_CHARS) {
        Some((i, _)) => format!("{}…", &line[..i]),
        None => line.to_string(),
    }
}

fn transport(name: &str, c: &EmailConfig) -> Result<AsyncSmtpTransportBuilder, ConfigError> {
    let port = c.port.unwrap_or(match c.security {
        SmtpSecurity::None | SmtpSecurity::Opportunistic => 25,
        SmtpSecurity::Starttls => 587,
        SmtpSecurity::Tls => 465,
    });
    let tls = match c.security {
        SmtpSecurity::None => Tls::None,
        SmtpSecurity::Opportunistic => Tls::Opportunistic(tls_parameters(name, c)?),
        SmtpSecurity::Starttls => Tls::Required(tls_parameters(name, c)?),
        SmtpSecurity::Tls => Tls::Wrapper(tls_parameters(name, c)?),
    };
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(c.host.as_str())
        .port(port)
        .tls(tls)
        .timeout(Some(c.timeout));
    let password = secret(name, "email.password", &c.password, &c.password_env)?;
    match (&c.username, password) {
        (Some(user), Some(password)) => {
            builder = builder.credentials(Credentials::new(user.clone(), password));
        }
        (None, None) => {}
        _ => {
            return Err(ConfigError::new(
                name,
                "email.username",
                "set both username and password (or password_env), or neither",
            ))
        }
    }
    Ok(builder)
}

fn tls_parameters(name: &str, c: &EmailConfig) -> Result<TlsParameters, ConfigError> {
    let domain = c.tls_domain.clone().unwrap_or_else(|| c.host.clone());
    let mut builder = TlsParameters::builder(domain)
        .dangerous_accept_invalid_certs(c.danger_accept_invalid_certs);
    if let Some(path) = &c.ca_file {
        let pem = std::fs::read(path).map_err(|e| {
            ConfigError::new(name, "email.ca_file", format!("cannot read {path}: {e}"))
        })?;
        let cert = Certificate::from_pem(&pem).map_err(|e| {
            ConfigError::new(name, "email.ca_file", format!("{path}: {}", chain(&e)))
        })?;
        builder = builder.add_root_certificate(cert);
    }
    builder
        .build_rustls()
        .map_err(|e| ConfigError::new(name, "email", format!("TLS settings: {}", chain(&e))))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> EmailConfig {
        toml::from_str(
            r#"
            host = "127.0.0.1"
            from = "ferrodef <siem@example.com>"
            to = ["soc@example.com"]
            "#,
        )
        .unwrap()
    }

    #[test]
    fn subject_is_one_line() {
        assert_eq!(one_line(" a\r\nBcc: x@y \n"), "a  Bcc: x@y");
        assert_eq!(one_line(&"é".repeat(300)).chars().count(), 201);
    }

    #[test]
    fn config_errors_name_fields() {
        let mut c = config();
        c.to.push("not an address".into());
        assert_eq!(
            EmailNotifier::new("m", &c, None).unwrap_err().field,
            "email.to[1]"
        );
        let mut c = config();
        c.to.clear();
        assert_eq!(
            EmailNotifier::new("m", &c, None).unwrap_err().field,
            "email.to"
        );
        let mut c = config();
        c.username = Some("u".into());
        assert_eq!(
            EmailNotifier::new("m", &c, None).unwrap_err().field,
            "email.username"
        );
        let mut c = config();
        c.ca_file = Some("/nonexistent/ca.pem".into());
        assert_eq!(
            EmailNotifier::new("m", &c, None).unwrap_err().field,
            "email.ca_file"
        );
        let mut c = config();
        c.subject = "{{ summary".into();
        assert_eq!(
            EmailNotifier::new("m", &c, None).unwrap_err().field,
            "email.subject"
        );
        assert!(EmailNotifier::new("m", &config(), None).is_ok());
    }
}
