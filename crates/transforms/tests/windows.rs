//! Windows events as nxlog, winlogbeat and XML-to-JSON forwarders send them: normalized to the
//! convention the Sigma field mapping relies on (EventData fields under their own names,
//! `details.eventid/channel/computer/providername`), with MozDef-style fields for security
//! events — the same fields a Linux PAM failure gets, so one rule covers both.

#![recursion_limit = "256"]

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use ferrodef_event::{Event, Severity};
use ferrodef_syslog::ParseOptions;
use ferrodef_transforms::normalize::{normalize, normalize_incoming, NormalizeContext};
use ferrodef_transforms::pipeline::{IpFixup, Parsers, Pipeline};
use ferrodef_transforms::syslog::{syslog_event, RawMeta};
use serde_json::{json, Value};

fn ctx() -> NormalizeContext {
    NormalizeContext {
        now: Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap(),
        mozdefhostname: "test".into(),
        default_tz: chrono_tz::UTC,
        source: Some("http_nxlog".into()),
    }
}

fn d<'a>(ev: &'a Event, k: &str) -> &'a Value {
    ev.details.get(k).unwrap_or(&Value::Null)
}

/// A 4625 as nxlog's `im_msvistalog` + `to_json()` writes it (field set of nxlog 5/6).
fn nxlog_4625() -> Value {
    json!({
        "EventTime": "2026-11-22 10:15:03",
        "Hostname": "WS-0042.corp.example.com",
        "Keywords": "9227875636482146304",
        "EventType": "AUDIT_FAILURE",
        "SeverityValue": 4,
        "Severity": "ERROR",
        "EventID": 4625,
        "SourceName": "Microsoft-Windows-Security-Auditing",
        "ProviderGuid": "{54849625-5478-4994-A5BA-3E3B0328C30D}",
        "Version": 0,
        "Task": 12544,
        "OpcodeValue": 0,
        "RecordNumber": 3920117,
        "ProcessID": 708,
        "ThreadID": 3344,
        "Channel": "Security",
        "Message": "An account failed to log on.\r\n\r\nSubject:\r\n\tSecurity ID:\t\tS-1-0-0\r\n\tAccount Name:\t\t-\r\n\r\nLogon Type:\t\t\t3\r\n\r\nAccount For Which Logon Failed:\r\n\tAccount Name:\t\tadministrator\r\n\tAccount Domain:\t\tCORP\r\n\r\nFailure Information:\r\n\tFailure Reason:\t\tUnknown user name or bad password.\r\n\tStatus:\t\t\t0xC000006D\r\n\tSub Status:\t\t0xC000006A",
        "Category": "Logon",
        "Opcode": "Info",
        "SubjectUserSid": "S-1-0-0",
        "SubjectUserName": "-",
        "SubjectDomainName": "-",
        "SubjectLogonId": "0x0",
        "TargetUserSid": "S-1-0-0",
        "TargetUserName": "administrator",
        "TargetDomainName": "CORP",
        "Status": "0xc000006d",
        "FailureReason": "%%2313",
        "SubStatus": "0xc000006a",
        "LogonType": "3",
        "LogonProcessName": "NtLmSsp ",
        "AuthenticationPackageName": "NTLM",
        "WorkstationName": "KALI",
        "TransmittedServices": "-",
        "LmPackageName": "-",
        "KeyLength": "0",
        "ProcessId": "0x0",
        "ProcessName": "-",
        "IpAddress": "198.51.100.23",
        "IpPort": "50344",
        "EventReceivedTime": "2026-11-22 10:15:04",
        "SourceModuleName": "eventlog",
        "SourceModuleType": "im_msvistalog",
        "endpoint": "nxlog"
    })
}

