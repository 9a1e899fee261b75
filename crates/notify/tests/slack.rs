//! The Slack-compatible notifier against a local HTTP server: the payload Slack's incoming
//! webhooks take.

mod common;

use std::time::Duration;

use common::{alert, config, wait_until, Receiver};
use ferrodef_event::Severity;
use ferrodef_notify::{DeliveryStatus, Dispatcher, NotifyMetrics};

#[tokio::test]
async fn posts_slack_payload_with_severity_colour_and_links() {
    let rx = Receiver::start().await;
    let cfg = config(&format!(
        r#"
        console_url = "https://siem.example.com"
        [[notifiers]]
        name = "slack"
        [notifiers.slack]
        url = "{}"
        username = "ferrodef"
        icon_emoji = ":rotating_light:"
        use_alert_channel = true
        "#,
        rx.url("services/T000/B000/XXXX")
    ));
    let d = Dispatcher::start(cfg, NotifyMetrics::new()).unwrap();
    let mut a = alert(1, Severity::Critical, "bruteforce", "bruteforce_ssh");
    a.summary = "10 ssh bruteforce attempts by 203.0.113.7 <@U123> & co".into();
    d.submit(&a);
    assert!(wait_until(Duration::from_secs(10), || rx.received().len() == 1).await);
    let p = rx.received()[0].json();

    assert_eq!(
        p["text"],
        "[CRITICAL] 10 ssh bruteforce attempts by 203.0.113.7 &lt;@U123&gt; &amp; co"
    );
    assert_eq!(p["channel"], "#security");
    assert_eq!(p["username"], "ferrodef");
    assert_eq!(p["icon_emoji"], ":rotating_light:");
    let att = &p["attachments"][0];
    assert_eq!(att["color"], "#d00000");
    assert_eq!(att["fallback"], p["text"]);
    let blocks = att["blocks"].as_array().unwrap();
    assert_eq!(blocks[0]["type"], "section");
    assert_eq!(blocks[0]["text"]["type"], "mrkdwn");
    assert!(blocks[0]["text"]["text"]
        .as_str()
        .unwrap()
        .starts_with("*10 ssh bruteforce"));
    let fields: Vec<&str> = blocks[1]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["text"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        vec![
            "*Severity*\nCRITICAL",
            "*Category*\nbruteforce",
            "*Rule*\n`bruteforce_ssh` (mozdef)",
            "*Events*\n10",
            "*Key*\n203.0.113.7",
        ]
    );
    assert_eq!(blocks[2]["type"], "context");
    let links = blocks[2]["elements"][1]["text"].as_str().unwrap();
    assert_eq!(
        links,
        format!(
            "<https://siem.example.com/alerts/{}|Open in ferrodef> · <https://wiki.example.com/runbooks/bruteforce|Runbook>",
            a.id
        )
    );
    assert!(
        wait_until(Duration::from_secs(5), || d.deliveries(&a.id)[0].status
            == DeliveryStatus::Delivered)
        .await
    );
    d.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn colours_follow_severity() {
    let rx = Receiver::start().await;
    let cfg = config(&format!(
        "[[notifiers]]\nname = \"slack\"\nslack = {{ url = \"{}\" }}\n",
        rx.url("hook")
    ));
    let d = Dispatcher::start(cfg, NotifyMetrics::new()).unwrap();
    let sevs = [
        (Severity::Info, "#9e9e9e"),
        (Severity::Notice, "#439fe0"),
        (Severity::Warning, "#daa038"),
        (Severity::Error, "#e8590c"),
        (Severity::Emergency, "#8b0000"),
    ];
    for (n, (sev, _)) in sevs.iter().enumerate() {
        d.submit(&alert(10 + n as u64, *sev, "c", "r"));
    }
    assert!(
        wait_until(Duration::from_secs(10), || rx.received().len()
            == sevs.len())
        .await
    );
    for req in rx.received() {
        let p = req.json();
        let text = p["text"].as_str().unwrap();
        let (_, colour) = sevs
            .iter()
            .find(|(s, _)| text.starts_with(&format!("[{s}]")))
            .unwrap();
        assert_eq!(p["attachments"][0]["color"], *colour, "{text}");
        assert!(p.get("channel").is_none());
    }
    d.shutdown(Duration::from_secs(5)).await;
}
