//! Normalization of Windows events, in the three shapes they arrive in:
//!
//! - **nxlog** (`im_msvistalog` + `to_json()`, sent to `/nxlog` or `/events`): one flat object,
//!   the System fields (`EventTime`, `Hostname`, `EventID`, `SourceName`, `Channel`,
//!   `Severity`, `EventType`, `Keywords`, `RecordNumber`...) beside the EventData fields
//!   (`TargetUserName`, `IpAddress`...). Recognized by `EventID` with `SourceName`, `Channel`
//!   or `ProviderGuid`.
//! - **winlogbeat**: `@timestamp`, `message`, `event.code`/`event.outcome`, `host`, and
//!   `winlog.{event_id, channel, computer_name, provider_name, keywords, event_data.*,
//!   user_data.*}`. Recognized by a `winlog` object.
//! - **the event's XML as JSON** (`{"Event": {"System": {...}, "EventData": {...}}}`, as
//!   SigmaHQ's regression data and XML-to-JSON forwarders have it).
//!
//! The result (the convention Sigma's Windows field mapping relies on):
//! every EventData (and UserData) field under `details.<OriginalName>`, case kept;
//! `details.eventid` (number), `details.channel`, `details.computer`,
//! `details.providername`; `hostname` = the computer; `processname` = the provider;
//! `summary` = the message, or a one-line summary made from the event when it has none;
//! `utctimestamp` from `EventTime`/`@timestamp`/`TimeCreated`. The other fields of the
//! document are kept in `details` under their own names (nxlog's `EventType`, `Keywords`,
//! `Category`...; winlogbeat's `agent`, `event`, `host`, and `winlog` without its event
//! data; the XML's `System`). Security events then get MozDef-style `category`, `username`,
//! `sourceipaddress`, `success`... from [`ferrodef_parsers::parse_windows`]; other Windows
//! events get category `windows`.

use ferrodef_event::incoming::Field;
use ferrodef_event::{parse_timestamp, Details, Event, Severity};
use serde_json::Value;

use crate::normalize::{field_err, severity, text, EventFields, NormalizeContext, NormalizeError};

/// The shape of a Windows event document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    Nxlog,
    Winlogbeat,
    EventXml,
}

/// Whether the document is a Windows event, and in which shape (one pass over the keys:
/// every incoming document is asked).
pub(crate) fn shape(fields: &[(String, Field)]) -> Option<Shape> {
    let (mut event_id, mut nx_source, mut xml) = (false, false, false);
    for (k, f) in fields {
        match (k.as_str(), f) {
            ("winlog", Field::Json(Value::Object(w)))
                if w.contains_key("event_id")
                    || w.contains_key("channel")
                    || w.contains_key("event_data") =>
            {
                return Some(Shape::Winlogbeat)
            }
            ("EventID", _) => event_id = true,
            ("SourceName" | "Channel" | "ProviderGuid", _) => nx_source = true,
            ("Event", Field::Json(Value::Object(e))) => {
                xml = e.get("System").is_some_and(Value::is_object);
            }
            _ => {}
        }
    }
    if event_id && nx_source {
        Some(Shape::Nxlog)
    } else if xml {
        Some(Shape::EventXml)
    } else {
        None
    }
}

/// What is read from a Windows event before the MozDef event is built.
#[derive(Default)]
struct Win {
    eventid: Option<u64>,
    channel: Option<String>,
    computer: Option<String>,
    provider: Option<String>,
    /// Audit Success (true) / Audit Failure (false), when the event says.
    outcome: Option<bool>,
    /// EventData / UserData fields, names as they are.
    data: Details,
    /// Other fields of the document, for `details`.
    rest: Details,
    ev: EventFields,
}

/// Normalizes a Windows event document of shape `shape`.
pub(crate) fn normalize_windows(
    shape: Shape,
    fields: Vec<(String, Field)>,
    ctx: &NormalizeContext,
) -> Result<Event, NormalizeError> {
    let mut w = Win::default();
    for (key, field) in fields {
        match field {
            Field::Details(d) => w.ev.details.extend(d),
            Field::Json(v) => match shape {
                Shape::Nxlog => w.nxlog_field(key, v, ctx)?,
                Shape::Winlogbeat => w.winlogbeat_field(key, v, ctx)?,
                Shape::EventXml => w.xml_field(key, v, ctx)?,
            },
        }
    }
    Ok(w.into_event(ctx))
}