#[test]
fn nxlog_4625_is_a_failed_authentication() {
    let ev = normalize(nxlog_4625(), &ctx()).unwrap();
    assert_eq!(ev.category, "authentication");
    assert_eq!(ev.hostname, "WS-0042.corp.example.com");
    assert_eq!(ev.processname, "Microsoft-Windows-Security-Auditing");
    assert_eq!(ev.processid, "708");
    assert_eq!(ev.severity, Severity::Error);
    assert!(ev.summary.starts_with("An account failed to log on."));
    assert_eq!(
        ev.utctimestamp,
        Utc.with_ymd_and_hms(2026, 11, 22, 10, 15, 3).unwrap()
    );
    // The convention.
    assert_eq!(d(&ev, "eventid"), &json!(4625));
    assert_eq!(d(&ev, "channel"), &json!("Security"));
    assert_eq!(d(&ev, "computer"), &json!("WS-0042.corp.example.com"));
    assert_eq!(
        d(&ev, "providername"),
        &json!("Microsoft-Windows-Security-Auditing")
    );
    // EventData under their own names, case kept; nxlog's own fields kept too.
    assert_eq!(d(&ev, "TargetUserName"), &json!("administrator"));
    assert_eq!(d(&ev, "LogonProcessName"), &json!("NtLmSsp "));
    assert_eq!(d(&ev, "SubStatus"), &json!("0xc000006a"));
    assert_eq!(d(&ev, "ProcessId"), &json!("0x0"));
    assert_eq!(d(&ev, "EventType"), &json!("AUDIT_FAILURE"));
    assert_eq!(d(&ev, "Category"), &json!("Logon"));
    assert_eq!(d(&ev, "endpoint"), &json!("nxlog"));
    // MozDef-style fields.
    assert_eq!(d(&ev, "username"), &json!("administrator"));
    assert_eq!(d(&ev, "sourceipaddress"), &json!("198.51.100.23"));
    assert_eq!(d(&ev, "sourceport"), &json!("50344"));
    assert_eq!(d(&ev, "sourcehostname"), &json!("KALI"));
    assert_eq!(d(&ev, "success"), &json!(false));
    assert_eq!(d(&ev, "failure"), &json!("bad password"));
    assert_eq!(d(&ev, "logontypename"), &json!("Network"));
    assert_eq!(d(&ev, "authmethod"), &json!("NTLM"));
    assert_eq!(d(&ev, "action"), &json!("logon_failed"));
    assert_eq!(d(&ev, "invaliduser"), &Value::Null);
    // The system fields consumed are not repeated in details.
    for k in [
        "EventID",
        "Hostname",
        "Message",
        "SourceName",
        "Channel",
        "EventTime",
    ] {
        assert!(!ev.details.contains_key(k), "{k}");
    }
    // The HTTP path (Incoming) gives the same event.
    let text = nxlog_4625().to_string();
    let inc = normalize_incoming(serde_json::from_str(&text).unwrap(), &ctx()).unwrap();
    assert_eq!(inc, ev);
}

/// A Linux PAM failure and a Windows 4625 give the fields a bruteforce rule reads.
#[test]
fn pam_failure_and_4625_share_the_rule_fields() {
    let opts = ParseOptions {
        now: ctx().now,
        ..Default::default()
    };
    let line = b"<38>Nov 22 10:15:03 bastion sshd[2211]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=198.51.100.23  user=administrator";
    let pipeline = Pipeline::new(vec![Arc::new(Parsers), Arc::new(IpFixup)]);
    let mut linux = syslog_event(line, RawMeta::default(), &ctx(), &opts);
    pipeline.run(&mut linux);
    let mut windows = normalize(nxlog_4625(), &ctx()).unwrap();
    pipeline.run(&mut windows);
    // The older PAM form (program `sshd(pam_unix)`) too.
    let old = b"<38>Nov 22 10:15:03 oldhost sshd(pam_unix)[2211]: authentication failure; logname= uid=0 euid=0 tty=NODEVssh ruser= rhost=198.51.100.23  user=administrator";
    let mut legacy = syslog_event(old, RawMeta::default(), &ctx(), &opts);
    pipeline.run(&mut legacy);
    assert_eq!(legacy.processname, "sshd(pam_unix)");
    let fields = |ev: &Event| {
        (
            ev.category.clone(),
            d(ev, "success").clone(),
            d(ev, "username").clone(),
            d(ev, "sourceipaddress").clone(),
            d(ev, "sourceipv4address").clone(),
        )
    };
    assert_eq!(fields(&linux), fields(&windows));
    assert_eq!(fields(&legacy), fields(&windows));
    assert_eq!(
        fields(&linux),
        (
            "authentication".to_string(),
            json!(false),
            json!("administrator"),
            json!("198.51.100.23"),
            json!("198.51.100.23")
        )
    );
}

