//! Engine throughput with the whole shipped MozDef rule set on a realistic mix of events
//! (sshd logins and failures, PAM sessions, Bro notices, squid proxy lines, auditd, cloudtrail,
//! and many events no rule cares about), in batches of 100 like the ingest service's.

use chrono::{Duration, TimeZone, Utc};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ferrodef_detect::{Engine, EngineOptions, RuleSet};
use serde_json::{json, Map, Value};

fn mix(n: usize) -> Vec<Map<String, Value>> {
    let t = Utc
        .with_ymd_and_hms(2026, 11, 30, 10, 0, 0)
        .single()
        .unwrap_or_default();
    let ts = t.to_rfc3339();
    (0..n)
        .map(|i| {
            let ip = format!("10.{}.{}.{}", i % 7, i % 251, i % 13);
            let v = match i % 10 {
                0 => json!({"category": "syslog", "summary": format!("Failed password for invalid user u{i} from {ip} port 22 ssh2"),
                    "details": {"program": "sshd", "sourceipaddress": ip}}),
                1 => json!({"category": "syslog", "summary": format!("Accepted publickey for u{} from {ip} port 5 ssh2", i % 50),
                    "details": {"program": "sshd", "sourceipaddress": ip, "username": "u"}}),
                2 => json!({"category": "syslog", "summary": "pam_unix(sshd:session): session opened for user app by (uid=0)",
                    "details": {"program": "sshd"}}),
                3 => json!({"category": "bro", "source": "conn", "summary": "conn log",
                    "details": {"sourceipaddress": ip, "destinationport": 443}}),
                4 => json!({"category": "proxy", "summary": "squid",
                    "details": {"proxyaction": "TCP_MISS", "host": "example.com", "sourceipaddress": ip, "destination": "http://example.com/a"}}),
                5 => json!({"category": "execve", "summary": "Execve: /usr/bin/ls", "processname": "audisp-json",
                    "details": {"processname": "ls", "originaluser": "root"}}),
                6 => json!({"category": "event", "source": "cloudtrail", "summary": "DescribeInstances",
                    "details": {"eventname": "DescribeInstances"}}),
                7 => json!({"category": "syslog", "summary": "CRON[123]: (root) CMD (run-parts /etc/cron.hourly)",
                    "details": {"program": "CRON"}}),
                8 => json!({"category": "authentication", "summary": "Duo auth", "tags": ["duosecurity"],
                    "details": {"result": "SUCCESS", "username": "a", "sourceipaddress": ip}}),
                _ => json!({"category": "nginx", "summary": format!("GET /index.html 200 {ip}"),
                    "details": {"status": 200, "sourceipaddress": ip}}),
            };
            let mut m = v.as_object().cloned().unwrap_or_default();
            m.insert("hostname".into(), Value::String(format!("host{}.example.com", i % 40)));
            m.insert("utctimestamp".into(), Value::String(ts.clone()));
            m.insert("receivedtimestamp".into(), Value::String(ts.clone()));
            m.insert("mozdefhostname".into(), Value::String("ferrodef".into()));
            m
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let rules = match RuleSet::from_embedded() {
        Ok(r) => r,
        Err(e) => panic!("{e:?}"),
    };
    let events = mix(10_000);
    let t = Utc
        .with_ymd_and_hms(2026, 11, 30, 10, 0, 0)
        .single()
        .unwrap_or_default();
    let mut g = c.benchmark_group("engine");
    g.throughput(Throughput::Elements(events.len() as u64));
    g.sample_size(10);
    g.bench_function("mozdef_set_10k_events_batches_of_100", |b| {
        b.iter_batched_ref(
            || {
                (
                    Engine::new(
                        rules.clone(),
                        EngineOptions {
                            started: Some(t),
                            ..EngineOptions::default()
                        },
                    ),
                    events.clone(),
                )
            },
            |(engine, evs)| {
                let mut n = 0;
                for (i, chunk) in evs.chunks_mut(100).enumerate() {
                    n += engine
                        .process_batch(chunk, t + Duration::milliseconds(i as i64))
                        .len();
                }
                n
            },
            // The engine and events are dropped outside the measurement.
            criterion::BatchSize::LargeInput,
        )
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
