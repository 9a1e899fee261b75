//! The streaming engine: rules evaluated as event batches arrive, windows held in memory
//! (bounded), deadman checks on the clock, deduplication, and a serializable state.
//!
//! Semantics (MozDef's, moved from periodic searches to the stream; see `docs/rules.md`):
//! - an event counts for a rule when its `utctimestamp` OR `receivedtimestamp` is within
//!   `[now − window, now]`, it matches the query and no exclusion, and it does not already
//!   carry the rule's class name in `alert_names`;
//! - per-event rules alert on each such event; aggregation rules hold the events of the window
//!   grouped by the aggregation field and, once a whole batch is in, alert for each group at
//!   the threshold (most common first), carrying the first `samples` events; the events that
//!   fed the alert leave the window (MozDef tags them all) and batch events get the class name
//!   appended to `alert_names`;
//! - deadman rules alert on [`Engine::tick`] when no matching event arrived in the window
//!   (once the engine has watched for a whole window);
//! - the same rule and key do not alert again within the rule's suppression period (default:
//!   its window); the events are consumed and counted in [`Engine::suppressed`] instead.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use ferrodef_event::{get_key, Alert, Node, RuleKind, Severity, Subject};
use ferrodef_query::{Doc, Words};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::builtin;
use crate::rule::{Aggregate, Instance, Kind, RuleSet};
use crate::template::{leaf_text, Ctx, Resolver};

/// Engine settings.
#[derive(Clone)]
pub struct EngineOptions {
    /// Most events one rule instance holds in its window; when exceeded the oldest are dropped
    /// and a `System` alert says so.
    pub max_events_per_rule: usize,
    /// Most distinct groups one rule instance holds.
    pub max_groups_per_rule: usize,
    /// Since when the engine has been watching (deadman rules wait a whole window from
    /// there); `None`: from the first call.
    pub started: Option<DateTime<Utc>>,
    /// Reverse DNS for summaries (MozDef's `add_hostname_to_ip`); `None`: addresses alone.
    pub resolver: Option<Arc<Resolver>>,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            max_events_per_rule: 50_000,
            max_groups_per_rule: 10_000,
            started: None,
            resolver: None,
        }
    }
}

impl std::fmt::Debug for EngineOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineOptions")
            .field("max_events_per_rule", &self.max_events_per_rule)
            .field("max_groups_per_rule", &self.max_groups_per_rule)
            .field("started", &self.started)
            .field("resolver", &self.resolver.is_some())
            .finish()
    }
}

/// Events, owned.
type Events = Vec<Map<String, Value>>;
/// Events, borrowed.
type EventRefs<'a> = Vec<&'a Map<String, Value>>;

/// An event held in a window.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Held {
    /// Arrival order within the rule instance.
    seq: u64,
    utc: Option<DateTime<Utc>>,
    recv: Option<DateTime<Utc>>,
    /// The event.
    event: HeldEvent,
    /// The value of the rule's `distinct` field (read when the event came).
    #[serde(skip)]
    distinct: Option<String>,
    /// Whether the rule's `keep_ip_literal` field is an IP address (read when the event came).
    #[serde(skip)]
    ip_literal: bool,
}

/// How a window holds an event: while the batch that brought it is evaluated, by its position
/// in the batch (the batch's object is read and changed in place, never copied); afterwards as
/// its JSON text, one allocation shared by the windows of every rule it matched. A window
/// holds events for minutes and tens of thousands of them: as text they take a fraction of an
/// object's memory and allocations, and the batch's objects go back to the ingest service
/// whole (to be indexed and reused). An event is parsed again only when an alert carries it.
#[derive(Debug, Clone)]
enum HeldEvent {
    /// Position in the batch being evaluated (not kept across batches).
    Batch(usize),
    /// The event as JSON text (an object).
    Text(Arc<str>),
}

impl HeldEvent {
    /// The event's object: the batch's, or parsed from its text (`None`: the text is not an
    /// object, which only a damaged state file could hold).
    fn object<'a>(&self, batch: &'a [Subject]) -> Option<std::borrow::Cow<'a, Map<String, Value>>> {
        match self {
            HeldEvent::Batch(i) => batch.get(*i).map(|e| match e {
                Subject::Map(m) => std::borrow::Cow::Borrowed(m),
                open => std::borrow::Cow::Owned(open.to_map()),
            }),
            HeldEvent::Text(t) => serde_json::from_str(t).ok().map(std::borrow::Cow::Owned),
        }
    }
}

/// Written as the event's object (state files); read back as its text.
impl Serialize for HeldEvent {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            HeldEvent::Text(t) => serde_json::value::RawValue::from_string(t.to_string())
                .map_err(serde::ser::Error::custom)?
                .serialize(s),
            // The state is taken between batches, never during one.
            HeldEvent::Batch(_) => Err(serde::ser::Error::custom(
                "a window's event is still in its batch",
            )),
        }
    }
}