/// A 4624 as winlogbeat 8 sends it (event_id as text, ECS fields around).
#[test]
fn winlogbeat_4624() {
    let doc = json!({
        "@timestamp": "2026-11-22T09:01:02.345Z",
        "message": "An account was successfully logged on.\n\nSubject:\n\tSecurity ID:\t\tS-1-5-18",
        "event": {"code": "4624", "kind": "event", "provider": "Microsoft-Windows-Security-Auditing",
                  "action": "logged-in", "category": ["authentication"], "type": ["start"],
                  "outcome": "success", "created": "2026-11-22T09:01:03.000Z"},
        "host": {"name": "dc01.corp.example.com", "hostname": "dc01"},
        "agent": {"type": "winlogbeat", "version": "8.15.0"},
        "log": {"level": "information"},
        "winlog": {
            "channel": "Security",
            "computer_name": "DC01.corp.example.com",
            "event_id": "4624",
            "provider_name": "Microsoft-Windows-Security-Auditing",
            "provider_guid": "{54849625-5478-4994-a5ba-3e3b0328c30d}",
            "record_id": "1184422",
            "keywords": ["Audit Success"],
            "opcode": "Info",
            "task": "Logon",
            "process": {"pid": 652, "thread": {"id": 2916}},
            "logon": {"type": "RemoteInteractive", "id": "0x5d2a41"},
            "event_data": {
                "SubjectUserSid": "S-1-5-18", "SubjectUserName": "DC01$",
                "TargetUserName": "jdoe", "TargetDomainName": "CORP",
                "LogonType": "10", "LogonProcessName": "User32 ",
                "AuthenticationPackageName": "Negotiate", "WorkstationName": "DC01",
                "IpAddress": "::ffff:203.0.113.80", "IpPort": "0",
                "ElevatedToken": "%%1842"
            }
        },
        "ecs": {"version": "8.0.0"}
    });
    let ev = normalize(doc, &ctx()).unwrap();
    assert_eq!(ev.category, "authentication");
    assert_eq!(ev.hostname, "DC01.corp.example.com");
    assert_eq!(
        ev.utctimestamp,
        Utc.with_ymd_and_hms(2026, 11, 22, 9, 1, 2).unwrap() + chrono::Duration::milliseconds(345)
    );
    assert!(ev
        .summary
        .starts_with("An account was successfully logged on."));
    assert_eq!(d(&ev, "eventid"), &json!(4624));
    assert_eq!(d(&ev, "channel"), &json!("Security"));
    assert_eq!(d(&ev, "computer"), &json!("DC01.corp.example.com"));
    assert_eq!(
        d(&ev, "providername"),
        &json!("Microsoft-Windows-Security-Auditing")
    );
    assert_eq!(d(&ev, "TargetUserName"), &json!("jdoe"));
    assert_eq!(d(&ev, "ElevatedToken"), &json!("%%1842"));
    assert_eq!(d(&ev, "username"), &json!("jdoe"));
    assert_eq!(d(&ev, "sourceipaddress"), &json!("203.0.113.80"));
    assert_eq!(d(&ev, "sourceport"), &Value::Null, "IpPort 0 is no port");
    assert_eq!(d(&ev, "success"), &json!(true));
    assert_eq!(d(&ev, "logontypename"), &json!("RemoteInteractive"));
    // winlog without its event data, and the ECS objects, are kept.
    assert_eq!(d(&ev, "winlog")["record_id"], json!("1184422"));
    assert!(d(&ev, "winlog").get("event_data").is_none());
    assert_eq!(d(&ev, "agent")["type"], json!("winlogbeat"));
}

#[test]
fn account_and_group_changes() {
    // 4720 from nxlog: who created which account.
    let ev = normalize(
        json!({"EventTime": "2026-11-22 08:00:00", "Hostname": "DC01", "EventID": 4720,
               "EventType": "AUDIT_SUCCESS", "SourceName": "Microsoft-Windows-Security-Auditing",
               "Channel": "Security", "Severity": "INFO",
               "TargetUserName": "svc-backup", "TargetDomainName": "CORP",
               "TargetSid": "S-1-5-21-1-2-3-1107", "SubjectUserName": "admin.jane",
               "SubjectDomainName": "CORP", "SamAccountName": "svc-backup"}),
        &ctx(),
    )
    .unwrap();
    assert_eq!(ev.category, "account");
    assert_eq!(
        (
            d(&ev, "action"),
            d(&ev, "targetuser"),
            d(&ev, "username"),
            d(&ev, "success")
        ),
        (
            &json!("user_added"),
            &json!("svc-backup"),
            &json!("admin.jane"),
            &json!(true)
        )
    );
    // No message: a summary is made from the event.
    assert_eq!(
        ev.summary,
        "A user account was created (event 4720) user svc-backup on DC01"
    );
    // 4732 from winlogbeat: a member added to a local group.
    let ev = normalize(
        json!({"@timestamp": "2026-11-22T08:01:00Z", "message": "A member was added to a security-enabled local group.",
               "winlog": {"channel": "Security", "computer_name": "SRV9", "event_id": 4732,
                          "provider_name": "Microsoft-Windows-Security-Auditing",
                          "event_data": {"MemberName": "-", "MemberSid": "S-1-5-21-1-2-3-1107",
                                         "TargetUserName": "Administrators", "TargetDomainName": "Builtin",
                                         "SubjectUserName": "admin.jane"}}}),
        &ctx(),
    )
    .unwrap();
    assert_eq!(ev.category, "account");
    assert_eq!(
        (
            d(&ev, "action"),
            d(&ev, "group"),
            d(&ev, "member"),
            d(&ev, "username")
        ),
        (
            &json!("group_member_added"),
            &json!("Administrators"),
            &json!("S-1-5-21-1-2-3-1107"),
            &json!("admin.jane")
        )
    );
    assert_eq!(d(&ev, "success"), &Value::Null, "the outcome was not given");
    // 4740: the caller computer is where the lockout came from.
    let ev = normalize(
        json!({"EventID": 4740, "Channel": "Security", "SourceName": "Microsoft-Windows-Security-Auditing",
               "Hostname": "DC01", "TargetUserName": "jdoe", "TargetDomainName": "WS-0042",
               "SubjectUserName": "DC01$"}),
        &ctx(),
    )
    .unwrap();
    assert_eq!(
        (
            d(&ev, "action"),
            d(&ev, "targetuser"),
            d(&ev, "sourcehostname")
        ),
        (&json!("user_locked"), &json!("jdoe"), &json!("WS-0042"))
    );
}

