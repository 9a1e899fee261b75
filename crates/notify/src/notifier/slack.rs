//! A Slack-compatible incoming webhook: `text` for notifications and clients without blocks,
//! and one attachment coloured by severity holding Block Kit blocks (summary, severity,
//! category, rule, events, key, links).

use ferrodef_event::{Alert, Severity};
use reqwest::header::CONTENT_TYPE;
use serde_json::{json, Value};

use super::http::{check_response, check_url, client, request_error};
use crate::config::{secret, SlackConfig};
use crate::error::{ConfigError, SendError};
use crate::template::alert_link;

/// Sends alerts to a Slack-compatible webhook.
#[derive(Debug)]
pub struct SlackNotifier {
    client: reqwest::Client,
    url: reqwest::Url,
    config: SlackConfig,
    console_url: Option<String>,
}

impl SlackNotifier {
    /// Builds the notifier; errors name the field.
    pub fn new(
        name: &str,
        c: &SlackConfig,
        console_url: Option<&str>,
    ) -> Result<SlackNotifier, ConfigError> {
        let url = secret(name, "slack.url", &c.url, &c.url_env)?
            .ok_or_else(|| ConfigError::new(name, "slack.url", "set url or url_env"))?;
        Ok(SlackNotifier {
            client: client(name, c.timeout)?,
            url: check_url(name, "slack.url", &url)?,
            config: c.clone(),
            console_url: console_url.map(str::to_string),
        })
    }

    /// One attempt.
    pub async fn send(&self, alert: &Alert) -> Result<(), SendError> {
        let payload = payload(alert, &self.config, self.console_url.as_deref());
        let body = serde_json::to_vec(&payload)
            .map_err(|e| SendError::permanent(format!("payload to JSON: {e}")))?;
        let response = self
            .client
            .post(self.url.clone())
            .header(CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .await
            .map_err(request_error)?;
        check_response(response).await
    }
}

/// The attachment colour of a severity.
pub fn severity_color(severity: Severity) -> &'static str {
    match severity {
        Severity::Debug | Severity::Info => "#9e9e9e",
        Severity::Notice => "#439fe0",
        Severity::Warning => "#daa038",
        Severity::Error => "#e8590c",
        Severity::Critical => "#d00000",
        Severity::Alert | Severity::Emergency => "#8b0000",
    }
}

/// Escapes text for Slack's mrkdwn (`&`, `<`, `>`), so alert data cannot inject links or
/// mentions.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Slack limits a section's text to 3,000 characters and a field to 2,000.
fn cut(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_string(),
    }
}

/// The incoming-webhook payload of an alert.
pub fn payload(alert: &Alert, config: &SlackConfig, console_url: Option<&str>) -> Value {
    let summary = escape(&alert.summary);
    let text = format!("[{}] {}", alert.severity, cut(&summary, 2_900));
    let mut fields = vec![
        field("Severity", alert.severity.as_str()),
        field("Category", &escape(&alert.category)),
        field(
            "Rule",
            &format!("`{}` ({})", escape(&alert.rule), kind(alert)),
        ),
        field("Events", &alert.count.to_string()),
    ];
    if let Some(key) = &alert.key {
        fields.push(field("Key", &escape(key)));
    }
    let mut blocks = vec![
        json!({"type": "section", "text": {"type": "mrkdwn", "text": format!("*{}*", cut(&summary, 2_900))}}),
        json!({"type": "section", "fields": fields}),
    ];
    let mut links = Vec::new();
    if let Some(base) = console_url {
        links.push(format!(
            "<{}|Open in ferrodef>",
            alert_link(base, &alert.id)
        ));
    }
    if let Some(url) = &alert.url {
        links.push(format!("<{}|Runbook>", escape(url)));
    }
    let mut context = vec![
        json!({"type": "mrkdwn", "text": format!("{} · {}", alert.utctimestamp.to_rfc3339(), escape(&alert.id))}),
    ];
    if !links.is_empty() {
        context.push(json!({"type": "mrkdwn", "text": links.join(" · ")}));
    }
    blocks.push(json!({"type": "context", "elements": context}));
    let mut payload = json!({
        "text": text,
        "attachments": [{
            "color": severity_color(alert.severity),
            "fallback": text,
            "blocks": blocks,
        }],
    });
    let channel = match (&config.channel, config.use_alert_channel, &alert.channel) {
        (_, true, Some(c)) => Some(c.clone()),
        (c, _, _) => c.clone(),
    };
    for (k, v) in [
        ("channel", channel),
        ("username", config.username.clone()),
        ("icon_emoji", config.icon_emoji.clone()),
    ] {
        if let (Some(v), Value::Object(map)) = (v, &mut payload) {
            map.insert(k.into(), Value::String(v));
        }
    }
    payload
}

fn kind(alert: &Alert) -> &'static str {
    use ferrodef_event::RuleKind::*;
    match alert.rule_kind {
        Mozdef => "mozdef",
        Sigma => "sigma",
        Correlation => "correlation",
        Geomodel => "geomodel",
        System => "system",
    }
}

fn field(title: &str, value: &str) -> Value {
    json!({"type": "mrkdwn", "text": format!("*{title}*\n{}", cut(value, 1_900))})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> SlackConfig {
        toml::from_str("url = \"http://127.0.0.1:1/hook\"").unwrap()
    }

    #[test]
    fn escapes_and_colours() {
        let mut a = crate::sample_alert();
        a.summary = "<!channel> a & b".into();
        a.severity = Severity::Critical;
        let p = payload(&a, &config(), Some("https://siem"));
        assert_eq!(p["text"], "[CRITICAL] &lt;!channel&gt; a &amp; b");
        assert_eq!(p["attachments"][0]["color"], "#d00000");
        let ctx = p["attachments"][0]["blocks"][2]["elements"][1]["text"]
            .as_str()
            .unwrap();
        assert!(ctx.contains(&format!("<https://siem/alerts/{}|Open in ferrodef>", a.id)));
        assert!(p.get("channel").is_none());
    }

    #[test]
    fn channel_choice() {
        let mut c = config();
        c.channel = Some("#soc".into());
        let a = crate::sample_alert();
        assert_eq!(payload(&a, &c, None)["channel"], "#soc");
        c.use_alert_channel = true;
        assert_eq!(payload(&a, &c, None)["channel"], "#security");
    }

    #[test]
    fn long_text_is_cut() {
        let mut a = crate::sample_alert();
        a.summary = "x".repeat(10_000);
        let p = payload(&a, &config(), None);
        assert!(p["text"].as_str().unwrap().chars().count() < 3_000);
    }

    #[test]
    fn needs_a_url() {
        let c: SlackConfig = toml::from_str("channel = \"#x\"").unwrap();
        assert_eq!(
            SlackNotifier::new("s", &c, None).unwrap_err().field,
            "slack.url"
        );
    }
}
