//! The generic webhook: `POST` of the alert's JSON, optionally signed.

use ferrodef_event::Alert;
use hmac::{Hmac, Mac};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_TYPE};
use sha2::Sha256;

use super::http::{check_response, check_url, client, request_error};
use crate::config::{secret, WebhookConfig};
use crate::error::{ConfigError, SendError};

/// The header naming the alert, so a receiver can drop a retried duplicate.
pub const ALERT_ID_HEADER: &str = "X-Ferrodef-Alert-Id";

/// Sends alerts to a webhook.
#[derive(Debug)]
pub struct WebhookNotifier {
    client: reqwest::Client,
    url: reqwest::Url,
    secret: Option<Vec<u8>>,
    signature_header: HeaderName,
    timestamp_header: HeaderName,
    headers: HeaderMap,
    include_events: bool,
}

impl WebhookNotifier {
    /// Builds the notifier; errors name the field.
    pub fn new(name: &str, c: &WebhookConfig) -> Result<WebhookNotifier, ConfigError> {
        let header = |field: &str, v: &str| {
            HeaderName::from_bytes(v.as_bytes())
                .map_err(|e| ConfigError::new(name, field, format!("bad header name {v:?}: {e}")))
        };
        let mut headers = HeaderMap::new();
        for (k, v) in &c.headers {
            let field = format!("webhook.headers.{k}");
            let value = HeaderValue::from_str(v)
                .map_err(|e| ConfigError::new(name, &field, format!("bad header value: {e}")))?;
            headers.insert(header(&field, k)?, value);
        }
        let secret = secret(name, "webhook.secret", &c.secret, &c.secret_env)?;
        if secret.as_deref() == Some("") {
            return Err(ConfigError::new(name, "webhook.secret", "empty secret"));
        }
        Ok(WebhookNotifier {
            client: client(name, c.timeout)?,
            url: check_url(name, "webhook.url", &c.url)?,
            secret: secret.map(String::into_bytes),
            signature_header: header("webhook.signature_header", &c.signature_header)?,
            timestamp_header: header("webhook.timestamp_header", &c.timestamp_header)?,
            headers,
            include_events: c.include_events,
        })
    }

    /// One attempt.
    pub async fn send(&self, alert: &Alert) -> Result<(), SendError> {
        let body = self.body(alert)?;
        let mut request = self
            .client
            .post(self.url.clone())
            .headers(self.headers.clone())
            .header(CONTENT_TYPE, "application/json")
            .header(ALERT_ID_HEADER, &alert.id);
        if let Some(secret) = &self.secret {
            let timestamp = chrono::Utc::now().timestamp().to_string();
            request = request
                .header(self.timestamp_header.clone(), &timestamp)
                .header(
                    self.signature_header.clone(),
                    sign(secret, &timestamp, &body),
                );
        }
        let response = request.body(body).send().await.map_err(request_error)?;
        check_response(response).await
    }

    fn body(&self, alert: &Alert) -> Result<Vec<u8>, SendError> {
        let result = if self.include_events {
            serde_json::to_vec(alert)
        } else {
            let mut light = alert.clone();
            light.events.clear();
            serde_json::to_vec(&light)
        };
        result.map_err(|e| SendError::permanent(format!("alert to JSON: {e}")))
    }
}

/// The signature header's value: `sha256=<hex>` of HMAC-SHA256 with `secret` over
/// `<timestamp>.<body>`.
pub fn sign(secret: &[u8], timestamp: &str, body: &[u8]) -> String {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret) {
        Ok(m) => m,
        Err(_) => return String::new(),
    };
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Why a received webhook is refused by [`verify`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// The timestamp is not a number of seconds.
    #[error("bad timestamp {0:?}")]
    BadTimestamp(String),
    /// The timestamp is too far from now (a replay, or clocks apart).
    #[error("timestamp {timestamp} is {skew} s from now (tolerance {tolerance} s)")]
    Stale {
        /// The timestamp received.
        timestamp: i64,
        /// Its distance from now, seconds.
        skew: i64,
        /// The tolerance, seconds.
        tolerance: i64,
    },
    /// The signature does not match.
    #[error("signature mismatch")]
    Mismatch,
}

/// Checks a received webhook, for receivers written in Rust: the signature (in constant
/// time) and that the timestamp is within `tolerance_secs` of `now_unix`.
pub fn verify(
    secret: &[u8],
    timestamp: &str,
    body: &[u8],
    signature: &str,
    now_unix: i64,
    tolerance_secs: i64,
) -> Result<(), VerifyError> {
    let ts: i64 = timestamp
        .trim()
        .parse()
        .map_err(|_| VerifyError::BadTimestamp(timestamp.to_string()))?;
    let skew = (now_unix - ts).abs();
    if skew > tolerance_secs {
        return Err(VerifyError::Stale {
            timestamp: ts,
            skew,
            tolerance: tolerance_secs,
        });
    }
    let given = signature
        .strip_prefix("sha256=")
        .and_then(|h| hex::decode(h).ok())
        .ok_or(VerifyError::Mismatch)?;
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).map_err(|_| VerifyError::Mismatch)?;
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.verify_slice(&given).map_err(|_| VerifyError::Mismatch)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_and_verify() {
        let s = sign(b"k", "1700000000", b"{}");
        assert!(s.starts_with("sha256=") && s.len() == 7 + 64);
        assert_eq!(
            verify(b"k", "1700000000", b"{}", &s, 1_700_000_100, 300),
            Ok(())
        );
        assert_eq!(
            verify(b"k", "1700000000", b"{ }", &s, 1_700_000_000, 300),
            Err(VerifyError::Mismatch)
        );
        assert_eq!(
            verify(b"other", "1700000000", b"{}", &s, 1_700_000_000, 300),
            Err(VerifyError::Mismatch)
        );
        assert!(matches!(
            verify(b"k", "1700000000", b"{}", &s, 1_700_001_000, 300),
            Err(VerifyError::Stale { skew: 1000, .. })
        ));
        // The timestamp is signed: changing it breaks the signature.
        assert_eq!(
            verify(b"k", "1700000001", b"{}", &s, 1_700_000_000, 300),
            Err(VerifyError::Mismatch)
        );
    }

    #[test]
    fn config_errors_name_fields() {
        let mut c: WebhookConfig = toml::from_str("url = \"ftp://x\"").unwrap();
        let e = WebhookNotifier::new("h", &c).unwrap_err();
        assert_eq!(e.field, "webhook.url");
        c.url = "http://127.0.0.1:1/".into();
        c.headers.insert("Bad Header".into(), "v".into());
        let e = WebhookNotifier::new("h", &c).unwrap_err();
        assert_eq!(e.field, "webhook.headers.Bad Header");
    }
}