impl<'de> Deserialize<'de> for HeldEvent {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<HeldEvent, D::Error> {
        let raw = Box::<serde_json::value::RawValue>::deserialize(d)?;
        Ok(HeldEvent::Text(Arc::from(raw.get())))
    }
}

/// Suppression of one rule and key.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Suppression {
    /// The rule's id.
    pub rule: String,
    /// The key (aggregation value, deadman instance).
    pub key: String,
    /// No alert for this rule and key before this time.
    pub until: DateTime<Utc>,
    /// Alerts that were suppressed (not sent) since the last one that was.
    pub count: u64,
    /// Events those suppressed alerts would have carried.
    pub events: u64,
}

/// The state of one rule instance.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct InstState {
    /// The window's events by aggregation value, each group in arrival order.
    groups: HashMap<String, VecDeque<Held>>,
    /// Events in all groups.
    total: usize,
    /// Arrival counter.
    seq: u64,
    last_seen: Option<DateTime<Utc>>,
    suppress: BTreeMap<String, Suppression>,
    /// Suppressions at the last clean-up of expired ones (the next one waits until the map
    /// has doubled: amortized constant time per alert).
    #[serde(skip)]
    suppress_cleaned: usize,
    capped: bool,
    /// Every held event as (seq, group) in arrival order, for evicting the oldest in constant
    /// time when a cap is hit. Entries of events that already left (window expiry, an alert)
    /// are skipped when met; rebuilt from `groups` after a restore and when mostly stale.
    #[serde(skip)]
    order: VecDeque<(u64, String)>,
}

impl InstState {
    /// Holds `held` in group `key`.
    fn push(&mut self, key: String, held: Held) {
        self.order.push_back((held.seq, key.clone()));
        self.groups.entry(key).or_default().push_back(held);
        self.total += 1;
    }

    /// Rebuilds `order` from the groups when it holds more than twice the live events.
    fn compact_order(&mut self) {
        if self.order.len() <= 2 * self.total + 64 {
            return;
        }
        let mut all: Vec<(u64, String)> = self
            .groups
            .iter()
            .flat_map(|(k, g)| g.iter().map(move |h| (h.seq, k.clone())))
            .collect();
        all.sort_unstable_by_key(|(seq, _)| *seq);
        self.order = all.into();
    }

    /// The group holding the oldest held event (skipping stale entries of `order`).
    fn oldest_group(&mut self) -> Option<String> {
        while let Some((seq, key)) = self.order.front() {
            if self.groups.get(key).and_then(|g| g.front()).map(|h| h.seq) == Some(*seq) {
                return Some(key.clone());
            }
            self.order.pop_front();
        }
        None
    }
}

/// Everything the engine must keep across a restart (serialize it with serde).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct EngineState {
    started: Option<DateTime<Utc>>,
    seq: u64,
    rules: BTreeMap<String, InstState>,
}

/// One runnable (rule, instance).
struct Slot {
    rule: usize,
    inst: usize,
    name: String,
}

/// Keyword → slots: looked up for each indexed field of every event, so with a fast hash.
type SlotsByValue = HashMap<String, Vec<usize>, foldhash::fast::RandomState>;

/// Rules indexed by one keyword they require.
#[derive(Default)]
struct Index {
    by_field: Vec<(String, SlotsByValue)>,
    always: Vec<usize>,
}

/// The engine.
pub struct Engine {
    rules: RuleSet,
    slots: Vec<Slot>,
    index: Index,
    opts: EngineOptions,
    state: EngineState,
    /// Saved window events that were not JSON objects (only a damaged state has them),
    /// dropped by [`Engine::restore`].
    unreadable: usize,
}

/// A plain string keyword the index can use (not a number, boolean or date, which match
/// other JSON types too).
fn plain(v: &str) -> bool {
    v.parse::<f64>().is_err() && v != "true" && v != "false" && !v.contains(':')
}

fn time_of(e: &Map<String, Value>, f: &str) -> Option<DateTime<Utc>> {
    get_key(e, f)
        .and_then(Value::as_str)
        .and_then(ferrodef_event::read_rfc3339)
}

fn within(t: Option<DateTime<Utc>>, now: DateTime<Utc>, w: Duration) -> bool {
    t.is_some_and(|t| t >= now - w && t <= now)
}

/// The event's `utctimestamp` and `receivedtimestamp`: an opened event's own, else read
/// from the object's texts (`last_recv`: the last text read and its time, for a batch's
/// events received together).
fn times_of<'a>(
    e: &'a Subject,
    last_recv: &mut Option<(&'a str, Option<DateTime<Utc>>)>,
) -> (Option<DateTime<Utc>>, Option<DateTime<Utc>>) {
    match e {
        Subject::Open(o) => (Some(o.utctimestamp()), Some(o.receivedtimestamp())),
        Subject::Map(m) => {
            let recv = match get_key(m, "receivedtimestamp").and_then(Value::as_str) {
                Some(text) => match *last_recv {
                    Some((last, t)) if last == text => t,
                    _ => {
                        let t = ferrodef_event::read_rfc3339(text);
                        *last_recv = Some((text, t));
                        t
                    }
                },
                None => None,
            };
            (time_of(m, "utctimestamp"), recv)
        }
    }
}