#[test]
fn kerberos_and_ntlm() {
    let ev = normalize(
        json!({"EventID": 4771, "Channel": "Security", "SourceName": "Microsoft-Windows-Security-Auditing",
               "Hostname": "DC01", "TargetUserName": "jdoe", "ServiceName": "krbtgt/CORP",
               "Status": "0x18", "IpAddress": "::ffff:10.1.2.3", "IpPort": "50111"}),
        &ctx(),
    )
    .unwrap();
    assert_eq!(
        (
            d(&ev, "success"),
            d(&ev, "sourceipaddress"),
            d(&ev, "failure")
        ),
        (
            &json!(false),
            &json!("10.1.2.3"),
            &json!("bad password (pre-authentication failed)")
        )
    );
    let ev = normalize(
        json!({"EventID": 4776, "Channel": "Security", "SourceName": "Microsoft-Windows-Security-Auditing",
               "Hostname": "DC01", "TargetUserName": "ghost", "Workstation": "WS-7",
               "PackageName": "MICROSOFT_AUTHENTICATION_PACKAGE_V1_0", "Status": "0xc0000064"}),
        &ctx(),
    )
    .unwrap();
    assert_eq!(
        (
            d(&ev, "success"),
            d(&ev, "invaliduser"),
            d(&ev, "sourcehostname")
        ),
        (&json!(false), &json!(true), &json!("WS-7"))
    );
    let ev = normalize(
        json!({"EventID": 4768, "Channel": "Security", "SourceName": "Microsoft-Windows-Security-Auditing",
               "Hostname": "DC01", "TargetUserName": "jdoe", "Status": "0x0", "IpAddress": "10.1.2.3"}),
        &ctx(),
    )
    .unwrap();
    assert_eq!(d(&ev, "success"), &json!(true));
}

