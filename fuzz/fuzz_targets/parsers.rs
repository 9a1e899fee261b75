#![no_main]
//! Every parser takes any text without panicking; the auditd assembler too, line by line; the
//! Windows security-event mapper takes any EventData; the Windows normalizer any document.
use libfuzzer_sys::fuzz_target;

const PROGRAMS: [&str; 16] = [
    "sshd",
    "sudo",
    "su",
    "nginx",
    "squid",
    "cron",
    "audispd",
    "kernel",
    "systemd-logind",
    "useradd",
    "usermod",
    "gpasswd",
    "passwd",
    "sshd(pam_unix)",
    "login",
    "vsftpd",
];

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        for program in PROGRAMS {
            let _ = ferrodef_parsers::parse_by_program(program, s);
        }
        let _ = ferrodef_parsers::parse_access_log(s);
        let _ = ferrodef_parsers::parse_pam(s.split(' ').next().unwrap_or(""), s);
        let mut asm = ferrodef_parsers::AuditAssembler::new().with_max_pending(4);
        for line in s.lines() {
            let _ = asm.push(line);
        }
        let _ = asm.flush();
    }
    // JSON input: as EventData of every mapped event, and as a whole Windows document.
    if let Ok(serde_json::Value::Object(m)) = serde_json::from_slice::<serde_json::Value>(data) {
        let details: ferrodef_event::Details = m.clone().into_iter().collect();
        for id in [
            4624, 4625, 4634, 4647, 4648, 4672, 4720, 4722, 4723, 4724, 4725, 4726, 4728, 4729,
            4732, 4733, 4738, 4740, 4756, 4757, 4767, 4768, 4771, 4776,
        ] {
            for outcome in [None, Some(true), Some(false)] {
                let _ = ferrodef_parsers::parse_windows(id, &details, outcome);
            }
        }
        let ctx = ferrodef_transforms::normalize::NormalizeContext {
            now: chrono::Utc::now(),
            mozdefhostname: "fuzz".into(),
            default_tz: chrono_tz::UTC,
            source: None,
        };
        let mut doc = m;
        // Make it a Windows document of each shape.
        let _ = ferrodef_transforms::normalize::normalize(serde_json::Value::Object(doc.clone()), &ctx);
        doc.insert("EventID".into(), serde_json::json!(4625));
        doc.insert("Channel".into(), serde_json::json!("Security"));
        let _ = ferrodef_transforms::normalize::normalize(serde_json::Value::Object(doc.clone()), &ctx);
        let wrapped = serde_json::json!({"winlog": {"event_id": 4624, "channel": "Security",
            "event_data": serde_json::Value::Object(doc.clone())}});
        let _ = ferrodef_transforms::normalize::normalize(wrapped, &ctx);
        let xml = serde_json::json!({"Event": {"System": {"EventID": 4720, "Channel": "Security"},
            "EventData": serde_json::Value::Object(doc)}});
        let _ = ferrodef_transforms::normalize::normalize(xml, &ctx);
    }
});