/// [`get_path`] in an event being evaluated.
fn field_at<'a>(e: Node<'a>, path: &str) -> Option<&'a Value> {
    let mut parts = path.split('.');
    let mut cur = e.get(parts.next()?)?;
    for p in parts {
        cur = cur.get(p)?;
    }
    cur.value().filter(|v| !v.is_null())
}

/// Whether `alert_names` (an event's) holds `classname`.
fn has_alert_name(alert_names: Option<&Value>, classname: &str) -> bool {
    match alert_names {
        Some(Value::Array(a)) => a.iter().any(|v| v.as_str() == Some(classname)),
        Some(Value::String(s)) => s == classname,
        _ => false,
    }
}

/// Whether the event's time (`utctimestamp`) is in the rule's excluded times of day.
fn excluded_time(inst: &Instance, utc: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
    if inst.exclude_time_of_day.is_empty() {
        return false;
    }
    let Some(t) = utc else {
        return false;
    };
    // MozDef builds the range on today's date (the date of the run).
    let day = now.date_naive();
    inst.exclude_time_of_day.iter().any(|(a, b)| {
        let lo = day.and_time(*a).and_utc();
        let hi = day.and_time(*b).and_utc();
        t >= lo && t <= hi
    })
}

/// The state of the rule instance `name`, created empty when new (no key copied otherwise).
fn inst_state<'s>(rules: &'s mut BTreeMap<String, InstState>, name: &str) -> &'s mut InstState {
    if !rules.contains_key(name) {
        rules.insert(name.to_string(), InstState::default());
    }
    rules.get_mut(name).expect("inserted above")
}

/// What a window notes of an event when it comes, for its group's checks: the value of the
/// rule's `distinct` field, and whether its `keep_ip_literal` field is an IP address. Not
/// saved with the state: read again from the saved events at restore.
fn noted(agg: &Aggregate, e: Node<'_>) -> (Option<String>, bool) {
    let distinct = agg
        .distinct
        .as_ref()
        .and_then(|(f, _)| field_at(e, f).map(leaf_text));
    let ip_literal = agg
        .keep_ip_literal
        .as_ref()
        .is_some_and(|f| builtin::is_ip_literal(e, f));
    (distinct, ip_literal)
}

/// Keeps the events of `g` for which `live` holds (in order).
fn retain_live(g: &mut VecDeque<Held>, live: impl Fn(&Held) -> bool) {
    if !g.iter().all(&live) {
        g.retain(live);
    }
}

/// Slots (by index) and the aggregation values a batch added to (in order, and as a set).
type Touched = BTreeMap<usize, (Vec<String>, HashSet<String>)>;

/// Candidate alert from a group.
struct Fired {
    slot: usize,
    key: Option<String>,
    count: u64,
    samples: Vec<Map<String, Value>>,
    /// Every event of the group (for `all.*` and `top.*`); empty: the samples.
    all: Vec<Map<String, Value>>,
    extra: BTreeMap<String, String>,
}

impl Engine {
    /// A new engine with empty state.
    pub fn new(rules: RuleSet, opts: EngineOptions) -> Engine {
        let state = EngineState {
            started: opts.started,
            ..EngineState::default()
        };
        Engine::restore(rules, opts, state)
    }

    /// An engine resuming from a state taken with [`Engine::snapshot`]; state of rules that
    /// no longer exist is dropped.
    pub fn restore(rules: RuleSet, opts: EngineOptions, mut state: EngineState) -> Engine {
        let mut slots = Vec::new();
        for (ri, r) in rules.rules.iter().enumerate() {
            for ii in 0..r.instances.len() {
                slots.push(Slot {
                    rule: ri,
                    inst: ii,
                    name: format!("{}#{ii}", r.id),
                });
            }
        }
        state
            .rules
            .retain(|k, _| slots.iter().any(|s| &s.name == k));
        if state.started.is_none() {
            state.started = opts.started;
        }
        let mut unreadable = 0;
        for slot in &slots {
            let (Some(st), Some(agg)) = (
                state.rules.get_mut(&slot.name),
                rules.rules[slot.rule].aggregate.as_ref(),
            ) else {
                continue;
            };
            // What a window notes of an event when it comes is not saved: read again from the
            // saved events (an event that is not an object, only in a damaged file, goes).
            for g in st.groups.values_mut() {
                g.retain_mut(|h| {
                    let Some(e) = h.event.object(&[]) else {
                        unreadable += 1;
                        return false;
                    };
                    (h.distinct, h.ip_literal) = noted(agg, Node::Map(&e));
                    true
                });
            }
            st.groups.retain(|_, g| !g.is_empty());
        }
        for st in state.rules.values_mut() {
            st.total = st.groups.values().map(VecDeque::len).sum();
            st.order.clear();
            st.compact_order();
        }
        let index = build_index(&rules, &slots);
        Engine {
            rules,
            slots,
            index,
            opts,
            state,
            unreadable,
        }
    }

