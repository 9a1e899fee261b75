//! The AMQP notifier against the real RabbitMQ at 127.0.0.1:5672 (guest/guest): a consumer
//! bound to MozDef's `alerts` exchange with `mozdef.alert` gets the alert.

mod common;

use std::time::Duration;

use common::{alert, config, require, wait_until};
use ferrodef_event::Severity;
use ferrodef_notify::{DeliveryStatus, Dispatcher, NotifyMetrics};
use lapin::options::{
    BasicGetOptions, ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions,
};
use lapin::types::FieldTable;
use lapin::{Channel, Connection, ConnectionProperties, ExchangeKind};

const URL: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";

/// A channel to the broker, or why not.
async fn broker() -> Result<(Connection, Channel), String> {
    let conn = tokio::time::timeout(
        Duration::from_secs(10),
        Connection::connect(URL, ConnectionProperties::default()),
    )
    .await
    .map_err(|_| "no connection within 10 s".to_string())?
    .map_err(|e| format!("{URL}: {e}"))?;
    let channel = conn.create_channel().await.map_err(|e| e.to_string())?;
    Ok((conn, channel))
}

/// A private queue bound to `exchange` (declared as MozDef does: durable topic) with `key`.
async fn bind_queue(channel: &Channel, exchange: &str, key: &str) -> String {
    channel
        .exchange_declare(
            exchange.into(),
            ExchangeKind::Topic,
            ExchangeDeclareOptions {
                durable: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await
        .unwrap();
    let q = channel
        .queue_declare(
            "".into(),
            QueueDeclareOptions {
                exclusive: true,
                auto_delete: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await
        .unwrap();
    let name = q.name().to_string();
    channel
        .queue_bind(
            name.clone().into(),
            exchange.into(),
            key.into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await
        .unwrap();
    name
}

/// Gets the message whose id is `id` from `queue`, skipping others (other runs may publish
/// to the shared `alerts` exchange).
async fn get_message(
    channel: &Channel,
    queue: &str,
    id: &str,
) -> Option<lapin::message::BasicGetMessage> {
    let end = std::time::Instant::now() + Duration::from_secs(10);
    while std::time::Instant::now() < end {
        match channel
            .basic_get(queue.into(), BasicGetOptions { no_ack: true })
            .await
            .unwrap()
        {
            Some(m) => {
                let mid = m
                    .delivery
                    .properties
                    .message_id()
                    .as_ref()
                    .map(|s| s.to_string());
                if mid.as_deref() == Some(id) {
                    return Some(m);
                }
            }
            None => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
    None
}

#[tokio::test]
async fn publishes_to_mozdefs_alerts_exchange_persistent_and_confirmed() {
    let b = broker().await;
    if !require(
        "RabbitMQ at 127.0.0.1:5672",
        b.as_ref().map(drop).map_err(Clone::clone),
    ) {
        return;
    }
    let (_conn, channel) = b.unwrap();
    let queue = bind_queue(&channel, "alerts", "mozdef.alert").await;

    let cfg = config(&format!(
        "[[notifiers]]\nname = \"mq\"\n[notifiers.amqp]\nurl = \"{URL}\"\n"
    ));
    let d = Dispatcher::start(cfg, NotifyMetrics::new()).unwrap();
    let mut a = alert(
        fastrand_id(),
        Severity::Warning,
        "bruteforce",
        "bruteforce_ssh",
    );
    a.summary = "published to RabbitMQ".into();
    d.submit(&a);
    let m = get_message(&channel, &queue, &a.id)
        .await
        .expect("the alert arrives");
    let got: ferrodef_event::Alert = serde_json::from_slice(&m.delivery.data).unwrap();
    assert_eq!(got, a);
    let props = &m.delivery.properties;
    assert_eq!(*props.delivery_mode(), Some(2), "persistent");
    assert_eq!(
        props
            .content_type()
            .as_ref()
            .map(|s| s.to_string())
            .as_deref(),
        Some("application/json")
    );
    assert_eq!(m.delivery.routing_key.as_str(), "mozdef.alert");
    assert_eq!(m.delivery.exchange.as_str(), "alerts");
    assert!(
        wait_until(Duration::from_secs(5), || d.deliveries(&a.id)[0].status
            == DeliveryStatus::Delivered)
        .await
    );
    assert_eq!(d.metrics().counts("mq").sent, 1);
    d.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn configurable_exchange_and_key_and_unroutable_mandatory_is_a_failure() {
    let b = broker().await;
    if !require(
        "RabbitMQ at 127.0.0.1:5672",
        b.as_ref().map(drop).map_err(Clone::clone),
    ) {
        return;
    }
    let (_conn, channel) = b.unwrap();
    let exchange = format!("ferrodef-test-{}", fastrand_id());
    let queue = bind_queue(&channel, &exchange, "siem.*").await;
    let cfg = config(&format!(
        r#"
        [[notifiers]]
        name = "routed"
        amqp = {{ url = "{URL}", exchange = "{exchange}", routing_key = "siem.alert", mandatory = true }}
        [[notifiers]]
        name = "nowhere"
        retry = {{ max_attempts = 2, initial_backoff = "10ms" }}
        amqp = {{ url = "{URL}", exchange = "{exchange}", routing_key = "unbound.key", mandatory = true }}
        "#
    ));
    let d = Dispatcher::start(cfg, NotifyMetrics::new()).unwrap();
    let a = alert(fastrand_id(), Severity::Critical, "c", "r");
    d.submit(&a);
    let m = get_message(&channel, &queue, &a.id)
        .await
        .expect("the alert arrives");
    assert_eq!(m.delivery.routing_key.as_str(), "siem.alert");
    assert!(
        wait_until(Duration::from_secs(10), || d
            .deliveries(&a.id)
            .iter()
            .all(|r| r.status.is_final()))
        .await
    );
    let recs = d.deliveries(&a.id);
    let nowhere = recs.iter().find(|r| r.notifier == "nowhere").unwrap();
    assert_eq!(
        (nowhere.status, nowhere.attempts),
        (DeliveryStatus::Failed, 2),
        "{nowhere:?}"
    );
    assert!(
        nowhere.last_error.as_deref().unwrap().contains("NO_ROUTE"),
        "{nowhere:?}"
    );
    assert_eq!(
        recs.iter().find(|r| r.notifier == "routed").unwrap().status,
        DeliveryStatus::Delivered
    );
    d.shutdown(Duration::from_secs(5)).await;
    let _ = channel
        .exchange_delete(exchange.as_str().into(), Default::default())
        .await;
}

#[tokio::test]
async fn wrong_credentials_fail_with_the_brokers_reason() {
    let b = broker().await;
    if !require(
        "RabbitMQ at 127.0.0.1:5672",
        b.as_ref().map(drop).map_err(Clone::clone),
    ) {
        return;
    }
    let cfg = config(
        "[[notifiers]]\nname = \"mq\"\nretry = { max_attempts = 2, initial_backoff = \"10ms\" }\namqp = { url = \"amqp://guest:wrong@127.0.0.1:5672/%2f\", timeout = \"5s\" }\n",
    );
    let d = Dispatcher::start(cfg, NotifyMetrics::new()).unwrap();
    let a = alert(fastrand_id(), Severity::Critical, "c", "r");
    d.submit(&a);
    assert!(
        wait_until(Duration::from_secs(20), || d.deliveries(&a.id)[0]
            .status
            .is_final())
        .await
    );
    let r = &d.deliveries(&a.id)[0];
    assert_eq!((r.status, r.attempts), (DeliveryStatus::Failed, 2), "{r:?}");
    assert!(
        r.last_error.as_deref().unwrap().contains("AMQP connect"),
        "{r:?}"
    );
    d.shutdown(Duration::from_secs(5)).await;
}

fn fastrand_id() -> u64 {
    fastrand::u64(..)
}