/// An event ID: a number, digits, or XML-as-JSON `{"#text": "4625"}`.
fn event_id(key: &str, v: &Value) -> Result<u64, NormalizeError> {
    let bad = || field_err(key, format!("{v} is not an event ID (a whole number)"));
    match v {
        Value::Number(n) => n.as_u64().ok_or_else(bad),
        Value::String(s) => s.trim().parse().map_err(|_| bad()),
        Value::Object(o) => match o.get("#text").or_else(|| o.get("value")) {
            Some(inner) => event_id(key, inner),
            None => Err(bad()),
        },
        _ => Err(bad()),
    }
}

/// A text field (strings and numbers; nothing for others).
fn string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The audit outcome of Windows keywords: a number (nxlog writes them as a signed 64-bit
/// integer) or hex text (`0x8010000000000000`), or keyword names (`Audit Failure`).
fn keywords_outcome(v: &Value) -> Option<bool> {
    const SUCCESS: u64 = 0x0020_0000_0000_0000;
    const FAILURE: u64 = 0x0010_0000_0000_0000;
    let bits = match v {
        Value::Number(n) => n.as_i64().map(|i| i as u64).or_else(|| n.as_u64()),
        Value::String(s) => {
            let s = s.trim();
            match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
                Some(hex) => u64::from_str_radix(hex, 16).ok(),
                None => s
                    .parse::<u64>()
                    .ok()
                    .or_else(|| s.parse::<i64>().ok().map(|i| i as u64)),
            }
        }
        Value::Array(items) => {
            let names: Vec<&str> = items.iter().filter_map(Value::as_str).collect();
            if names
                .iter()
                .any(|n| n.eq_ignore_ascii_case("Audit Failure"))
            {
                return Some(false);
            }
            if names
                .iter()
                .any(|n| n.eq_ignore_ascii_case("Audit Success"))
            {
                return Some(true);
            }
            return None;
        }
        _ => None,
    }?;
    if bits & FAILURE != 0 {
        Some(false)
    } else if bits & SUCCESS != 0 {
        Some(true)
    } else {
        None
    }
}

/// A winlogbeat / XML level name or number as a severity.
fn level_severity(v: &Value) -> Option<Severity> {
    let s = string(v)?;
    Some(match s.to_ascii_lowercase().as_str() {
        "1" | "critical" => Severity::Critical,
        "2" | "error" => Severity::Error,
        "3" | "warning" => Severity::Warning,
        "0" | "4" | "information" | "info" => Severity::Info,
        "5" | "verbose" => Severity::Debug,
        _ => return None,
    })
}

/// Flattens an EventData/UserData object into `data`: plain `Name: value` pairs, or the
/// `Data: [{"#attributes": {"Name": ..}, "#text": ..}]` form of some XML converters. UserData
/// (`user_data`) holds one element whose fields are the data.
fn flatten_data(v: Value, data: &mut Details, user_data: bool) {
    let Value::Object(o) = v else { return };
    if let Some(Value::Array(items)) = o.get("Data") {
        if items.iter().all(|i| named(i).is_some()) {
            for item in items {
                if let Some((name, value)) = named(item) {
                    data.insert(name.to_string(), value);
                }
            }
            return;
        }
    }
    let single_child = user_data && o.len() == 1 && o.values().all(Value::is_object);
    for (k, v) in o {
        if single_child {
            flatten_data(v, data, false);
        } else if k != "#attributes" && k != "xmlns" {
            data.insert(k, v);
        }
    }
}

/// `{"#attributes": {"Name": N}, "#text": V}` (or `{"Name": N, "#text"/"value": V}`).
fn named(item: &Value) -> Option<(&str, Value)> {
    let o = item.as_object()?;
    let name = o
        .get("#attributes")
        .and_then(|a| a.get("Name"))
        .or_else(|| o.get("Name"))?
        .as_str()?;
    let value = o
        .get("#text")
        .or_else(|| o.get("value"))
        .cloned()
        .unwrap_or(Value::Null);
    Some((name, value))
}

/// An XML attribute of an element as JSON: `{"#attributes": {name: v}}` or `{name: v}`.
fn attribute<'a>(el: &'a Value, name: &str) -> Option<&'a Value> {
    el.get("#attributes")
        .and_then(|a| a.get(name))
        .or_else(|| el.get(name))
}

impl Win {
    fn time(&mut self, key: &str, v: &Value, ctx: &NormalizeContext) -> Result<(), NormalizeError> {
        let t = parse_timestamp(v, ctx.now, ctx.default_tz)
            .map_err(|e| field_err(key, e.to_string()))?;
        self.ev.time = Some(t);
        Ok(())
    }