    /// Saved window events [`Engine::restore`] dropped because they were not JSON objects
    /// (a damaged state), for the caller to report.
    pub fn unreadable_on_restore(&self) -> usize {
        self.unreadable
    }

    /// The state to keep across a restart.
    pub fn snapshot(&self) -> EngineState {
        self.state.clone()
    }

    /// The rules.
    pub fn rules(&self) -> &RuleSet {
        &self.rules
    }

    /// Current suppressions (rule, key, until, suppressed count).
    pub fn suppressed(&self) -> Vec<Suppression> {
        self.state
            .rules
            .values()
            .flat_map(|s| s.suppress.values().cloned())
            .collect()
    }

    fn candidates(&self, e: &Doc<'_>, out: &mut Vec<usize>) {
        out.clear();
        out.extend_from_slice(&self.index.always);
        for (field, map) in &self.index.by_field {
            e.any_leaf(field, &mut |v| {
                if let Value::String(s) = v {
                    if let Some(list) = map.get(s.as_str()) {
                        for &x in list {
                            if !out.contains(&x) {
                                out.push(x);
                            }
                        }
                    }
                }
                false
            });
        }
        out.sort_unstable();
    }

    /// Evaluates a batch of events at `now` (events get `alert_names` when they feed an
    /// alert) and returns the alerts it completes.
    pub fn process_batch(
        &mut self,
        events: &mut [Map<String, Value>],
        now: DateTime<Utc>,
    ) -> Vec<Alert> {
        let mut subjects: Vec<Subject> = events
            .iter_mut()
            .map(|e| Subject::Map(std::mem::take(e)))
            .collect();
        let alerts = self.process_sealing(&mut subjects, now, &mut Vec::new());
        for (e, s) in events.iter_mut().zip(subjects) {
            if let Subject::Map(m) = s {
                *e = m;
            }
        }
        alerts
    }

    /// [`Engine::process_batch`] on the ingest service's events (opened events or objects;
    /// when it returns the engine holds none of them: windows keep the events they need as
    /// text), also giving the JSON text of the batch's events a window keeps: `texts[i]` is
    /// [`Subject::to_json`] of the event as the batch leaves the engine, or `None` (no window
    /// kept it). The ingest service stores that text rather than writing the event again.
    pub fn process_sealing(
        &mut self,
        events: &mut [Subject],
        now: DateTime<Utc>,
        texts: &mut Vec<Option<Arc<str>>>,
    ) -> Vec<Alert> {
        if self.state.started.is_none() {
            self.state.started = Some(now);
        }
        let mut per_event: Vec<(usize, usize)> = Vec::new();
        // Slots and the aggregation values this batch added to.
        let mut touched = Touched::new();
        let mut cand = Vec::new();
        let mut alerts = Vec::new();
        // The summary words' room, passed from event to event.
        let mut room = Words::default();
        // A request's events were received together: the last `receivedtimestamp` read, as
        // text and time, is not parsed again.
        let mut last_recv: Option<(&str, Option<DateTime<Utc>>)> = None;
        for (i, subject) in events.iter().enumerate() {
            let ev = subject.node();
            let (utc, recv) = times_of(subject, &mut last_recv);
            let doc = Doc::with_room(ev, std::mem::take(&mut room)).with_utctimestamp(utc);
            self.candidates(&doc, &mut cand);
            let alert_names = match cand.is_empty() {
                true => None,
                false => ev.get("alert_names").and_then(Node::value),
            };
            for &si in &cand {
                let slot = &self.slots[si];
                let rule = &self.rules.rules[slot.rule];
                let inst = &rule.instances[slot.inst];
                if !(within(utc, now, inst.window) || within(recv, now, inst.window))
                    || has_alert_name(alert_names, &rule.classname)
                    || !inst.query.matches_doc(&doc, now)
                    || inst.exclude.iter().any(|x| x.matches_doc(&doc, now))
                    || excluded_time(inst, utc, now)
                {
                    continue;
                }
                match rule.kind {
                    Kind::Event => per_event.push((si, i)),
                    Kind::Deadman => {
                        let seen = [utc, recv]
                            .into_iter()
                            .flatten()
                            .filter(|t| *t <= now)
                            .max();
                        let st = inst_state(&mut self.state.rules, &slot.name);
                        st.last_seen = st.last_seen.max(seen);
                    }
                    Kind::Aggregation | Kind::SshLateral => {
                        let Some(agg) = &rule.aggregate else { continue };
                        let Some(key) = field_at(ev, &agg.field).map(leaf_text) else {
                            continue;
                        };
                        let (distinct, ip_literal) = noted(agg, ev);
                        let st = inst_state(&mut self.state.rules, &slot.name);
                        st.seq += 1;
                        let held = Held {
                            seq: st.seq,
                            utc,
                            recv,
                            event: HeldEvent::Batch(i),
                            distinct,
                            ip_literal,
                        };
                        let (keys, seen) = touched.entry(si).or_default();
                        if seen.insert(key.clone()) {
                            keys.push(key.clone());
                        }
                        st.push(key, held);
                    }
                }
            }
            room = doc.into_room();
        }
        for (si, i) in per_event {
            let ev = events[i].to_map();
            let fired = Fired {
                slot: si,
                key: None,
                count: 1,
                samples: vec![ev],
                all: Vec::new(),
                extra: BTreeMap::new(),
            };
            if let Some(a) = self.emit(fired, now) {
                alerts.push(a);
            }
            let classname = self.rules.rules[self.slots[si].rule].classname.clone();
            events[i].add_alert_name(&classname);
        }
        for (si, (keys, _)) in &touched {
            alerts.extend(self.bound(*si, now, Some(keys)));
            alerts.extend(self.evaluate_groups(*si, now, events, keys));
        }
        self.seal_batch(events, &touched, texts);
        alerts
    }

