//! Normalization of a realistic mix of MozDef-style events (sshd, sudo, proxy, web), of
//! Windows security events (nxlog and winlogbeat), and of one very wide event.
use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use ferrodef_transforms::normalize::{normalize, NormalizeContext};
use serde_json::{json, Value};

fn mix() -> Vec<Value> {
    vec![
        json!({"utctimestamp": "2026-11-22T10:00:00.123Z", "category": "syslog", "hostname": "bastion-1.example.com",
               "processname": "sshd", "processid": "4242", "severity": "INFO", "tags": ["syslog"],
               "summary": "Failed password for invalid user admin from 198.51.100.23 port 52311 ssh2",
               "details": {"program": "sshd", "sourceipaddress": "198.51.100.23", "username": "admin"}}),
        json!({"timestamp": 1763805600, "type": "syslog", "host": "web-1", "program": "sudo", "level": "notice",
               "message": "alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/systemctl restart nginx"}),
        json!({"utctimestamp": "2026-11-22T10:00:01Z", "category": "proxy", "hostname": "proxy-1", "summary": "TCP_DENIED CONNECT",
               "details": {"sourceipaddress": "10.1.2.3", "destination": "http://evil.example.com:8443/", "proxyaction": "TCP_DENIED",
                           "method": "CONNECT", "status": 403, "bytes": 0, "useragent": "curl/8.5.0"}}),
        json!({"@timestamp": "2026-11-22 10:00:02", "category": "web", "source_host": "web-2", "summary": "GET /index.html 200",
               "fields": {"sourceipaddress": "203.0.113.9", "method": "GET", "url": "/index.html", "status": 200, "bytes": 5120}}),
    ]
}

fn bench(c: &mut Criterion) {
    let ctx = NormalizeContext {
        now: chrono::Utc::now(),
        mozdefhostname: "bench".into(),
        default_tz: chrono_tz::UTC,
        source: None,
    };
    let events = mix();
    let mut g = c.benchmark_group("normalize");
    g.throughput(Throughput::Elements(events.len() as u64));
    g.bench_function("mix4", |b| {
        b.iter_batched(
            || events.clone(),
            |evs| {
                for e in evs {
                    black_box(normalize(e, &ctx).ok());
                }
            },
            BatchSize::SmallInput,
        )
    });
    g.bench_function("mix4_to_json", |b| {
        b.iter_batched(
            || events.clone(),
            |evs| {
                for e in evs {
                    if let Ok(ev) = normalize(e, &ctx) {
                        black_box(serde_json::to_vec(&ev).ok());
                    }
                }
            },
            BatchSize::SmallInput,
        )
    });
    g.finish();

    // Windows security events: a 4625 from nxlog, a 4624 from winlogbeat.
    let windows = vec![
        json!({"EventTime": "2026-11-22 10:15:03", "Hostname": "WS-0042.corp.example.com",
               "Keywords": "9227875636482146304", "EventType": "AUDIT_FAILURE", "SeverityValue": 4,
               "Severity": "ERROR", "EventID": 4625, "SourceName": "Microsoft-Windows-Security-Auditing",
               "ProviderGuid": "{54849625-5478-4994-A5BA-3E3B0328C30D}", "Version": 0, "Task": 12544,
               "OpcodeValue": 0, "RecordNumber": 3920117, "ProcessID": 708, "ThreadID": 3344,
               "Channel": "Security", "Message": "An account failed to log on.", "Category": "Logon",
               "Opcode": "Info", "SubjectUserSid": "S-1-0-0", "SubjectUserName": "-",
               "TargetUserName": "administrator", "TargetDomainName": "CORP",
               "Status": "0xc000006d", "SubStatus": "0xc000006a", "LogonType": "3",
               "LogonProcessName": "NtLmSsp ", "AuthenticationPackageName": "NTLM",
               "WorkstationName": "KALI", "IpAddress": "198.51.100.23", "IpPort": "50344",
               "EventReceivedTime": "2026-11-22 10:15:04", "SourceModuleName": "eventlog",
               "SourceModuleType": "im_msvistalog"}),
        json!({"@timestamp": "2026-11-22T09:01:02.345Z", "message": "An account was successfully logged on.",
               "event": {"code": "4624", "kind": "event", "outcome": "success"},
               "host": {"name": "dc01.corp.example.com"}, "agent": {"type": "winlogbeat"},
               "winlog": {"channel": "Security", "computer_name": "DC01.corp.example.com",
                          "event_id": "4624", "provider_name": "Microsoft-Windows-Security-Auditing",
                          "record_id": "1184422", "keywords": ["Audit Success"],
                          "event_data": {"SubjectUserName": "DC01$", "TargetUserName": "jdoe",
                                         "TargetDomainName": "CORP", "LogonType": "10",
                                         "AuthenticationPackageName": "Negotiate",
                                         "IpAddress": "::ffff:203.0.113.80", "IpPort": "0"}}}),
    ];
    let mut g = c.benchmark_group("normalize_windows");
    g.throughput(Throughput::Elements(windows.len() as u64));
    g.bench_function("nxlog_winlogbeat", |b| {
        b.iter_batched(
            || windows.clone(),
            |evs| {
                for e in evs {
                    black_box(normalize(e, &ctx).ok());
                }
            },
            BatchSize::SmallInput,
        )
    });
    g.finish();

    // One event with 10,000 details and 10,000 unknown top-level keys (kept in details): the
    // cost must grow linearly with the keys (an untrusted body may hold hundreds of thousands).
    let mut wide = serde_json::Map::new();
    let mut details = serde_json::Map::new();
    for i in 0..10_000 {
        details.insert(format!("d{i}"), json!(i));
        wide.insert(format!("x{i}"), json!(i));
    }
    wide.insert("details".into(), Value::Object(details));
    let wide = Value::Object(wide);
    let mut g = c.benchmark_group("normalize_wide");
    g.throughput(Throughput::Elements(20_000));
    g.bench_function("keys20k", |b| {
        b.iter_batched(
            || wide.clone(),
            |e| black_box(normalize(e, &ctx).ok()),
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
