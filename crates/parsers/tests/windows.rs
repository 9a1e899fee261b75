//! The Windows security-event mapper on EventData as Windows writes it: every mapped event ID
//! gets its category and action; `-`, empty and missing values give no field.

use ferrodef_parsers::{parse_windows, windows_event_title, Fields};
use serde_json::{json, Value};

fn data(v: Value) -> Fields {
    serde_json::from_value(v).unwrap()
}

#[test]
fn every_mapped_event_has_category_action_and_title() {
    let cases = [
        (4624, "authentication", "logon"),
        (4625, "authentication", "logon_failed"),
        (4634, "authentication", "logoff"),
        (4647, "authentication", "logoff"),
        (4648, "authentication", "explicit_credentials"),
        (4672, "authorization", "special_privileges"),
        (4720, "account", "user_added"),
        (4722, "account", "user_enabled"),
        (4723, "account", "password_change_attempt"),
        (4724, "account", "password_reset"),
        (4725, "account", "user_disabled"),
        (4726, "account", "user_deleted"),
        (4728, "account", "group_member_added"),
        (4729, "account", "group_member_removed"),
        (4732, "account", "group_member_added"),
        (4733, "account", "group_member_removed"),
        (4738, "account", "user_modified"),
        (4740, "account", "user_locked"),
        (4756, "account", "group_member_added"),
        (4757, "account", "group_member_removed"),
        (4767, "account", "user_unlocked"),
        (4768, "authentication", "kerberos_tgt"),
        (4771, "authentication", "kerberos_preauth_failed"),
        (4776, "authentication", "credential_validation"),
    ];
    let empty = Fields::new();
    for (id, category, action) in cases {
        let p = parse_windows(id, &empty, None).unwrap_or_else(|| panic!("{id}"));
        assert_eq!(p.category, Some(category), "{id}");
        assert_eq!(p.fields.get("action"), Some(&json!(action)), "{id}");
        // Nothing but the action (and the implied outcome of 4624/4625/4771) from no data.
        let keys: Vec<&str> = p.fields.keys().collect();
        let expected: &[&str] = match id {
            4624 | 4625 | 4771 => &["action", "success"],
            _ => &["action"],
        };
        assert_eq!(keys, expected, "{id}");
        assert!(windows_event_title(id).is_some(), "{id}");
    }
    for id in [0, 1, 4688, 4104, 1102] {
        assert!(parse_windows(id, &empty, None).is_none(), "{id}");
    }
}

#[test]
fn dashes_and_blanks_are_no_values() {
    let d = data(
        json!({"TargetUserName": "-", "IpAddress": "-", "IpPort": "-",
                        "WorkstationName": "", "LogonType": "3", "Status": "0xC000006D",
                        "SubStatus": "0x0"}),
    );
    let p = parse_windows(4625, &d, Some(false)).unwrap();
    assert_eq!(
        serde_json::to_value(&p.fields).unwrap(),
        json!({"action": "logon_failed", "logontypename": "Network", "logontype": "3",
               "success": false, "failure": "bad user name or authentication information"})
    );
    // An unknown status is named, not explained.
    let d = data(json!({"TargetUserName": "x", "Status": "0xC0FFEE00"}));
    let p = parse_windows(4776, &d, None).unwrap();
    assert_eq!(p.fields.get("failure"), Some(&json!("status 0xC0FFEE00")));
    // A status that is no number gives no outcome.
    let d = data(json!({"TargetUserName": "x", "Status": "n/a"}));
    let p = parse_windows(4776, &d, None).unwrap();
    assert!(!p.fields.contains_key("success"));
    // An address that is no address is not a source address.
    let d = data(json!({"TargetUserName": "x", "IpAddress": "DC01"}));
    let p = parse_windows(4624, &d, None).unwrap();
    assert!(!p.fields.contains_key("sourceipaddress"));
    // The audit outcome of an account change, when given.
    let p = parse_windows(4723, &Fields::new(), Some(false)).unwrap();
    assert_eq!(p.fields.get("success"), Some(&json!(false)));
}