    /// The batch's events still in a window are kept as their JSON text from now on (written
    /// once per event, shared by every window holding it), after every rule has seen the
    /// batch: they carry the `alert_names` the batch gave them.
    fn seal_batch(
        &mut self,
        events: &[Subject],
        touched: &Touched,
        texts: &mut Vec<Option<Arc<str>>>,
    ) {
        texts.clear();
        texts.resize(events.len(), None);
        // One buffer for the texts (each then copied once into its shared allocation).
        let mut buf = Vec::new();
        for (si, (keys, _)) in touched {
            let Some(st) = self.state.rules.get_mut(&self.slots[*si].name) else {
                continue;
            };
            for k in keys {
                let Some(g) = st.groups.get_mut(k) else {
                    continue;
                };
                for h in g.iter_mut() {
                    let HeldEvent::Batch(b) = h.event else {
                        continue;
                    };
                    let text = match (texts.get_mut(b), events.get(b)) {
                        (Some(Some(t)), _) => Arc::clone(t),
                        (Some(slot), Some(e)) => {
                            buf.clear();
                            e.write_json(&mut buf);
                            let t: Arc<str> = match std::str::from_utf8(&buf) {
                                Ok(text) => Arc::from(text),
                                Err(_) => Arc::from("{}"),
                            };
                            *slot = Some(Arc::clone(&t));
                            t
                        }
                        _ => Arc::from("{}"),
                    };
                    h.event = HeldEvent::Text(text);
                }
            }
        }
    }

    /// Drops expired events (of the given groups, or all) and enforces the caps of one slot
    /// (with a `System` alert when a cap is hit).
    fn bound(&mut self, si: usize, now: DateTime<Utc>, keys: Option<&[String]>) -> Vec<Alert> {
        let slot = &self.slots[si];
        let rule = &self.rules.rules[slot.rule];
        let w = rule.instances[slot.inst].window;
        let Some(st) = self.state.rules.get_mut(&slot.name) else {
            return Vec::new();
        };
        let live = |h: &Held| within(h.utc, now, w) || within(h.recv, now, w);
        let mut removed = 0usize;
        match keys {
            Some(keys) => {
                for k in keys {
                    if let Some(g) = st.groups.get_mut(k) {
                        let before = g.len();
                        retain_live(g, live);
                        removed += before - g.len();
                        if g.is_empty() {
                            st.groups.remove(k);
                        }
                    }
                }
            }
            None => {
                st.groups.retain(|_, g| {
                    let before = g.len();
                    retain_live(g, live);
                    removed += before - g.len();
                    !g.is_empty()
                });
            }
        }
        st.total = st.total.saturating_sub(removed);
        let (max_e, max_g) = (self.opts.max_events_per_rule, self.opts.max_groups_per_rule);
        let mut dropped = 0usize;
        // Over a cap: the oldest events (or the group holding the oldest event) go.
        st.compact_order();
        while st.total > max_e || st.groups.len() > max_g {
            let Some(oldest) = st.oldest_group() else {
                break;
            };
            let whole = st.groups.len() > max_g;
            if let Some(g) = st.groups.get_mut(&oldest) {
                let n = if whole { g.len() } else { 1 };
                g.drain(..n.min(g.len()));
                dropped += n;
                st.total = st.total.saturating_sub(n);
                if g.is_empty() {
                    st.groups.remove(&oldest);
                }
            }
        }
        if dropped == 0 {
            if st.total < max_e / 2 && st.groups.len() < max_g / 2 {
                st.capped = false;
            }
            return Vec::new();
        }
        if st.capped {
            return Vec::new();
        }
        st.capped = true;
        let id = rule.id.clone();
        let summary = format!(
            "rule {id}: window limit reached ({max_e} events / {max_g} groups); \
             {dropped} oldest events dropped, the rule may miss alerts"
        );
        let seq = self.next_seq();
        vec![Alert {
            id: Alert::new_id(now, seq),
            utctimestamp: now,
            severity: Severity::Warning,
            summary,
            category: "limit".into(),
            tags: vec!["ferrodef".into(), "limit".into()],
            rule: format!("system:limit:{id}"),
            rule_kind: RuleKind::System,
            classname: "RuleWindowLimit".into(),
            channel: None,
            notify_mozdefbot: true,
            url: None,
            key: Some(id),
            count: dropped as u64,
            events: Vec::new(),
            details: Map::new(),
        }]
    }

