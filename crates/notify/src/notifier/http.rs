//! What the HTTP notifiers share: the client, and how responses become errors.

use std::time::Duration;

use reqwest::header::{HeaderMap, RETRY_AFTER};
use reqwest::{Response, StatusCode};

use crate::error::{chain, ConfigError, SendError};

/// A client with this timeout (connection included).
pub(crate) fn client(notifier: &str, timeout: Duration) -> Result<reqwest::Client, ConfigError> {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .user_agent(concat!("ferrodef/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| ConfigError::new(notifier, "", format!("HTTP client: {}", chain(&e))))
}

/// Checks a URL: absolute, http or https.
pub(crate) fn check_url(
    notifier: &str,
    field: &str,
    url: &str,
) -> Result<reqwest::Url, ConfigError> {
    let parsed = reqwest::Url::parse(url)
        .map_err(|e| ConfigError::new(notifier, field, format!("bad URL {url:?}: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(ConfigError::new(
            notifier,
            field,
            format!("URL {url:?} is not http or https"),
        ));
    }
    Ok(parsed)
}

/// A request that could not be made (refused, timed out, TLS…) is worth retrying.
pub(crate) fn request_error(e: reqwest::Error) -> SendError {
    let what = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "cannot connect"
    } else {
        "request failed"
    };
    // Strip the URL: it may carry a credential (Slack's URL is its secret).
    SendError::transient(format!("{what}: {}", chain(&e.without_url())))
}

/// A 2xx response is delivered; 408, 425, 429 and 5xx are worth retrying (honouring
/// `Retry-After` in seconds); other statuses are permanent.
pub(crate) async fn check_response(response: Response) -> Result<(), SendError> {
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    let retry_after = retry_after(response.headers());
    let body = response.text().await.unwrap_or_default();
    let snippet: String = body.chars().take(200).collect();
    let message = format!("HTTP {status}: {}", snippet.trim());
    let retryable = status.is_server_error()
        || matches!(
            status,
            StatusCode::REQUEST_TIMEOUT | StatusCode::TOO_EARLY | StatusCode::TOO_MANY_REQUESTS
        );
    Err(SendError {
        message,
        retryable,
        retry_after,
    })
}

fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let secs: u64 = headers
        .get(RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs(secs.min(3600)))
}