    /// Fields of the document every shape reads the same way.
    fn common(&mut self, key: String, v: Value) {
        match key.as_str() {
            "tags" => crate::normalize::push_tags(v, &mut self.ev.tags),
            _ => {
                self.rest.insert(key, v);
            }
        }
    }

    fn nxlog_field(
        &mut self,
        key: String,
        v: Value,
        ctx: &NormalizeContext,
    ) -> Result<(), NormalizeError> {
        match key.as_str() {
            "EventTime" => self.time(&key, &v, ctx)?,
            "Hostname" => self.computer = string(&v),
            "EventID" => self.eventid = Some(event_id(&key, &v)?),
            "Channel" => self.channel = string(&v),
            "SourceName" => self.provider = string(&v),
            "Message" => self.ev.summary = Some(text(v)),
            "Severity" => self.ev.severity = Some(severity(&key, v)?),
            "ProcessID" | "ExecutionProcessID" => self.ev.processid = string(&v),
            "EventType" => {
                self.outcome = match v.as_str() {
                    Some("AUDIT_SUCCESS") => Some(true),
                    Some("AUDIT_FAILURE") => Some(false),
                    _ => self.outcome,
                };
                self.rest.insert(key, v);
            }
            "Keywords" => {
                if self.outcome.is_none() {
                    self.outcome = keywords_outcome(&v);
                }
                self.rest.insert(key, v);
            }
            // nxlog's own fields: with the rest; everything else is EventData.
            "EventReceivedTime" | "SourceModuleName" | "SourceModuleType" | "SeverityValue"
            | "ProviderGuid" | "Version" | "Task" | "OpcodeValue" | "RecordNumber"
            | "ActivityID" | "RelatedActivityID" | "ThreadID" | "ExecutionThreadID"
            | "TaskValue" | "Level" | "LevelValue" | "Category" | "Opcode" | "Domain"
            | "AccountName" | "UserID" | "AccountType" | "endpoint" | "tags" => self.common(key, v),
            _ => {
                self.data.insert(key, v);
            }
        }
        Ok(())
    }

    fn winlogbeat_field(
        &mut self,
        key: String,
        v: Value,
        ctx: &NormalizeContext,
    ) -> Result<(), NormalizeError> {
        match key.as_str() {
            "@timestamp" => self.time(&key, &v, ctx)?,
            "message" => self.ev.summary = Some(text(v)),
            "winlog" => self.winlog(v)?,
            "event" => {
                if let Some(code) = v.get("code") {
                    if self.eventid.is_none() {
                        self.eventid = Some(event_id("event.code", code)?);
                    }
                }
                match v.get("outcome").and_then(Value::as_str) {
                    Some("success") => self.outcome = Some(true),
                    Some("failure") => self.outcome = Some(false),
                    _ => {}
                }
                self.rest.insert(key, v);
            }
            "host" => {
                if self.computer.is_none() {
                    self.computer = v.get("name").or_else(|| v.get("hostname")).and_then(string);
                }
                self.rest.insert(key, v);
            }
            "log" => {
                if let Some(s) = v.get("level").and_then(level_severity) {
                    self.ev.severity = Some(s);
                }
                self.rest.insert(key, v);
            }
            _ => self.common(key, v),
        }
        Ok(())
    }

    /// winlogbeat's `winlog` object.
    fn winlog(&mut self, v: Value) -> Result<(), NormalizeError> {
        let Value::Object(mut w) = v else {
            return Ok(());
        };
        if let Some(id) = w.get("event_id") {
            self.eventid = Some(event_id("winlog.event_id", id)?);
        }
        if let Some(c) = w.get("computer_name").and_then(string) {
            self.computer = Some(c);
        }
        self.channel = w.get("channel").and_then(string).or(self.channel.take());
        self.provider = w
            .get("provider_name")
            .and_then(string)
            .or(self.provider.take());
        if let Some(o) = w.get("keywords").and_then(keywords_outcome) {
            self.outcome.get_or_insert(o);
        }
        for part in ["event_data", "user_data"] {
            if let Some(d) = w.remove(part) {
                flatten_data(d, &mut self.data, part == "user_data");
            }
        }
        self.rest.insert("winlog", Value::Object(w));
        Ok(())
    }