    fn next_seq(&mut self) -> u64 {
        self.state.seq = self.state.seq.wrapping_add(1);
        // splitmix64 of the sequence and the start time: unique and unpredictable enough.
        let mut z = self.state.seq.wrapping_add(
            self.state
                .started
                .and_then(|t| t.timestamp_nanos_opt())
                .unwrap_or(0) as u64,
        );
        z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Alerts for the groups (among `keys`) at the threshold, most common first.
    fn evaluate_groups(
        &mut self,
        si: usize,
        now: DateTime<Utc>,
        events: &mut [Subject],
        keys: &[String],
    ) -> Vec<Alert> {
        let slot = &self.slots[si];
        let rule = &self.rules.rules[slot.rule];
        let Some(agg) = rule.aggregate.clone() else {
            return Vec::new();
        };
        let Some(st) = self.state.rules.get(&slot.name) else {
            return Vec::new();
        };
        // MozDef's Counter.most_common order: count descending, ties by arrival.
        let mut ready: Vec<(usize, u64, &String)> = keys
            .iter()
            .filter_map(|k| {
                let g = st.groups.get(k)?;
                let first = g.front()?.seq;
                (g.len() as u64 >= agg.threshold).then_some((g.len(), first, k))
            })
            .collect();
        ready.sort_by_key(|(n, first, _)| (std::cmp::Reverse(*n), *first));
        let every_needed = rule.instances[slot.inst].summary.uses_all();
        let mut fired = Vec::new();
        for (_, _, key) in ready {
            let Some(group) = st.groups.get(key) else {
                continue;
            };
            // The checks read what was noted when the events came; events are parsed (or
            // copied from the batch) only into an alert that fires.
            if let Some((_, min)) = &agg.distinct {
                let mut seen: Vec<&str> = Vec::new();
                for v in group.iter().filter_map(|h| h.distinct.as_deref()) {
                    if !seen.contains(&v) {
                        seen.push(v);
                    }
                }
                if (seen.len() as u64) < *min {
                    continue;
                }
            }
            let (samples, every): (Vec<&Held>, Vec<&Held>) = if agg.keep_ip_literal.is_some() {
                let kept: Vec<&Held> = group.iter().filter(|h| h.ip_literal).collect();
                if kept.is_empty() {
                    continue;
                }
                (kept.clone(), kept)
            } else {
                (
                    group.iter().take(agg.samples).collect(),
                    group.iter().collect(),
                )
            };
            let objects = |held: &[&Held]| -> Events {
                held.iter()
                    .filter_map(|h| h.event.object(events).map(std::borrow::Cow::into_owned))
                    .collect()
            };
            // A suppressed alert is only counted: nothing to read for it (the lateral SSH
            // rule reads its samples to decide whether it fires at all).
            if rule.kind != Kind::SshLateral && self.is_suppressed(si, key, now) {
                fired.push(Fired {
                    slot: si,
                    key: Some(key.clone()),
                    count: group.len() as u64,
                    samples: Vec::new(),
                    all: Vec::new(),
                    extra: BTreeMap::new(),
                });
                continue;
            }
            let samples = objects(&samples);
            let mut extra = BTreeMap::new();
            if rule.kind == Kind::SshLateral {
                let Some(policy) = &rule.ssh_policy else {
                    continue;
                };
                let refs: EventRefs = samples.iter().collect();
                let Some((users, sources)) = policy.violations(key, &refs) else {
                    continue;
                };
                extra.insert("users".into(), users.join(","));
                extra.insert(
                    "sources".into(),
                    builtin::lateral_sources(&sources, self.opts.resolver.as_deref()),
                );
            }
            if rule.classname == "AlertMultipleIntelHits" {
                let refs: EventRefs = samples.iter().collect();
                extra.insert("intel".into(), builtin::intel_samples(&refs));
            }
            // `all.*` and `top.*` read every event of the group; other summaries the samples.
            let every = if every_needed {
                objects(&every)
            } else {
                Vec::new()
            };
            fired.push(Fired {
                slot: si,
                key: Some(key.clone()),
                count: group.len() as u64,
                samples,
                all: every,
                extra,
            });
        }
        let mut alerts = Vec::new();
        let slot_name = self.slots[si].name.clone();
        let classname = self.rules.rules[self.slots[si].rule].classname.clone();
        for f in fired {
            let key = f.key.clone().unwrap_or_default();
            if let Some(a) = self.emit(f, now) {
                alerts.push(a);
            }
            // The group fed an alert (or a suppressed one): its events leave the window, and
            // those of this batch record the rule.
            if let Some(st) = self.state.rules.get_mut(&slot_name) {
                if let Some(g) = st.groups.remove(&key) {
                    st.total = st.total.saturating_sub(g.len());
                    for h in g {
                        if let HeldEvent::Batch(b) = h.event {
                            if let Some(e) = events.get_mut(b) {
                                e.add_alert_name(&classname);
                            }
                        }
                    }
                }
            }
        }
        alerts
    }

    /// Whether an alert of slot `si` for `key` would be suppressed at `now`.
    fn is_suppressed(&self, si: usize, key: &str, now: DateTime<Utc>) -> bool {
        let slot = &self.slots[si];
        let inst = &self.rules.rules[slot.rule].instances[slot.inst];
        inst.suppress > Duration::zero()
            && self
                .state
                .rules
                .get(&slot.name)
                .and_then(|st| st.suppress.get(key))
                .is_some_and(|s| s.until > now)
    }

    /// Builds the alert, unless the rule and key are suppressed (then counts it).
    fn emit(&mut self, f: Fired, now: DateTime<Utc>) -> Option<Alert> {
        let slot = &self.slots[f.slot];
        let rule = &self.rules.rules[slot.rule];
        let inst = &rule.instances[slot.inst];
        let dedup_key = match rule.kind {
            Kind::Event => None,
            _ => Some(f.key.clone().unwrap_or_default()),
        };
        // What the last period suppressed, told by the next alert of the rule and key.
        let mut carried: Option<(u64, u64)> = None;
        if let Some(k) = &dedup_key {
            if inst.suppress > Duration::zero() {
                let st = inst_state(&mut self.state.rules, &slot.name);
                if let Some(s) = st.suppress.get_mut(k) {
                    if s.until > now {
                        s.count += 1;
                        s.events += f.count;
                        return None;
                    }
                    if s.count > 0 {
                        carried = Some((s.count, s.events));
                    }
                }
                st.suppress.insert(
                    k.clone(),
                    Suppression {
                        rule: rule.id.clone(),
                        key: k.clone(),
                        until: now + inst.suppress,
                        count: 0,
                        events: 0,
                    },
                );
                // Expired suppressions go (bounded by the number of live keys), once the map
                // has doubled since the last clean-up.
                // One that suppressed alerts stays a period longer, for the next alert to tell.
                if st.suppress.len() > 2 * st.suppress_cleaned.max(32) {
                    let grace = inst.suppress;
                    st.suppress
                        .retain(|_, s| s.until > now || (s.count > 0 && s.until + grace > now));
                    st.suppress_cleaned = st.suppress.len();
                }
            }
        }
        let samples: Vec<&Map<String, Value>> = f.samples.iter().collect();
        let every: Vec<&Map<String, Value>> = if f.all.is_empty() {
            samples.clone()
        } else {
            f.all.iter().collect()
        };
        let ctx = Ctx {
            count: f.count,
            value: f.key.as_deref(),
            all: &every,
            samples: &samples,
            vars: &inst.vars,
            extra: &f.extra,
            resolver: self.opts.resolver.as_deref(),
        };
        let summary = inst.summary.render(&ctx);
        let severity = rule
            .severity_when
            .iter()
            .find(|(list, _)| f.key.as_ref().is_some_and(|k| list.contains(k)))
            .map(|(_, s)| *s)
            .unwrap_or(rule.severity);
        let channel = rule.channel.clone();
        let notify = Alert::mozdefbot(severity, channel.as_deref());
        let (rid, classname, category, url, tags) = (
            rule.id.clone(),
            rule.classname.clone(),
            rule.category.clone(),
            rule.url.clone(),
            inst.tags.clone(),
        );
        let seq = self.next_seq();
        Some(Alert {
            id: Alert::new_id(now, seq),
            utctimestamp: now,
            severity,
            summary,
            category,
            tags,
            rule: rid,
            rule_kind: RuleKind::Mozdef,
            classname,
            channel,
            notify_mozdefbot: notify,
            url,
            key: f.key,
            count: f.count,
            events: f.samples.into_iter().map(Value::Object).collect(),
            details: carried
                .map(|(alerts, events)| suppressed_details(alerts, events))
                .unwrap_or_default(),
        })
    }

    /// Advances the clock: expires windows and runs deadman checks. Call every second.
    pub fn tick(&mut self, now: DateTime<Utc>) -> Vec<Alert> {
        if self.state.started.is_none() {
            self.state.started = Some(now);
        }
        let started = self.state.started.unwrap_or(now);
        let mut alerts = Vec::new();
        for si in 0..self.slots.len() {
            let slot = &self.slots[si];
            let rule = &self.rules.rules[slot.rule];
            let kind = rule.kind;
            match kind {
                Kind::Deadman => {
                    let w = rule.instances[slot.inst].window;
                    if now - started < w {
                        continue;
                    }
                    let seen = self
                        .state
                        .rules
                        .get(&slot.name)
                        .and_then(|s| s.last_seen)
                        .is_some_and(|t| t >= now - w);
                    if seen {
                        continue;
                    }
                    let key = format!("#{}", slot.inst);
                    let fired = Fired {
                        slot: si,
                        key: Some(key),
                        count: 0,
                        samples: Vec::new(),
                        all: Vec::new(),
                        extra: BTreeMap::new(),
                    };
                    if let Some(mut a) = self.emit(fired, now) {
                        a.key = None;
                        alerts.push(a);
                    }
                }
                Kind::Aggregation | Kind::SshLateral => {
                    if self.state.rules.contains_key(&slot.name) {
                        alerts.extend(self.bound(si, now, None));
                    }
                }
                Kind::Event => {}
            }
        }
        alerts
    }
}

fn build_index(rules: &RuleSet, slots: &[Slot]) -> Index {
    let mut idx = Index::default();
    for (si, s) in slots.iter().enumerate() {
        let inst = &rules.rules[s.rule].instances[s.inst];
        // Deadman rules must see every event to notice the heartbeat; index them too (their
        // query's keywords are as selective).
        let key = inst
            .query
            .required_keys()
            .into_iter()
            .find(|(_, v)| plain(v));
        match key {
            Some((f, v)) => {
                let pos = match idx.by_field.iter().position(|(x, _)| *x == f) {
                    Some(p) => p,
                    None => {
                        idx.by_field.push((f.clone(), SlotsByValue::default()));
                        idx.by_field.len() - 1
                    }
                };
                idx.by_field[pos].1.entry(v).or_default().push(si);
            }
            None => idx.always.push(si),
        }
    }
    idx
}

/// `details.suppressed` of an alert: how many alerts of its rule and key the period before it
/// suppressed, and how many events they counted.
pub fn suppressed_details(alerts: u64, events: u64) -> Map<String, Value> {
    let mut d = Map::new();
    d.insert(
        "suppressed".into(),
        serde_json::json!({ "alerts": alerts, "events": events }),
    );
    d
}

/// Runs rules over events (`rules test --events`): one batch, evaluated at the latest event
/// time (or now), then a tick; returns what fires.
pub fn run_events(rules: &RuleSet, events: Vec<Map<String, Value>>) -> Vec<Alert> {
    let now = events
        .iter()
        .flat_map(|e| [time_of(e, "receivedtimestamp"), time_of(e, "utctimestamp")])
        .flatten()
        .max()
        .unwrap_or_else(Utc::now);
    let mut engine = Engine::new(
        rules.clone(),
        EngineOptions {
            started: Some(now),
            ..EngineOptions::default()
        },
    );
    let mut events = events;
    let mut out = engine.process_batch(&mut events, now);
    out.extend(engine.tick(now));
    out
}

/// Runs rules over stored history (`rules backtest`): events in time order, each evaluated at
/// its own time (`receivedtimestamp`, else `utctimestamp`), the clock ticking every second of
/// event time, deadman rules watching from `from`; events outside `[from, to]` are skipped.
pub fn backtest<I>(rules: &RuleSet, events: I, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<Alert>
where
    I: IntoIterator<Item = Map<String, Value>>,
{
    let mut b = Backtest::new(rules, from, to);
    for e in events {
        b.push(e);
    }
    b.finish()
}

/// [`backtest`] fed one event at a time (history read in pages).
pub struct Backtest {
    engine: Engine,
    clock: DateTime<Utc>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    out: Vec<Alert>,
}

impl Backtest {
    /// Starts at `from`.
    pub fn new(rules: &RuleSet, from: DateTime<Utc>, to: DateTime<Utc>) -> Backtest {
        let engine = Engine::new(
            rules.clone(),
            EngineOptions {
                started: Some(from),
                ..EngineOptions::default()
            },
        );
        Backtest {
            engine,
            clock: from,
            from,
            to,
            out: Vec::new(),
        }
    }

    /// The next event (in time order).
    pub fn push(&mut self, e: Map<String, Value>) {
        let Some(t) = time_of(&e, "receivedtimestamp").or_else(|| time_of(&e, "utctimestamp"))
        else {
            return;
        };
        if t < self.from || t > self.to {
            return;
        }
        while self.clock + Duration::seconds(1) <= t {
            self.clock += Duration::seconds(1);
            // Jump over idle stretches longer than a minute in one tick per minute.
            if t - self.clock > Duration::minutes(1) {
                self.clock += Duration::seconds((t - self.clock).num_seconds() / 60 * 60 - 60);
            }
            self.out.extend(self.engine.tick(self.clock));
        }
        let mut batch = [e];
        let at = t.max(self.clock);
        self.out.extend(self.engine.process_batch(&mut batch, at));
    }

    /// The clock run to `to`; every alert.
    pub fn finish(mut self) -> Vec<Alert> {
        self.out.extend(self.engine.tick(self.to));
        self.out
    }
}
