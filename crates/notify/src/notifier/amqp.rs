//! Publishing alerts to an AMQP exchange (RabbitMQ) with lapin, as MozDef did: the alert's
//! JSON to the topic exchange `alerts` with routing key `mozdef.alert`, persistent
//! (delivery mode 2); every publish waits for the broker's confirm.

use ferrodef_event::Alert;
use lapin::options::{BasicPublishOptions, ConfirmSelectOptions, ExchangeDeclareOptions};
use lapin::types::FieldTable;
use lapin::Confirmation;
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties, ExchangeKind};
use tokio::sync::Mutex;

use crate::config::{secret, AmqpConfig};
use crate::error::{ConfigError, SendError};

/// Publishes alerts to an exchange; connects on first use and again after an error.
pub struct AmqpNotifier {
    url: String,
    config: AmqpConfig,
    kind: ExchangeKind,
    state: Mutex<Option<(Connection, Channel)>>,
}

impl std::fmt::Debug for AmqpNotifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AmqpNotifier")
            .field("exchange", &self.config.exchange)
            .field("routing_key", &self.config.routing_key)
            .finish_non_exhaustive()
    }
}

impl AmqpNotifier {
    /// Builds the notifier (no connection yet); the URL's syntax is checked now.
    pub fn new(name: &str, c: &AmqpConfig) -> Result<AmqpNotifier, ConfigError> {
        let url = secret(name, "amqp.url", &c.url, &c.url_env)?
            .ok_or_else(|| ConfigError::new(name, "amqp.url", "set url or url_env"))?;
        url.parse::<lapin::uri::AMQPUri>()
            .map_err(|e| ConfigError::new(name, "amqp.url", format!("bad AMQP URL: {e}")))?;
        let kind = match c.exchange_type.as_str() {
            "topic" => ExchangeKind::Topic,
            "direct" => ExchangeKind::Direct,
            "fanout" => ExchangeKind::Fanout,
            "headers" => ExchangeKind::Headers,
            other => {
                return Err(ConfigError::new(
                    name,
                    "amqp.exchange_type",
                    format!("unknown exchange type {other:?} (topic, direct, fanout, headers)"),
                ))
            }
        };
        Ok(AmqpNotifier {
            url,
            config: c.clone(),
            kind,
            state: Mutex::new(None),
        })
    }

    /// One attempt: publish and wait for the confirm.
    pub async fn send(&self, alert: &Alert) -> Result<(), SendError> {
        let body = serde_json::to_vec(alert)
            .map_err(|e| SendError::permanent(format!("alert to JSON: {e}")))?;
        let channel = self.channel().await?;
        let result =
            tokio::time::timeout(self.config.timeout, self.publish(&channel, alert, &body))
                .await
                .unwrap_or_else(|_| {
                    Err(SendError::transient(format!(
                        "AMQP: no confirm within {:?}",
                        self.config.timeout
                    )))
                });
        if result.is_err() && !channel.status().connected() {
            // The next attempt reconnects.
            *self.state.lock().await = None;
        }
        result
    }

    async fn publish(
        &self,
        channel: &Channel,
        alert: &Alert,
        body: &[u8],
    ) -> Result<(), SendError> {
        let mut properties = BasicProperties::default()
            .with_content_type("application/json".into())
            .with_message_id(alert.id.clone().into())
            .with_app_id("ferrodef".into())
            .with_timestamp(alert.utctimestamp.timestamp().max(0) as u64);
        if self.config.persistent {
            properties = properties.with_delivery_mode(2);
        }
        let options = BasicPublishOptions {
            mandatory: self.config.mandatory,
            ..BasicPublishOptions::default()
        };
        let confirm = channel
            .basic_publish(
                self.config.exchange.clone().into(),
                self.config.routing_key.clone().into(),
                options,
                body,
                properties,
            )
            .await
            .map_err(|e| SendError::transient(format!("AMQP publish: {e}")))?
            .await
            .map_err(|e| SendError::transient(format!("AMQP confirm: {e}")))?;
        match confirm {
            Confirmation::Ack(None) => Ok(()),
            Confirmation::Ack(Some(returned)) => Err(SendError::transient(format!(
                "AMQP: returned by the broker ({} {}): no queue is bound to exchange {:?} for routing key {:?}",
                returned.reply_code, returned.reply_text, self.config.exchange, self.config.routing_key
            ))),
            Confirmation::Nack(_) => Err(SendError::transient("AMQP: the broker refused the message (nack)")),
            Confirmation::NotRequested => Err(SendError::transient("AMQP: publisher confirms are off")),
        }
    }

    /// The open channel, connecting (and declaring the exchange) when there is none.
    async fn channel(&self) -> Result<Channel, SendError> {
        let mut state = self.state.lock().await;
        if let Some((conn, channel)) = state.as_ref() {
            if conn.status().connected() && channel.status().connected() {
                return Ok(channel.clone());
            }
        }
        *state = None;
        let timeout = self.config.timeout;
        let (conn, channel) = tokio::time::timeout(timeout, self.connect())
            .await
            .unwrap_or_else(|_| {
                Err(SendError::transient(format!(
                    "AMQP: no connection within {timeout:?}"
                )))
            })?;
        *state = Some((conn, channel.clone()));
        Ok(channel)
    }

    async fn connect(&self) -> Result<(Connection, Channel), SendError> {
        let props = ConnectionProperties::default().with_connection_name("ferrodef-notify".into());
        let conn = Connection::connect(&self.url, props)
            .await
            .map_err(|e| SendError::transient(format!("AMQP connect: {e}")))?;
        let channel = conn
            .create_channel()
            .await
            .map_err(|e| SendError::transient(format!("AMQP channel: {e}")))?;
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await
            .map_err(|e| SendError::transient(format!("AMQP confirm.select: {e}")))?;
        if self.config.declare_exchange {
            let options = ExchangeDeclareOptions {
                durable: true,
                ..ExchangeDeclareOptions::default()
            };
            channel
                .exchange_declare(
                    self.config.exchange.clone().into(),
                    self.kind.clone(),
                    options,
                    FieldTable::default(),
                )
                .await
                .map_err(|e| {
                    SendError::transient(format!(
                        "AMQP: declaring exchange {:?}: {e}",
                        self.config.exchange
                    ))
                })?;
        }
        Ok((conn, channel))
    }

    /// Closes the connection (at shutdown).
    pub async fn close(&self) {
        if let Some((conn, _)) = self.state.lock().await.take() {
            let _ = conn.close(200, "ferrodef shutting down".into()).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_errors_name_fields() {
        let c: AmqpConfig = toml::from_str("url = \"http://x\"").unwrap();
        assert_eq!(AmqpNotifier::new("q", &c).unwrap_err().field, "amqp.url");
        let c: AmqpConfig =
            toml::from_str("url = \"amqp://127.0.0.1\"\nexchange_type = \"x\"").unwrap();
        assert_eq!(
            AmqpNotifier::new("q", &c).unwrap_err().field,
            "amqp.exchange_type"
        );
        let c: AmqpConfig = toml::from_str("").unwrap();
        assert_eq!(AmqpNotifier::new("q", &c).unwrap_err().field, "amqp.url");
        assert_eq!(
            (c.exchange.as_str(), c.routing_key.as_str()),
            ("alerts", "mozdef.alert")
        );
    }
}