    fn xml_field(
        &mut self,
        key: String,
        v: Value,
        ctx: &NormalizeContext,
    ) -> Result<(), NormalizeError> {
        if key != "Event" {
            self.common(key, v);
            return Ok(());
        }
        let Value::Object(mut e) = v else {
            return Ok(());
        };
        if let Some(system) = e.remove("System") {
            self.system(&system, ctx)?;
            self.rest.insert("System", system);
        }
        for part in ["EventData", "UserData"] {
            if let Some(d) = e.remove(part) {
                flatten_data(d, &mut self.data, part == "UserData");
            }
        }
        if let Some(m) = e
            .get("RenderingInfo")
            .and_then(|r| r.get("Message"))
            .and_then(string)
        {
            self.ev.summary = Some(m);
        }
        e.remove("#attributes");
        if !e.is_empty() {
            self.rest.insert("Event", Value::Object(e));
        }
        Ok(())
    }

    /// The XML's `System` element.
    fn system(&mut self, s: &Value, ctx: &NormalizeContext) -> Result<(), NormalizeError> {
        if let Some(id) = s.get("EventID") {
            self.eventid = Some(event_id("Event.System.EventID", id)?);
        }
        self.channel = s.get("Channel").and_then(string);
        self.computer = s.get("Computer").and_then(string);
        self.provider = s
            .get("Provider")
            .and_then(|p| attribute(p, "Name").and_then(string).or_else(|| string(p)))
            .or_else(|| s.get("Provider_Name").and_then(string));
        if let Some(t) = s
            .get("TimeCreated")
            .and_then(|t| attribute(t, "SystemTime"))
        {
            self.time("Event.System.TimeCreated.SystemTime", t, ctx)?;
        }
        if let Some(k) = s.get("Keywords") {
            self.outcome = keywords_outcome(k);
        }
        if let Some(l) = s.get("Level").and_then(level_severity) {
            self.ev.severity = Some(l);
        }
        if let Some(pid) = s
            .get("Execution")
            .and_then(|x| attribute(x, "ProcessID"))
            .and_then(string)
        {
            self.ev.processid = Some(pid);
        }
        Ok(())
    }

    /// Whether it is an event of the Security log's auditing.
    fn is_security(&self) -> bool {
        self.provider.as_deref() == Some(ferrodef_parsers::SECURITY_PROVIDER)
            || self
                .channel
                .as_deref()
                .is_some_and(|c| c.eq_ignore_ascii_case("Security"))
    }

    /// A one-line summary of an event that came without its message.
    fn summary(&self) -> String {
        let id = self.eventid.map_or("?".to_string(), |i| i.to_string());
        let title = self
            .eventid
            .filter(|_| self.is_security())
            .and_then(ferrodef_parsers::windows_event_title);
        let mut s = match title {
            Some(t) => format!("{t} (event {id})"),
            None => format!(
                "{} event {id}",
                self.provider.as_deref().unwrap_or("Windows")
            ),
        };
        for (label, key) in [("user", "TargetUserName"), ("from", "IpAddress")] {
            if let Some(v) = self.data.get(key).and_then(string).filter(|v| v != "-") {
                s.push_str(&format!(" {label} {v}"));
            }
        }
        if let Some(c) = &self.computer {
            s.push_str(&format!(" on {c}"));
        }
        s
    }

    fn into_event(mut self, ctx: &NormalizeContext) -> Event {
        if self
            .ev
            .summary
            .as_deref()
            .is_none_or(|s| s.trim().is_empty())
        {
            self.ev.summary = Some(self.summary());
        }
        let mut details = Details::with_capacity(self.data.len() + self.rest.len() + 8);
        if let Some(id) = self.eventid {
            details.insert("eventid", Value::from(id));
        }
        for (k, v) in [
            ("channel", &self.channel),
            ("computer", &self.computer),
            ("providername", &self.provider),
        ] {
            if let Some(v) = v {
                details.insert(k, Value::String(v.clone()));
            }
        }
        let security = self.is_security();
        let (id, outcome) = (self.eventid, self.outcome);
        details.extend_if_absent(self.data.into_map());
        details.extend_if_absent(self.rest.into_map());
        details.extend_if_absent(std::mem::take(&mut self.ev.details).into_map());
        self.ev.details = details;
        self.ev.hostname = self.computer.clone();
        self.ev.processname = self.provider.clone();
        let mut ev = self.ev.into_event(ctx);
        let parsed = id
            .filter(|_| security)
            .and_then(|id| ferrodef_parsers::parse_windows(id, &ev.details, outcome));
        match parsed {
            Some(p) => crate::transforms::apply_parsed(&mut ev, p),
            None => ev.category = "windows".into(),
        }
        ev
    }
}
