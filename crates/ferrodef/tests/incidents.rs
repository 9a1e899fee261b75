//! Incidents end to end on the real binary: an incident made from an alert of a real detection
//! (the shipped bruteforce_ssh rule), notes, the status lifecycle, VERIS tags (an unknown one
//! refused, naming it), linked alerts, assignment, edits, the bounds of every input, the
//! listing's filters, the timeline, and all of it back after a restart of `ferrodef serve`
//! (rebuilt from the `incidents` stream).

mod common;

use std::time::{Duration, Instant};

use common::{Server, ADMIN_PASSWORD};
use serde_json::{json, Value};

/// `n` sshd failures from `ip`, as MozDef's bruteforce_ssh rule expects them.
fn sshd_failures(n: usize, ip: &str) -> String {
    let now = chrono::Utc::now().to_rfc3339();
    (0..n)
        .map(|i| {
            json!({
                "utctimestamp": now,
                "hostname": "bastion-1",
                "category": "authentication",
                "summary": format!("Failed password for invalid user admin{i} from {ip} port 4242 ssh2 login failed"),
                "details": {"program": "sshd", "sourceipaddress": ip},
            })
            .to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Fires the bruteforce rule for `ip`; answers the alert once listed.
fn bruteforce_alert(s: &Server, ip: &str) -> Value {
    let (status, v) = s.post("/_bulk", "application/x-ndjson", sshd_failures(10, ip));
    assert_eq!(status, 200, "{v}");
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (status, v) = s.get("/api/alerts?rule=bruteforce_ssh");
        assert_eq!(status, 200, "{v}");
        if let Some(a) = v["alerts"]
            .as_array()
            .and_then(|a| a.iter().find(|a| a["key"] == ip))
        {
            return a.clone();
        }
        assert!(Instant::now() < deadline, "no alert for {ip}: {v}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A request as the admin (HTTP Basic); answers the status and the JSON body.
fn call(s: &Server, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut r = Server::client()
        .request(m, format!("{}{}", s.url, path))
        .basic_auth("admin", Some(ADMIN_PASSWORD));
    if let Some(b) = body {
        r = r
            .header("content-type", "application/json")
            .body(b.to_string());
    }
    let resp = r.send().expect("request");
    let status = resp.status().as_u16();
    let text = resp.text().expect("body");
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

fn ids(v: &Value) -> Vec<String> {
    v["incidents"]
        .as_array()
        .unwrap_or_else(|| panic!("{v}"))
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_string())
        .collect()
}

fn kinds(timeline: &Value) -> Vec<String> {
    timeline
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["kind"].as_str().unwrap().to_string())
        .collect()
}

/// A 400 naming `field` in its body and its message.
fn assert_refused(answer: (u16, Value), field: &str, words: &str) {
    let (status, v) = answer;
    assert_eq!(status, 400, "{v}");
    assert_eq!(v["field"], field, "{v}");
    let msg = v["error"].as_str().unwrap_or_default();
    assert!(
        msg.starts_with(&format!("{field}: ")) || msg.contains(field),
        "{v}"
    );
    assert!(msg.contains(words), "{msg:?} should say {words:?}");
}

#[test]
fn incident_from_a_real_alert_notes_status_tags_and_a_restart() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = Server::start_in(tmp.path(), &[]);
    let alert = bruteforce_alert(&s, "203.0.113.50");
    let alert_id = alert["id"].as_str().unwrap().to_string();

    // Created from the alert: title, severity and summary come from it, the alert is linked.
    let (status, v) = call(
        &s,
        "POST",
        "/api/incidents",
        Some(json!({"alerts": [alert_id]})),
    );
    assert_eq!(status, 201, "{v}");
    let inc = &v["incident"];
    assert_eq!(inc["id"], "INC-1");
    assert_eq!(inc["title"], alert["summary"]);
    assert_eq!(inc["severity"], alert["severity"]);
    assert_eq!(inc["status"], "open");
    assert_eq!(inc["created_by"], "admin");
    assert!(
        inc["summary"]
            .as_str()
            .unwrap()
            .contains("rule bruteforce_ssh"),
        "{inc}"
    );
    assert_eq!(inc["alerts"][0]["id"], alert_id.as_str());
    assert_eq!(inc["alerts"][0]["key"], "203.0.113.50");
    assert_eq!(inc["alerts"][0]["count"], 10);
    assert_eq!(inc["alerts"][0]["status"], "open");
    assert_eq!(v["record"]["kind"], "created");

    // A note, then the lifecycle.
    let (status, v) = call(
        &s,
        "POST",
        "/api/incidents/INC-1/notes",
        Some(json!({"text": "bastion-1 only; the account does not exist"})),
    );
    assert_eq!(status, 201, "{v}");
    assert_eq!(v["incident"]["notes"], 1);
    let (status, v) = call(
        &s,
        "POST",
        "/api/incidents/INC-1/status",
        Some(json!({"status": "investigating"})),
    );
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["incident"]["status"], "investigating");
    assert_eq!(v["record"]["from"], "open");
    // Nothing returns to open; closing needs a note; unknown statuses are named.
    let (status, v) = call(
        &s,
        "POST",
        "/api/incidents/INC-1/status",
        Some(json!({"status": "open"})),
    );
    assert_eq!(status, 409, "{v}");
    assert_eq!(v["allowed"], json!(["contained", "closed"]), "{v}");
    assert_refused(
        call(
            &s,
            "POST",
            "/api/incidents/INC-1/status",
            Some(json!({"status": "closed"})),
        ),
        "note",
        "how it ended",
    );
    assert_refused(
        call(
            &s,
            "POST",
            "/api/incidents/INC-1/status",
            Some(json!({"status": "resolved"})),
        ),
        "status",
        "\"resolved\"",
    );
    let (status, v) = call(
        &s,
        "POST",
        "/api/incidents/INC-1/status",
        Some(json!({"status": "contained", "note": "203.0.113.50 blocked at the edge"})),
    );
    assert_eq!(status, 200, "{v}");
    assert!(v["incident"]["contained_at"].is_string(), "{v}");

    // VERIS tags: known ones added, an unknown one refused by name (nothing added then).
    let (status, v) = call(
        &s,
        "POST",
        "/api/incidents/INC-1/tags",
        Some(
            json!({"add": ["action.hacking.variety.Brute force", "actor.external", "action.hacking.vector.Command shell"]}),
        ),
    );
    assert_eq!(status, 200, "{v}");
    assert_eq!(
        v["incident"]["tags"],
        json!([
            "action.hacking.variety.Brute force",
            "actor.external",
            "action.hacking.vector.Command shell"
        ])
    );
    let (status, v) = call(
        &s,
        "POST",
        "/api/incidents/INC-1/tags",
        Some(json!({"add": ["attribute.integrity", "action.hacking.variety.Brute forse"]})),
    );
    assert_eq!(status, 400, "{v}");
    assert_eq!(v["field"], "tags");
    assert_eq!(v["tag"], "action.hacking.variety.Brute forse");
    assert!(
        v["error"]
            .as_str()
            .unwrap()
            .contains("unknown VERIS tag \"action.hacking.variety.Brute forse\""),
        "{v}"
    );
    let (status, v) = call(
        &s,
        "POST",
        "/api/incidents/INC-1/tags",
        Some(json!({"add": ["actor.External"]})),
    );
    assert_eq!(status, 400, "{v}");
    assert_eq!(v["suggestion"], "actor.external", "{v}");
    let (status, v) = call(
        &s,
        "POST",
        "/api/incidents/INC-1/tags",
        Some(json!({"remove": ["action.hacking.vector.Command shell"]})),
    );
    assert_eq!(status, 200, "{v}");
    assert_eq!(
        v["incident"]["tags"],
        json!(["action.hacking.variety.Brute force", "actor.external"])
    );
    // The VERIS enumeration the console's picker reads.
    let (status, v) = call(&s, "GET", "/api/incidents/veris", None);
    assert_eq!(status, 200, "{v}");
    assert!(v["categories"]["actor.external"].is_string(), "{v}");
    let hacking = v["enumerations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["path"] == "action.hacking.variety")
        .unwrap();
    assert!(hacking["values"]
        .as_array()
        .unwrap()
        .iter()
        .any(|x| x["value"] == "Brute force"));

    // Bounds, each naming its field.
    assert_refused(
        call(
            &s,
            "POST",
            "/api/incidents",
            Some(json!({"title": "x".repeat(201)})),
        ),
        "title",
        "longer than 200 characters",
    );
    assert_refused(
        call(&s, "POST", "/api/incidents", Some(json!({"title": "  "}))),
        "title",
        "empty",
    );
    assert_refused(
        call(
            &s,
            "POST",
            "/api/incidents",
            Some(json!({"summary": "no title"})),
        ),
        "title",
        "missing",
    );
    assert_refused(
        call(
            &s,
            "POST",
            "/api/incidents/INC-1/notes",
            Some(json!({"text": "y".repeat(16 * 1024 + 1)})),
        ),
        "text",
        "longer than 16384 bytes",
    );
    assert_refused(
        call(
            &s,
            "POST",
            "/api/incidents/INC-1/notes",
            Some(json!({"text": ""})),
        ),
        "text",
        "empty",
    );
    assert_refused(
        call(
            &s,
            "POST",
            "/api/incidents",
            Some(json!({"title": "t", "tags": vec!["actor.external"; 51]})),
        ),
        "tags",
        "at most 50",
    );
    assert_refused(
        call(
            &s,
            "POST",
            "/api/incidents",
            Some(json!({"title": "t", "severity": "apocalyptic"})),
        ),
        "severity",
        "\"apocalyptic\"",
    );
    assert_refused(
        call(
            &s,
            "POST",
            "/api/incidents/INC-1/alerts",
            Some(json!({"link": ["no-such-alert"]})),
        ),
        "link",
        "no alert with id \"no-such-alert\"",
    );
    // A misspelt field is named too.
    let (status, v) = call(&s, "POST", "/api/incidents", Some(json!({"titel": "t"})));
    assert_eq!(status, 400, "{v}");
    assert!(v["error"].as_str().unwrap().contains("titel"), "{v}");
    let (status, v) = call(&s, "GET", "/api/incidents/INC-99", None);
    assert_eq!(status, 404, "{v}");
    let (status, v) = call(
        &s,
        "POST",
        "/api/incidents/INC-99/notes",
        Some(json!({"text": "x"})),
    );
    assert_eq!(status, 404, "{v}");

    // A second incident by hand; another alert linked to it, assigned, edited.
    let other = bruteforce_alert(&s, "198.51.100.60");
    let other_id = other["id"].as_str().unwrap().to_string();
    let (status, v) = call(
        &s,
        "POST",
        "/api/incidents",
        Some(
            json!({"title": "Password spraying on the VPN", "severity": "critical",
            "tags": ["action.hacking.variety.Use of stolen creds"], "assignee": "carol"}),
        ),
    );
    assert_eq!(status, 201, "{v}");
    assert_eq!(v["incident"]["id"], "INC-2");
    assert_eq!(v["incident"]["severity"], "CRITICAL");
    assert_eq!(v["incident"]["assignee"], "carol");
    let (status, v) = call(
        &s,
        "POST",
        "/api/incidents/INC-2/alerts",
        Some(json!({"link": [other_id, alert_id]})),
    );
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["incident"]["alerts"].as_array().unwrap().len(), 2);
    let (status, v) = call(
        &s,
        "POST",
        "/api/incidents/INC-2/alerts",
        Some(json!({"unlink": [alert_id]})),
    );
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["incident"]["alerts"][0]["id"], other_id.as_str());
    let (status, v) = call(
        &s,
        "POST",
        "/api/incidents/INC-2/assign",
        Some(json!({"assignee": "dave"})),
    );
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["record"]["previous"], "carol");
    let (status, v) = call(
        &s,
        "PATCH",
        "/api/incidents/INC-2",
        Some(json!({"title": "Password spraying on vpn-1", "severity": "ERROR"})),
    );
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["incident"]["title"], "Password spraying on vpn-1");
    assert_eq!(v["incident"]["severity"], "ERROR");
    // Changing nothing writes nothing.
    let (status, v) = call(
        &s,
        "POST",
        "/api/incidents/INC-2/assign",
        Some(json!({"assignee": "dave"})),
    );
    assert_eq!(status, 200, "{v}");
    assert!(v["record"].is_null(), "{v}");

    // The listing and its filters.
    let (_, v) = call(&s, "GET", "/api/incidents", None);
    assert_eq!(v["total"], 2, "{v}");
    // Latest change first.
    assert_eq!(ids(&v), ["INC-2", "INC-1"]);
    assert_eq!(v["counts"]["contained"], 1, "{v}");
    assert_eq!(v["counts"]["open"], 1, "{v}");
    assert_eq!(v["incidents"][0]["alert_count"], 1, "{v}");
    assert!(v["incidents"][0].get("alerts").is_none(), "{v}");
    let (_, v) = call(&s, "GET", "/api/incidents?status=contained", None);
    assert_eq!(ids(&v), ["INC-1"]);
    let (_, v) = call(&s, "GET", "/api/incidents?status=open,investigating", None);
    assert_eq!(ids(&v), ["INC-2"]);
    let (_, v) = call(&s, "GET", "/api/incidents?tag=action.hacking", None);
    assert_eq!(ids(&v), ["INC-2", "INC-1"]);
    let (_, v) = call(&s, "GET", "/api/incidents?tag=actor.external", None);
    assert_eq!(ids(&v), ["INC-1"]);
    let (_, v) = call(
        &s,
        "GET",
        "/api/incidents?tag=action.hacking.variety.Brute%20force,actor.external",
        None,
    );
    assert_eq!(ids(&v), ["INC-1"]);
    let (_, v) = call(&s, "GET", "/api/incidents?tag=action.malware", None);
    assert_eq!(v["total"], 0, "{v}");
    let (_, v) = call(&s, "GET", "/api/incidents?q=ACCOUNT%20bastion", None);
    assert_eq!(ids(&v), ["INC-1"], "the note's words find it");
    let (_, v) = call(&s, "GET", "/api/incidents?q=203.0.113.50", None);
    assert_eq!(ids(&v), ["INC-1"], "the linked alert's key finds it");
    let (_, v) = call(&s, "GET", &format!("/api/incidents?alert={alert_id}"), None);
    assert_eq!(ids(&v), ["INC-1"]);
    let (_, v) = call(&s, "GET", "/api/incidents?assignee=dave", None);
    assert_eq!(ids(&v), ["INC-2"]);
    let (_, v) = call(&s, "GET", "/api/incidents?size=1&offset=1", None);
    assert_eq!(
        (v["total"].as_u64(), ids(&v)),
        (Some(2), vec!["INC-1".to_string()])
    );
    let (_, v) = call(&s, "GET", "/api/incidents?sort=severity", None);
    assert_eq!(ids(&v), ["INC-2", "INC-1"]);
    let (status, v) = call(&s, "GET", "/api/incidents?status=done", None);
    assert_eq!(status, 400, "{v}");
    assert_eq!(v["parameter"], "status");

    // The timeline: the alert when it fired, then every change with who and when.
    let (status, before) = call(&s, "GET", "/api/incidents/INC-1", None);
    assert_eq!(status, 200, "{before}");
    assert_eq!(
        kinds(&before["timeline"]),
        ["alert", "created", "note", "status", "status", "tags", "tags"]
    );
    let t = &before["timeline"];
    assert_eq!(t[0]["alert"]["id"], alert_id.as_str());
    assert_eq!(t[2]["text"], "bastion-1 only; the account does not exist");
    assert_eq!(t[2]["user"], "admin");
    assert!(t[2]["utctimestamp"].is_string());
    assert_eq!(
        (t[4]["from"].as_str(), t[4]["to"].as_str()),
        (Some("investigating"), Some("contained"))
    );
    assert_eq!(t[4]["note"], "203.0.113.50 blocked at the edge");
    assert_eq!(
        t[6]["removed"],
        json!(["action.hacking.vector.Command shell"])
    );
    assert_eq!(before["next"], json!(["investigating", "closed"]));
    let (_, before2) = call(&s, "GET", "/api/incidents/INC-2", None);
    assert_eq!(
        kinds(&before2["timeline"]),
        [
            "alert",
            "created",
            "alerts_linked",
            "alerts_unlinked",
            "assigned",
            "edited"
        ]
    );
    // The records are in the store too, searchable like any event.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (status, v) = s.search_with("kind:note AND incident:INC-1", &[("stream", "incidents")]);
        assert_eq!(status, 200, "{v}");
        if v["total"] == 1 {
            assert_eq!(v["hits"][0]["user"], "admin");
            break;
        }
        assert!(Instant::now() < deadline, "{v}");
        std::thread::sleep(Duration::from_millis(50));
    }

    // From a console session, a change needs the session's CSRF token.
    let login = Server::client()
        .post(format!("{}/api/login", s.url))
        .json(&json!({"username": "admin", "password": ADMIN_PASSWORD}))
        .send()
        .unwrap();
    assert_eq!(login.status(), 200);
    let cookie = login.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let csrf = login.json::<Value>().unwrap()["csrf_token"]
        .as_str()
        .unwrap()
        .to_string();
    let note = |csrf: Option<&str>| {
        let mut r = Server::client()
            .post(format!("{}/api/incidents/INC-2/notes", s.url))
            .header("cookie", &cookie)
            .json(&json!({"text": "from the console"}));
        if let Some(c) = csrf {
            r = r.header("x-csrf-token", c);
        }
        r.send().unwrap().status().as_u16()
    };
    assert_eq!(note(None), 403);
    assert_eq!(note(Some("wrong")), 403);
    assert_eq!(note(Some(&csrf)), 201);
    let (_, before2) = call(&s, "GET", "/api/incidents/INC-2", None);
    assert_eq!(
        kinds(&before2["timeline"]).last().map(String::as_str),
        Some("note")
    );

    // After a restart: the same incidents, the same timelines, and numbering goes on.
    s.stop();
    let s = Server::start_in(tmp.path(), &[]);
    let (status, after) = call(&s, "GET", "/api/incidents/INC-1", None);
    assert_eq!(status, 200, "{after}");
    assert_eq!(after, before);
    let (_, after2) = call(&s, "GET", "/api/incidents/INC-2", None);
    assert_eq!(after2, before2);
    let (status, v) = call(
        &s,
        "POST",
        "/api/incidents/INC-1/status",
        Some(json!({"status": "closed", "note": "no login succeeded; source blocked for 90 days"})),
    );
    assert_eq!(status, 200, "{v}");
    assert!(v["incident"]["closed_at"].is_string(), "{v}");
    let (status, v) = call(
        &s,
        "POST",
        "/api/incidents",
        Some(json!({"title": "third"})),
    );
    assert_eq!(status, 201, "{v}");
    assert_eq!(v["incident"]["id"], "INC-3");
}