/// The event's XML as JSON (SigmaHQ regression data, XML-to-JSON forwarders).
#[test]
fn event_xml_shape() {
    let ev = normalize(
        json!({"Event": {
            "#attributes": {"xmlns": "http://schemas.microsoft.com/win/2004/08/events/event"},
            "System": {
                "Provider": {"#attributes": {"Name": "Microsoft-Windows-Security-Auditing",
                                              "Guid": "54849625-5478-4994-A5BA-3E3B0328C30D"}},
                "EventID": 4625, "Version": 0, "Level": 0, "Task": 12544,
                "Keywords": "0x8010000000000000",
                "TimeCreated": {"#attributes": {"SystemTime": "2026-07-17T14:18:34.072213Z"}},
                "EventRecordID": 34382,
                "Execution": {"#attributes": {"ProcessID": 876, "ThreadID": 928}},
                "Channel": "Security", "Computer": "ws-17", "Security": null},
            "EventData": {"TargetUserName": "testuser", "TargetDomainName": "ws-17",
                          "Status": "0xc000006d", "SubStatus": "0xc0000064", "LogonType": 3,
                          "IpAddress": "192.0.2.50", "IpPort": "-"}}}),
        &ctx(),
    )
    .unwrap();
    assert_eq!(ev.hostname, "ws-17");
    assert_eq!(ev.processid, "876");
    assert_eq!(
        ev.utctimestamp,
        Utc.with_ymd_and_hms(2026, 7, 17, 14, 18, 34).unwrap()
            + chrono::Duration::microseconds(72213)
    );
    assert_eq!(d(&ev, "eventid"), &json!(4625));
    assert_eq!(d(&ev, "LogonType"), &json!(3));
    assert_eq!(
        (
            d(&ev, "success"),
            d(&ev, "invaliduser"),
            d(&ev, "logontype"),
            d(&ev, "sourceport")
        ),
        (&json!(false), &json!(true), &json!("3"), &Value::Null)
    );
    assert_eq!(d(&ev, "System")["EventRecordID"], json!(34382));
    // The `Data` list form of some converters.
    let ev = normalize(
        json!({"Event": {"System": {"EventID": {"#text": "4634"}, "Channel": "Security",
                                    "Computer": "ws-18", "Provider": {"Name": "Microsoft-Windows-Security-Auditing"}},
                         "EventData": {"Data": [
                             {"#attributes": {"Name": "TargetUserName"}, "#text": "bob"},
                             {"#attributes": {"Name": "LogonType"}, "#text": "2"}]}}}),
        &ctx(),
    )
    .unwrap();
    assert_eq!(
        (
            d(&ev, "TargetUserName"),
            d(&ev, "username"),
            d(&ev, "action"),
            d(&ev, "success")
        ),
        (&json!("bob"), &json!("bob"), &json!("logoff"), &Value::Null)
    );
}

#[test]
fn other_windows_events_and_bad_input() {
    // A Sysmon event: the convention, category `windows`, nothing invented.
    let ev = normalize(
        json!({"EventTime": "2026-11-22 10:00:00", "Hostname": "WS1", "EventID": 1,
               "SourceName": "Microsoft-Windows-Sysmon", "Channel": "Microsoft-Windows-Sysmon/Operational",
               "Image": "C:\\Windows\\System32\\cmd.exe", "CommandLine": "cmd /c whoami",
               "User": "CORP\\jdoe"}),
        &ctx(),
    )
    .unwrap();
    assert_eq!(ev.category, "windows");
    assert_eq!(d(&ev, "eventid"), &json!(1));
    assert_eq!(d(&ev, "CommandLine"), &json!("cmd /c whoami"));
    for k in ["username", "success", "sourceipaddress", "action"] {
        assert!(!ev.details.contains_key(k), "{k} invented");
    }
    assert_eq!(ev.summary, "Microsoft-Windows-Sysmon event 1 on WS1");
    // A 4624 from another log is not a logon.
    let ev = normalize(
        json!({"EventID": 4624, "SourceName": "MyApp", "Channel": "Application", "Hostname": "h"}),
        &ctx(),
    )
    .unwrap();
    assert_eq!(ev.category, "windows");
    // A security event with its EventData missing: no field invented.
    let ev = normalize(
        json!({"EventID": 4625, "SourceName": "Microsoft-Windows-Security-Auditing", "Channel": "Security"}),
        &ctx(),
    )
    .unwrap();
    assert_eq!(ev.category, "authentication");
    assert_eq!(d(&ev, "success"), &json!(false));
    for k in ["username", "sourceipaddress", "sourceport", "failure"] {
        assert!(!ev.details.contains_key(k), "{k} invented");
    }
    assert_eq!(ev.hostname, "UNKNOWN");
    // Errors name the field.
    let e = normalize(
        json!({"EventID": "forty", "SourceName": "x", "Channel": "Security"}),
        &ctx(),
    )
    .unwrap_err();
    assert_eq!(e.field.as_deref(), Some("EventID"), "{e}");
    let e = normalize(
        json!({"EventID": 4625, "SourceName": "x", "EventTime": "yesterday-ish"}),
        &ctx(),
    )
    .unwrap_err();
    assert_eq!(e.field.as_deref(), Some("EventTime"), "{e}");
    let e = normalize(
        json!({"winlog": {"event_id": [1], "channel": "Security"}}),
        &ctx(),
    )
    .unwrap_err();
    assert_eq!(e.field.as_deref(), Some("winlog.event_id"), "{e}");
    // Not Windows: an `EventID` alone keeps the generic normalization.
    let ev = normalize(json!({"EventID": 5, "summary": "s"}), &ctx()).unwrap();
    assert_eq!(d(&ev, "EventID"), &json!(5));
    assert!(!ev.details.contains_key("eventid"));
}
