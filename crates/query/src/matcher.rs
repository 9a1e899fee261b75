//! In-memory evaluation of a query against one event (a JSON object), with the semantics of the
//! store's search (`crates/store/src/tantivy_store/query.rs`), so that a rule's query matches in
//! the stream exactly the events the same query finds in the store:
//!
//! - no field or `summary`: analysed text. The summary is split into words (runs of letters and
//!   digits), lower-cased; words of 40 bytes or more are dropped (tantivy's default analyser).
//!   A term or phrase matches when its words appear consecutively; a wildcard (lower-cased) or
//!   regular expression matches when some word matches it whole;
//! - `utctimestamp`, `receivedtimestamp`: dates (exact time or range; `now-15m` date math);
//! - `timestamp`: a date when both sides read as one, else a keyword;
//! - `details.sourceipaddress`, `details.destinationipaddress`: IP addresses (equality whatever
//!   the notation, CIDR, ranges), and the raw string for wildcards and non-address values;
//! - every other field: an exact, case-sensitive keyword; a query value that reads as a number
//!   or boolean also matches a JSON number or boolean equal to it; a string that reads as an
//!   RFC 3339 time is a date (as tantivy indexes it). Arrays match when any element matches;
//!   `null` is no value. Ranges compare numbers when both bounds are numbers, times when both
//!   are times, else strings.
//!
//! Relative times (`now-1d`) are evaluated at the `now` given to [`Matcher::matches`].

use std::cell::{Cell, OnceCell};
use std::net::IpAddr;
use std::ops::Bound;

use chrono::{DateTime, Utc};
use ferrodef_event::{get_key, is_ip_field, Node as Field};
use regex::Regex;
use serde_json::{Map, Value};

use crate::{check_regex, parse_time, wildcard_to_regex, Expr};

/// Words at least this long (in bytes) are not indexed (tantivy's `RemoveLongFilter`).
const MAX_TOKEN_BYTES: usize = 40;

/// Why an expression cannot be evaluated (the store refuses the same queries).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatchError(pub String);

impl std::fmt::Display for MatchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for MatchError {}

fn bad<T>(msg: impl Into<String>) -> Result<T, MatchError> {
    Err(MatchError(msg.into()))
}

/// A compiled query.
#[derive(Debug, Clone)]
pub struct Matcher {
    root: Node,
    expr: Expr,
}

/// A time, fixed or relative to the evaluation time.
#[derive(Debug, Clone)]
enum TimeVal {
    Fixed(DateTime<Utc>),
    Relative(crate::DateMath, LastAt),
}

/// The last time a relative [`TimeVal`] stood for, and the evaluation time it was for: the
/// rules evaluate a whole batch of events at one time, so it is worked out once per batch
/// rather than per event.
#[derive(Debug, Default)]
struct LastAt(std::sync::Mutex<Option<AtTime>>);

/// An evaluation time and the time a relative [`TimeVal`] stood for then.
type AtTime = (DateTime<Utc>, Option<DateTime<Utc>>);

impl Clone for LastAt {
    fn clone(&self) -> Self {
        LastAt::default()
    }
}

impl TimeVal {
    fn new(field: &str, s: &str) -> Result<TimeVal, MatchError> {
        let t = parse_time(s, Utc::now())
            .map_err(|e| MatchError(format!("field '{field}': '{s}' is not a time: {e}")))?;
        // Date math is relative to the evaluation time (read once here); anything else is
        // fixed.
        Ok(match crate::DateMath::parse(s) {
            Some(Ok(m)) => TimeVal::Relative(m, LastAt::default()),
            Some(Err(e)) => {
                return Err(MatchError(format!(
                    "field '{field}': '{s}' is not a time: {e}"
                )))
            }
            None => TimeVal::Fixed(t),
        })
    }
    fn at(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            TimeVal::Fixed(t) => Some(*t),
            TimeVal::Relative(m, last) => {
                // A poisoned lock only loses the cache.
                let mut last = last.0.lock().ok();
                if let Some(Some((at, t))) = last.as_deref() {
                    if *at == now {
                        return *t;
                    }
                }
                let t = m.at(now).ok();
                if let Some(l) = last.as_deref_mut() {
                    *l = Some((now, t));
                }
                t
            }
        }
    }
}

/// A keyword value of the query, pre-read in every type it can stand for.
#[derive(Debug, Clone)]
struct KeyVal {
    text: String,
    int: Option<i64>,
    uint: Option<u64>,
    float: Option<f64>,
    boolean: Option<bool>,
    /// As a date, to seconds (how the store queries dates inside JSON).
    date: Option<i64>,
}

impl KeyVal {
    fn new(v: &str) -> KeyVal {
        let int = v.parse::<i64>().ok();
        let uint = if int.is_none() {
            v.parse::<u64>().ok()
        } else {
            None
        };
        let float = v
            .parse::<f64>()
            .ok()
            .filter(|f| f.is_finite() && v.bytes().any(|b| b.is_ascii_digit()));
        let boolean = match v {
            "true" => Some(true),
            "false" => Some(false),
            _ => None,
        };
        let date = if v.as_bytes().first().is_some_and(u8::is_ascii_digit) {
            DateTime::parse_from_rfc3339(v).ok().map(|d| d.timestamp())
        } else {
            None
        };
        KeyVal {
            text: v.to_string(),
            int,
            uint,
            float,
            boolean,
            date,
        }
    }

    fn matches(&self, leaf: &Value) -> bool {
        match leaf {
            Value::String(s) => match json_date(s) {
                Some(d) => self.date == Some(d.timestamp()),
                None => *s == self.text,
            },
            Value::Number(n) => {
                if let Some(i) = n.as_i64() {
                    self.int == Some(i)
                } else if let Some(u) = n.as_u64() {
                    self.uint == Some(u)
                } else {
                    n.as_f64().is_some_and(|f| self.float == Some(f))
                }
            }
            Value::Bool(b) => self.boolean == Some(*b),
            _ => false,
        }
    }
}

/// A string the store indexes as a date (tantivy's rule for JSON strings).
fn json_date(s: &str) -> Option<DateTime<Utc>> {
    let b = s.as_bytes();
    if b.len() >= 20 && b[0].is_ascii_digit() && b[4] == b'-' {
        ferrodef_event::read_rfc3339(s)
    } else {
        None
    }
}

/// How a range compares.
#[derive(Debug, Clone)]
enum RangeKind {
    Number(Bound<f64>, Bound<f64>),
    Time(Bound<TimeVal>, Bound<TimeVal>),
    Text(Bound<String>, Bound<String>),
    Ip(Bound<IpAddr>, Bound<IpAddr>),
}

#[derive(Debug, Clone)]
enum Node {
    All,
    And(Vec<Node>),
    Or(Vec<Node>),
    Not(Box<Node>),
    /// Consecutive summary words.
    Words(Vec<String>),
    /// Some summary word matches the (anchored) expression.
    WordRegex(Regex),
    /// The summary has at least one word.
    SummaryExists,
    /// A keyword equal to the value.
    Key(String, KeyVal),
    /// An IP field equal to the address.
    IpEq(String, IpAddr),
    /// An IP field inside the network.
    Cidr(String, ipnet::IpNet),
    /// A keyword (string leaf) matching the anchored expression.
    KeyRegex(String, Regex),
    /// A date field equal to the time (to the millisecond, as stored).
    DateEq(String, TimeVal),
    Range(String, RangeKind),
    Exists(String),
}

impl Matcher {
    /// Compiles an expression; errors for what the store refuses too (ranges on `summary`,
    /// patterns on dates, CIDR on non-IP fields, bad or oversized regular expressions, bad times).
    pub fn new(expr: &Expr) -> Result<Matcher, MatchError> {
        Ok(Matcher {
            root: compile(expr)?,
            expr: expr.clone(),
        })
    }

    /// Parses and compiles a query.
    pub fn parse(query: &str) -> Result<Matcher, MatchError> {
        let e = crate::parse(query).map_err(|e| MatchError(e.to_string()))?;
        Matcher::new(&e)
    }

    /// Whether the event matches, relative times evaluated at `now`.
    pub fn matches(&self, event: &Map<String, Value>, now: DateTime<Utc>) -> bool {
        self.matches_doc(&Doc::new(event), now)
    }

    /// Same as [`Matcher::matches`] with a [`Doc`] that caches the summary's words, for
    /// evaluating many matchers against one event.
    pub fn matches_doc(&self, doc: &Doc<'_>, now: DateTime<Utc>) -> bool {
        eval(&self.root, doc, now)
    }

    /// The expression it was compiled from (to run the same query in the store).
    pub fn expr(&self) -> &Expr {
        &self.expr
    }

    /// Every `(field, value)` keyword equality the query requires, for indexing rules.
    pub fn required_keys(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        required_keys(&self.root, &mut out);
        out
    }
}

fn required_keys(n: &Node, out: &mut Vec<(String, String)>) {
    match n {
        Node::Key(f, k) => out.push((f.clone(), k.text.clone())),
        Node::And(v) => v.iter().for_each(|c| required_keys(c, out)),
        _ => {}
    }
}

/// An event being matched, with its summary words computed once.
pub struct Doc<'a> {
    root: Field<'a>,
    words: OnceCell<Words>,
    /// Room for the words (a previous document's), used when they are computed.
    spare: Cell<Option<Words>>,
    /// The summary when it is one ASCII string (phrases are then found in it directly).
    ascii_summary: OnceCell<Option<&'a str>>,
    /// The event's `utctimestamp` as a date (as [`date_of`] reads it), when it is one string.
    utc: OnceCell<Option<DateTime<Utc>>>,
    /// The event's `details`, looked up once (most fields rules read are under it).
    details: OnceCell<Option<Field<'a>>>,
}

impl<'a> Doc<'a> {
    /// Wraps an event.
    pub fn new(event: impl Into<Field<'a>>) -> Doc<'a> {
        Doc::with_room(event, Words::default())
    }

    /// Wraps an event; its words, if needed, are written into `room` (e.g. what
    /// [`Doc::into_room`] gave back of the previous event), so that evaluating many events
    /// does not allocate for each.
    pub fn with_room(event: impl Into<Field<'a>>, room: Words) -> Doc<'a> {
        Doc {
            root: event.into(),
            words: OnceCell::new(),
            spare: Cell::new(Some(room)),
            ascii_summary: OnceCell::new(),
            utc: OnceCell::new(),
            details: OnceCell::new(),
        }
    }

    /// The event's `details`.
    fn details(&self) -> Option<Field<'a>> {
        let root = self.root;
        *self.details.get_or_init(|| root.get("details"))
    }

    /// [`any_leaf`] of the event (`details` looked up once per document).
    pub fn any_leaf(&self, path: &str, f: &mut dyn FnMut(&Value) -> bool) -> bool {
        match path.strip_prefix("details.") {
            Some(rest) => self.details().is_some_and(|d| walk_field(d, Some(rest), f)),
            None => any_leaf(self.root, path, f),
        }
    }

    /// Tells the document its `utctimestamp`, as [`ferrodef_event::read_rfc3339`] read the
    /// string there (the caller did already): ranges on it are then not parsed again.
    pub fn with_utctimestamp(self, t: Option<DateTime<Utc>>) -> Doc<'a> {
        if let Some(t) = t {
            let _ = self.utc.set(Some(truncate_ms(t)));
        }
        self
    }

    /// The event's `utctimestamp` when it is one string, as a date (`None` inside: not a
    /// date); `None`: not one string.
    fn utctimestamp(&self) -> Option<Option<DateTime<Utc>>> {
        if let Some(t) = self.utc.get() {
            return Some(*t);
        }
        let v = self.root.get("utctimestamp")?.value()?;
        if !v.is_string() {
            return None;
        }
        Some(*self.utc.get_or_init(|| date_of(v)))
    }

    /// The room of this document's words, emptied, for the next [`Doc::with_room`].
    pub fn into_room(self) -> Words {
        let mut w = self
            .words
            .into_inner()
            .or_else(|| self.spare.take())
            .unwrap_or_default();
        w.text.clear();
        w.spans.clear();
        w
    }

    /// Whether the phrase's words (analysed, so lower-case) appear consecutively in the
    /// summary's words: read from the summary itself when it is one ASCII string and its
    /// words are not computed yet (no copy), else from [`Doc::words`].
    fn has_phrase(&self, phrase: &[String]) -> bool {
        if self.words.get().is_none() {
            let ascii = self.ascii_summary.get_or_init(|| {
                match self.root.get("summary").and_then(Field::value) {
                    Some(Value::String(s)) if s.is_ascii() => Some(s.as_str()),
                    _ => None,
                }
            });
            if let Some(text) = ascii {
                return ascii_phrase_in(text.as_bytes(), phrase);
            }
        }
        phrase_in(self.words(), phrase)
    }

    /// The summary's indexed words with their positions.
    pub fn words(&self) -> &Words {
        self.words.get_or_init(|| {
            let mut words = self.spare.take().unwrap_or_default();
            match self.root.get("summary").and_then(Field::value) {
                Some(Value::String(s)) => {
                    words.add(s, 0);
                }
                Some(Value::Array(a)) => {
                    let mut base = 0;
                    for v in a {
                        if let Value::String(s) = v {
                            let n = words.add(s, base);
                            // A gap between values, so that phrases do not span two of them.
                            base += n + 100;
                        }
                    }
                }
                _ => {}
            }
            words
        })
    }
}

/// Analysed text (as [`analyse`]): its lower-cased words with their positions, kept in one
/// buffer (no allocation per word).
#[derive(Debug, Default)]
pub struct Words {
    /// The words' text, one after the other (each word is UTF-8).
    text: Vec<u8>,
    /// Position, start and end in `text` of each word.
    spans: Vec<(u32, u32, u32)>,
}

impl Words {
    /// Adds the words of `text`, their positions from `base`; returns the number of positions
    /// `text` took (its last word's position + 1, 0 for none), as [`analyse`] numbers them.
    fn add(&mut self, text: &str, base: u32) -> u32 {
        let mut pos = 0u32;
        let mut last = None;
        if text.is_ascii() {
            // ASCII: letters and digits are the ASCII ones, lower-casing is ASCII's.
            self.text.reserve(text.len());
            for w in ascii_words(text.as_bytes()) {
                if w.len() < MAX_TOKEN_BYTES {
                    let start = self.text.len() as u32;
                    self.text.extend(w.iter().map(u8::to_ascii_lowercase));
                    self.spans.push((base + pos, start, self.text.len() as u32));
                    last = Some(pos);
                }
                pos += 1;
            }
            return last.map_or(0, |p| p + 1);
        }
        for w in text.split(|c: char| !c.is_alphanumeric()) {
            if w.is_empty() {
                continue;
            }
            if w.len() < MAX_TOKEN_BYTES {
                let start = self.text.len() as u32;
                self.text.extend_from_slice(w.to_lowercase().as_bytes());
                self.spans.push((base + pos, start, self.text.len() as u32));
                last = Some(pos);
            }
            pos += 1;
        }
        last.map_or(0, |p| p + 1)
    }

    /// The bytes of word `i`.
    fn bytes(&self, i: usize) -> Option<(u32, &[u8])> {
        let &(pos, a, b) = self.spans.get(i)?;
        Some((pos, self.text.get(a as usize..b as usize)?))
    }

    /// The words in order, each with its position.
    pub fn iter(&self) -> impl Iterator<Item = (u32, &str)> + '_ {
        (0..self.spans.len()).filter_map(|i| self.get(i))
    }

    /// Word `i` with its position.
    pub fn get(&self, i: usize) -> Option<(u32, &str)> {
        let (pos, w) = self.bytes(i)?;
        Some((pos, std::str::from_utf8(w).ok()?))
    }

    /// How many words there are.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }
}

/// Splits text into lower-cased words of letters and digits, with their positions.
pub fn analyse(text: &str) -> Vec<(u32, String)> {
    let mut out = Vec::new();
    let mut pos = 0u32;
    for w in text.split(|c: char| !c.is_alphanumeric()) {
        if w.is_empty() {
            continue;
        }
        if w.len() < MAX_TOKEN_BYTES {
            out.push((pos, w.to_lowercase()));
        }
        pos += 1;
    }
    out
}

fn words_of(text: &str) -> Vec<String> {
    analyse(text).into_iter().map(|(_, w)| w).collect()
}

fn anchored(field: &str, body: &str) -> Result<Regex, MatchError> {
    check_regex(body).map_err(|e| MatchError(format!("field '{field}': {e}")))?;
    Regex::new(&format!("^(?:{body})$"))
        .map_err(|e| MatchError(format!("field '{field}': invalid pattern: {e}")))
}

fn is_date_field(f: &str) -> bool {
    matches!(f, "utctimestamp" | "receivedtimestamp")
}

fn compile(e: &Expr) -> Result<Node, MatchError> {
    Ok(match e {
        Expr::MatchAll => Node::All,
        Expr::And(v) => Node::And(v.iter().map(compile).collect::<Result<_, _>>()?),
        Expr::Or(v) => Node::Or(v.iter().map(compile).collect::<Result<_, _>>()?),
        Expr::Not(x) => Node::Not(Box::new(compile(x)?)),
        Expr::Term { field, value } => term(field.as_deref(), value)?,
        Expr::Phrase { field, text } => term(field.as_deref(), text)?,
        Expr::Wildcard { field, pattern } => {
            let body = wildcard_to_regex(pattern);
            regex_node(field.as_deref(), &body, true)?
        }
        Expr::Regex { field, pattern } => regex_node(Some(field), pattern, false)?,
        Expr::Range {
            field,
            lower,
            upper,
        } => range(field, lower, upper)?,
        Expr::Exists { field } => exists(field),
        Expr::Cidr { field, net } => {
            if !is_ip_field(field) {
                return bad(format!(
                    "CIDR match {net} needs an IP field (details.sourceipaddress, \
                     details.destinationipaddress); '{field}' is not one"
                ));
            }
            Node::Cidr(field.clone(), *net)
        }
    })
}

fn exists(field: &str) -> Node {
    if field == "summary" {
        Node::SummaryExists
    } else {
        Node::Exists(field.to_string())
    }
}

fn term(field: Option<&str>, value: &str) -> Result<Node, MatchError> {
    Ok(match field {
        None | Some("summary") => Node::Words(words_of(value)),
        Some(f) if is_date_field(f) => Node::DateEq(f.to_string(), TimeVal::new(f, value)?),
        Some(f @ "timestamp") => match TimeVal::new(f, value) {
            Ok(t) => Node::Or(vec![
                Node::DateEq(f.to_string(), t),
                Node::Key(f.to_string(), KeyVal::new(value)),
            ]),
            Err(_) => Node::Key(f.to_string(), KeyVal::new(value)),
        },
        Some(f) if is_ip_field(f) => match value.parse::<IpAddr>() {
            Ok(ip) => Node::IpEq(f.to_string(), ip),
            Err(_) => Node::Key(f.to_string(), KeyVal::new(value)),
        },
        Some(f) => Node::Key(f.to_string(), KeyVal::new(value)),
    })
}

fn regex_node(field: Option<&str>, body: &str, wildcard: bool) -> Result<Node, MatchError> {
    Ok(match field {
        None | Some("summary") => {
            let body = if wildcard {
                body.to_lowercase()
            } else {
                body.to_string()
            };
            Node::WordRegex(anchored("summary", &body)?)
        }
        Some(f) if is_date_field(f) => {
            return bad(format!(
                "wildcards and regular expressions do not apply to the date field '{f}'"
            ))
        }
        Some(f) => Node::KeyRegex(f.to_string(), anchored(f, body)?),
    })
}

fn bound_vals(lower: &Bound<String>, upper: &Bound<String>) -> Vec<String> {
    [lower, upper]
        .into_iter()
        .filter_map(|b| match b {
            Bound::Included(v) | Bound::Excluded(v) => Some(v.clone()),
            Bound::Unbounded => None,
        })
        .collect()
}

fn map_b<T>(
    b: &Bound<String>,
    f: &mut dyn FnMut(&str) -> Result<T, MatchError>,
) -> Result<Bound<T>, MatchError> {
    Ok(match b {
        Bound::Included(v) => Bound::Included(f(v)?),
        Bound::Excluded(v) => Bound::Excluded(f(v)?),
        Bound::Unbounded => Bound::Unbounded,
    })
}

fn range(field: &str, lower: &Bound<String>, upper: &Bound<String>) -> Result<Node, MatchError> {
    if matches!((lower, upper), (Bound::Unbounded, Bound::Unbounded)) {
        return Ok(exists(field));
    }
    if field == "summary" {
        return bad("range queries do not apply to the text field 'summary'");
    }
    let values = bound_vals(lower, upper);
    let kind = if is_date_field(field) {
        RangeKind::Time(
            map_b(lower, &mut |v| TimeVal::new(field, v))?,
            map_b(upper, &mut |v| TimeVal::new(field, v))?,
        )
    } else if is_ip_field(field) {
        let mut conv = |v: &str| {
            v.parse::<IpAddr>()
                .map_err(|_| MatchError(format!("field '{field}': '{v}' is not an IP address")))
        };
        RangeKind::Ip(map_b(lower, &mut conv)?, map_b(upper, &mut conv)?)
    } else if values.iter().all(|v| v.parse::<f64>().is_ok()) {
        let mut conv = |v: &str| Ok(v.parse::<f64>().unwrap_or_default());
        RangeKind::Number(map_b(lower, &mut conv)?, map_b(upper, &mut conv)?)
    } else if values
        .iter()
        .all(|v| parse_time(v, DateTime::<Utc>::UNIX_EPOCH).is_ok())
    {
        RangeKind::Time(
            map_b(lower, &mut |v| TimeVal::new(field, v))?,
            map_b(upper, &mut |v| TimeVal::new(field, v))?,
        )
    } else {
        let mut conv = |v: &str| Ok(v.to_string());
        RangeKind::Text(map_b(lower, &mut conv)?, map_b(upper, &mut conv)?)
    };
    Ok(Node::Range(field.to_string(), kind))
}

/// Calls `f` on every non-null leaf at a dotted path (through arrays); stops when `f` is true.
pub fn any_leaf<'a>(
    event: impl Into<Field<'a>>,
    path: &str,
    f: &mut dyn FnMut(&Value) -> bool,
) -> bool {
    let (first, rest) = split_dot(path);
    match event.into().get(first) {
        Some(v) => walk_field(v, rest, f),
        None => false,
    }
}

/// [`walk`] from a field of an event (an object of an opened event is not a JSON value).
fn walk_field(v: Field<'_>, rest: Option<&str>, f: &mut dyn FnMut(&Value) -> bool) -> bool {
    match v {
        Field::Value(v) => walk(v, rest, f),
        obj => match rest {
            Some(r) => {
                let (k, tail) = split_dot(r);
                obj.get(k).is_some_and(|x| walk_field(x, tail, f))
            }
            None => false,
        },
    }
}

/// A dotted path's first segment and the rest (`split_once('.')` by a plain byte loop: paths
/// are short, and the general searcher's set-up cost more than the search here).
#[inline]
fn split_dot(path: &str) -> (&str, Option<&str>) {
    match path.bytes().position(|b| b == b'.') {
        // `.` is one byte: both sides are on character boundaries.
        Some(i) => (path.get(..i).unwrap_or(path), path.get(i + 1..)),
        None => (path, None),
    }
}

/// `rest` is what is left of the dotted path (no allocation on the hot path).
fn walk(v: &Value, rest: Option<&str>, f: &mut dyn FnMut(&Value) -> bool) -> bool {
    match v {
        Value::Array(a) => a.iter().any(|x| walk(x, rest, f)),
        Value::Object(m) => match rest {
            Some(r) => {
                let (k, tail) = split_dot(r);
                get_key(m, k).is_some_and(|x| walk(x, tail, f))
            }
            None => false,
        },
        Value::Null => false,
        leaf => rest.is_none() && f(leaf),
    }
}

/// Whether anything non-null is at or below the path (an object counts when it holds a value).
fn exists_at(root: Field<'_>, path: &str) -> bool {
    fn has_leaf(v: &Value) -> bool {
        match v {
            Value::Null => false,
            Value::Array(a) => a.iter().any(has_leaf),
            Value::Object(m) => m.values().any(has_leaf),
            _ => true,
        }
    }
    fn field_has_leaf(v: Field<'_>) -> bool {
        match v {
            Field::Value(v) => has_leaf(v),
            obj => {
                let mut any = false;
                obj.for_each(|_, x| any = any || field_has_leaf(x));
                any
            }
        }
    }
    let mut parts = path.split('.');
    let mut field = match parts.next().and_then(|p| root.get(p)) {
        Some(v) => v,
        None => return false,
    };
    // Down the event's own objects (an opened event's details), then through JSON values.
    let mut cur: Vec<&Value> = Vec::new();
    loop {
        match field {
            Field::Value(v) => {
                cur.push(v);
                break;
            }
            obj => match parts.next() {
                Some(p) => match obj.get(p) {
                    Some(x) => field = x,
                    None => return false,
                },
                None => return field_has_leaf(obj),
            },
        }
    }
    for p in parts {
        let mut next = Vec::new();
        for v in cur {
            collect_child(v, p, &mut next);
        }
        if next.is_empty() {
            return false;
        }
        cur = next;
    }
    cur.into_iter().any(has_leaf)
}

fn collect_child<'v>(v: &'v Value, key: &str, out: &mut Vec<&'v Value>) {
    match v {
        Value::Object(m) => {
            if let Some(x) = get_key(m, key) {
                out.push(x);
            }
        }
        Value::Array(a) => a.iter().for_each(|x| collect_child(x, key, out)),
        _ => {}
    }
}

/// The value of a date field as stored (to the millisecond). Years outside 0–9999 are written
/// with a sign and more digits (`-5000-01-01T00:00:00+00:00`), which RFC 3339 parsing refuses.
fn date_of(v: &Value) -> Option<DateTime<Utc>> {
    let s = v.as_str()?;
    let t = match ferrodef_event::read_rfc3339(s) {
        Some(t) => t,
        None if s.starts_with(['-', '+']) => s
            .parse::<DateTime<chrono::FixedOffset>>()
            .ok()?
            .with_timezone(&Utc),
        None => return None,
    };
    Some(truncate_ms(t))
}

fn truncate_ms(t: DateTime<Utc>) -> DateTime<Utc> {
    // Most times are already whole milliseconds (not in a leap second): nothing to do.
    let ns = t.timestamp_subsec_nanos();
    if ns < 1_000_000_000 && ns.is_multiple_of(1_000_000) {
        return t;
    }
    DateTime::from_timestamp_millis(t.timestamp_millis()).unwrap_or(t)
}

fn in_bounds<T: PartialOrd>(x: &T, lo: &Bound<T>, hi: &Bound<T>) -> bool {
    let lo_ok = match lo {
        Bound::Included(l) => x >= l,
        Bound::Excluded(l) => x > l,
        Bound::Unbounded => true,
    };
    let hi_ok = match hi {
        Bound::Included(h) => x <= h,
        Bound::Excluded(h) => x < h,
        Bound::Unbounded => true,
    };
    lo_ok && hi_ok
}

fn time_bound(b: &Bound<TimeVal>, now: DateTime<Utc>) -> Option<Bound<DateTime<Utc>>> {
    Some(match b {
        Bound::Included(t) => Bound::Included(truncate_ms(t.at(now)?)),
        Bound::Excluded(t) => Bound::Excluded(truncate_ms(t.at(now)?)),
        Bound::Unbounded => Bound::Unbounded,
    })
}

/// Both addresses in one family (IPv4 as IPv4-mapped IPv6), as the store keeps them.
fn v6(ip: IpAddr) -> std::net::Ipv6Addr {
    match ip {
        IpAddr::V4(a) => a.to_ipv6_mapped(),
        IpAddr::V6(a) => a,
    }
}

fn ip_of(v: &Value) -> Option<IpAddr> {
    v.as_str().and_then(|s| s.trim().parse::<IpAddr>().ok())
}

fn eval(n: &Node, doc: &Doc<'_>, now: DateTime<Utc>) -> bool {
    match n {
        Node::All => true,
        Node::And(v) => v.iter().all(|c| eval(c, doc, now)),
        Node::Or(v) => v.iter().any(|c| eval(c, doc, now)),
        Node::Not(c) => !eval(c, doc, now),
        Node::Words(ws) => doc.has_phrase(ws),
        Node::WordRegex(re) => doc.words().iter().any(|(_, w)| re.is_match(w)),
        Node::SummaryExists => !doc.words().is_empty(),
        Node::Key(f, k) => doc.any_leaf(f, &mut |v| k.matches(v)),
        Node::IpEq(f, ip) => {
            // The IP column holds the document's one address (first value only for arrays).
            first_ip(doc, f).is_some_and(|a| v6(a) == v6(*ip))
        }
        Node::Cidr(f, net) => first_ip(doc, f).is_some_and(|a| net_contains(net, a)),
        Node::KeyRegex(f, re) => doc.any_leaf(f, &mut |v| match v {
            Value::String(s) => json_date(s).is_none() && re.is_match(s),
            _ => false,
        }),
        Node::DateEq(f, t) => match t.at(now) {
            Some(t) => {
                let t = truncate_ms(t);
                doc.any_leaf(f, &mut |v| date_of(v) == Some(t))
            }
            None => false,
        },
        Node::Range(f, kind) => range_match(doc, f, kind, now),
        Node::Exists(f) => exists_at(doc.root, f),
    }
}

fn first_ip(doc: &Doc<'_>, path: &str) -> Option<IpAddr> {
    let key = path.strip_prefix("details.")?;
    ip_of(doc.details()?.get(key)?.value()?)
}

fn net_contains(net: &ipnet::IpNet, a: IpAddr) -> bool {
    let lo = v6(net.network());
    let hi = v6(net.broadcast());
    let x = v6(a);
    x >= lo && x <= hi
}

fn range_match(doc: &Doc<'_>, f: &str, kind: &RangeKind, now: DateTime<Utc>) -> bool {
    match kind {
        RangeKind::Number(lo, hi) => doc.any_leaf(f, &mut |v| {
            v.as_f64()
                .is_some_and(|x| v.is_number() && in_bounds(&x, lo, hi))
        }),
        RangeKind::Time(lo, hi) => {
            let (Some(lo), Some(hi)) = (time_bound(lo, now), time_bound(hi, now)) else {
                return false;
            };
            if f == "utctimestamp" {
                if let Some(d) = doc.utctimestamp() {
                    return d.is_some_and(|d| in_bounds(&d, &lo, &hi));
                }
            }
            let date_field = is_date_field(f);
            doc.any_leaf(f, &mut |v| {
                let d = if date_field {
                    date_of(v)
                } else {
                    v.as_str().and_then(json_date)
                };
                d.is_some_and(|d| in_bounds(&d, &lo, &hi))
            })
        }
        RangeKind::Text(lo, hi) => doc.any_leaf(f, &mut |v| match v {
            Value::String(s) => json_date(s).is_none() && in_bounds(s, lo, hi),
            _ => false,
        }),
        RangeKind::Ip(lo, hi) => {
            let lo = lo.as_ref().map(|a| v6(*a));
            let hi = hi.as_ref().map(|a| v6(*a));
            first_ip(doc, f).is_some_and(|a| in_bounds(&v6(a), &lo, &hi))
        }
    }
}

/// The words of ASCII text (runs of ASCII letters and digits), as [`Words::add`] and
/// [`ascii_phrase_in`] split it; long ones included (they take a position, though the
/// analysed words leave them out).
fn ascii_words(text: &[u8]) -> impl Iterator<Item = &[u8]> {
    text.split(|b| !b.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
}

/// [`phrase_in`] on ASCII text, without analysing it first: the phrase's words are
/// lower-case and shorter than [`MAX_TOKEN_BYTES`] (the analyser made them), so a word of the
/// text matches one when equal to it ignoring ASCII case, and a long word, never matching,
/// breaks a phrase as its position does in the analysed text. The first word is looked for
/// by its first byte (either case, `memchr`), then checked whole and as a whole word.
fn ascii_phrase_in(text: &[u8], phrase: &[String]) -> bool {
    let Some((first, rest)) = phrase.split_first() else {
        return false;
    };
    let first = first.as_bytes();
    let Some(&b0) = first.first() else {
        return false;
    };
    let alnum = |i: usize| text.get(i).is_some_and(u8::is_ascii_alphanumeric);
    memchr::memchr2_iter(b0, b0.to_ascii_uppercase(), text).any(|at| {
        let end = at + first.len();
        (at == 0 || !alnum(at - 1))
            && text
                .get(at..end)
                .is_some_and(|w| w.eq_ignore_ascii_case(first))
            && !alnum(end)
            && {
                let mut next = ascii_words(text.get(end..).unwrap_or_default());
                rest.iter().all(|want| {
                    next.next()
                        .is_some_and(|w| w.eq_ignore_ascii_case(want.as_bytes()))
                })
            }
    })
}

/// Whether the words appear consecutively (by position) in the analysed text.
fn phrase_in(text: &Words, phrase: &[String]) -> bool {
    let Some((first, rest)) = phrase.split_first() else {
        return false;
    };
    (0..text.len()).any(|i| {
        text.bytes(i).is_some_and(|(p, w)| {
            w == first.as_bytes()
                && rest.iter().enumerate().all(|(k, want)| {
                    text.bytes(i + k + 1)
                        .is_some_and(|(q, w2)| q == p + k as u32 + 1 && w2 == want.as_bytes())
                })
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ev(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }
    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2017-01-01T01:00:00Z")
            .map(|d| d.with_timezone(&Utc))
            .unwrap_or_default()
    }
    fn m(q: &str, e: &Map<String, Value>) -> bool {
        match Matcher::parse(q) {
            Ok(x) => x.matches(e, now()),
            Err(err) => panic!("{q}: {err}"),
        }
    }

    /// The words a document caches are those of `analyse`, ASCII or not, in one value or many.
    #[test]
    fn dates_of_years_beyond_four_digits_compare() {
        let old = ev(json!({ "utctimestamp": "-5000-01-01T00:00:00+00:00" }));
        let far = ev(json!({ "utctimestamp": "+99999-01-01T00:00:00+00:00" }));
        let before = Matcher::parse("utctimestamp:<2000-01-01T00:00:00Z").unwrap();
        let after = Matcher::parse("utctimestamp:>3000-01-01T00:00:00Z").unwrap();
        assert!(before.matches(&old, now()) && !before.matches(&far, now()));
        assert!(after.matches(&far, now()) && !after.matches(&old, now()));
    }

    #[test]
    fn cached_words_are_the_analysed_words() {
        let long = "x".repeat(MAX_TOKEN_BYTES);
        let texts = [
            "Failed password for Invalid user from 1.2.3.4 port 22".to_string(),
            "".into(),
            "  ...  ".into(),
            format!("a {long} b"),
            format!("{long} end"),
            "ÉCOLE Straße ΑΣ.Β İstanbul KELVIN \u{212A} ok_ok".into(),
            "ldap_count_entries failed".into(),
        ];
        let words_of = |summary: Value| -> Vec<(u32, String)> {
            let m = ev(json!({ "summary": summary }));
            let doc = Doc::new(&m);
            doc.words()
                .iter()
                .map(|(p, w)| (p, w.to_string()))
                .collect()
        };
        for t in &texts {
            assert_eq!(words_of(json!(t)), analyse(t), "{t:?}");
        }
        let got = words_of(json!(texts));
        let mut want = Vec::new();
        let mut base = 0;
        for t in &texts {
            let w = analyse(t);
            let n = w.last().map(|x| x.0 + 1).unwrap_or(0);
            want.extend(w.into_iter().map(|(p, t)| (p + base, t)));
            base += n + 100;
        }
        assert_eq!(got, want);
        // Documents written into the room of the previous one (long texts before short ones,
        // documents whose words are never asked for in between) have their own words only.
        let mut room = Words::default();
        for (i, t) in texts.iter().chain(texts.iter().rev()).enumerate() {
            let m = ev(json!({ "summary": t }));
            let doc = Doc::with_room(&m, room);
            if i % 3 != 2 {
                let got: Vec<(u32, String)> = doc
                    .words()
                    .iter()
                    .map(|(p, w)| (p, w.to_string()))
                    .collect();
                assert_eq!(got, analyse(t), "{t:?}");
            }
            room = doc.into_room();
            assert!(room.is_empty());
        }
    }

    /// Phrases found in ASCII summaries directly agree with phrases found in their analysed
    /// words, over texts of repeated, long, mixed-case and punctuated words.
    #[test]
    fn ascii_phrases_agree_with_analysed_words() {
        let long = "Q".repeat(MAX_TOKEN_BYTES);
        let almost = "r".repeat(MAX_TOKEN_BYTES - 1);
        let vocab = [
            "a", "A", "b", "ab", "Failed", "password", "for", "1", "2", "22", &long, &almost,
        ];
        let seps = [" ", "  ", ".", ": ", "-", "_", "/", "=", "\t"];
        let mut seed = 7u64;
        let mut next = |n: usize| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) as usize % n
        };
        let phrases: Vec<Vec<String>> = [
            "a",
            "a a",
            "a b",
            "a a b",
            "ab",
            "failed password",
            "password for",
            "1 2",
            "b a a",
            &almost.to_lowercase(),
            "a q",
            "for 1",
        ]
        .iter()
        .map(|p| words_of(p))
        .collect();
        for _ in 0..3000 {
            let n = next(9);
            let mut text = String::new();
            if next(3) == 0 {
                text.push_str(seps[next(seps.len())]);
            }
            for k in 0..n {
                if k > 0 {
                    text.push_str(seps[next(seps.len())]);
                }
                text.push_str(vocab[next(vocab.len())]);
            }
            let mut words = Words::default();
            words.add(&text, 0);
            for ph in &phrases {
                assert_eq!(
                    ascii_phrase_in(text.as_bytes(), ph),
                    phrase_in(&words, ph),
                    "{text:?} {ph:?}"
                );
                let m = ev(json!({ "summary": text }));
                assert_eq!(Doc::new(&m).has_phrase(ph), phrase_in(&words, ph));
            }
        }
    }

    #[test]
    fn summary_is_analysed_text() {
        let e = ev(json!({"summary": "Failed password for Invalid user from 1.2.3.4 port 22"}));
        assert!(m("failed", &e));
        assert!(m("summary:FAILED", &e));
        assert!(m("\"password for invalid\"", &e));
        assert!(!m("\"password invalid\"", &e));
        assert!(m("summary:\"1.2.3.4\"", &e));
        assert!(!m("summary:\"1.2.3.5\"", &e));
        assert!(m("summary:inv*", &e));
        assert!(m("summary:/pass.*/", &e));
        assert!(!m("summary:/Pass.*/", &e));
        assert!(m("_exists_:summary", &e));
        assert!(!m("_exists_:summary", &ev(json!({"summary": "..."}))));
        // Underscores split words, as in the store.
        let e2 = ev(json!({"summary": "ldap_count_entries failed"}));
        assert!(m("summary:ldap_count_entries", &e2));
        assert!(m("summary:count", &e2));
    }

    #[test]
    fn keywords_are_exact() {
        let e = ev(
            json!({"category": "bro", "details": {"program": "sshd", "port": 22,
            "ok": true, "tags": ["a", "b"], "host": "Foo.example.com"}}),
        );
        assert!(m("category:bro", &e));
        assert!(!m("category:Bro", &e));
        assert!(!m("category:br", &e));
        assert!(m("details.program:sshd AND NOT details.program:ssh", &e));
        assert!(m("details.port:22", &e));
        assert!(!m("details.port:\"22x\"", &e));
        assert!(m("details.ok:true", &e));
        assert!(m("details.tags:b", &e));
        assert!(m("details.host:*example*", &e));
        assert!(!m("details.host:*EXAMPLE*", &e));
        assert!(m("details.host:/[A-Z]oo\\..*/", &e));
        assert!(!m("details.host:/oo.*/", &e));
        assert!(m("details.port:[20 TO 30]", &e));
        assert!(!m("details.port:{22 TO 30]", &e));
        assert!(m("_exists_:details.program AND _exists_:details", &e));
        assert!(!m("_exists_:details.nope", &e));
    }

    #[test]
    fn ips_dates_and_nulls() {
        let e = ev(json!({"utctimestamp": "2017-01-01T00:59:00+00:00",
            "details": {"sourceipaddress": "10.1.2.3", "username": "", "gone": null}}));
        assert!(m("details.sourceipaddress:10.1.2.3", &e));
        assert!(m("details.sourceipaddress:\"::ffff:10.1.2.3\"", &e));
        assert!(m("details.sourceipaddress:10.0.0.0/8", &e));
        assert!(!m("details.sourceipaddress:11.0.0.0/8", &e));
        assert!(m(
            "details.sourceipaddress:[10.0.0.0 TO 10.255.255.255]",
            &e
        ));
        assert!(m("details.sourceipaddress:10.1.*", &e));
        assert!(m("utctimestamp:[now-2m TO now]", &e));
        assert!(!m("utctimestamp:[now-30s TO now]", &e));
        assert!(m("utctimestamp:<now-30s", &e));
        assert!(m("details.username:\"\"", &e));
        assert!(!m("_exists_:details.gone", &e));
        assert!(Matcher::parse("summary:[a TO b]").is_err());
        assert!(Matcher::parse("utctimestamp:abc*").is_err());
        assert!(Matcher::parse("category:10.0.0.0/8").is_err());
    }

    /// A relative bound is remembered per evaluation time (never reused for another), and a
    /// document told its `utctimestamp` answers as one that reads it.
    #[test]
    fn relative_bounds_follow_the_evaluation_time_and_told_times_read_alike() {
        let q = Matcher::parse("utctimestamp:<now-1d").unwrap();
        let window = Matcher::parse("utctimestamp:[now-1m TO now]").unwrap();
        let e = ev(json!({"utctimestamp": "2017-01-01T00:00:00.123456Z"}));
        let t = ferrodef_event::read_rfc3339("2017-01-01T00:00:00.123456Z");
        let at = |s: &str| ferrodef_event::read_rfc3339(s).unwrap();
        let times = [
            (at("2017-01-01T00:30:00Z"), false, false),
            (at("2017-01-03T00:00:00Z"), true, false),
            (at("2017-01-01T00:00:30Z"), false, true),
            (at("2017-01-01T00:00:30Z"), false, true),
            (at("2017-01-01T23:59:59Z"), false, false),
            (at("2017-01-02T00:00:00.124Z"), true, false),
            (at("2017-01-02T00:00:00.123Z"), false, false),
        ];
        for (now, old, recent) in times {
            for doc in [Doc::new(&e), Doc::new(&e).with_utctimestamp(t)] {
                assert_eq!(q.matches_doc(&doc, now), old, "{now}");
                assert_eq!(window.matches_doc(&doc, now), recent, "{now}");
            }
        }
        // Not one string: read as before (any element of an array).
        let list = ev(json!({"utctimestamp": ["2017-01-01T00:00:00Z", "2010-01-01T00:00:00Z"]}));
        let now = at("2017-01-01T00:30:00Z");
        assert!(q.matches(&list, now));
        let none = ev(json!({"utctimestamp": 5}));
        assert!(!q.matches(&none, now));
    }

    /// A document's leaves at a path are the event's, whatever `details` holds.
    #[test]
    fn document_leaves_are_the_events() {
        let events = [
            json!({"details": {"a": 1, "b": {"c": "x"}, "d": [1, {"e": 2}]}, "a": 3}),
            json!({"details": [{"a": 1}, {"a": 2, "b": {"c": "y"}}]}),
            json!({"details": "text", "a": [1, 2]}),
            json!({"details": null}),
            json!({"other": {"a": 1}}),
            json!({"details.a": 5, "details": {"a": 6}}),
        ];
        let paths = [
            "details",
            "details.a",
            "details.b.c",
            "details.d",
            "details.d.e",
            "details.x",
            "a",
            "details.",
            "other.a",
        ];
        for e in &events {
            let map = ev(e.clone());
            let doc = Doc::new(&map);
            for p in paths {
                let (mut want, mut got) = (Vec::new(), Vec::new());
                any_leaf(&map, p, &mut |v| {
                    want.push(v.clone());
                    false
                });
                doc.any_leaf(p, &mut |v| {
                    got.push(v.clone());
                    false
                });
                assert_eq!(got, want, "{e} {p}");
            }
        }
    }

    #[test]
    fn paths_split_at_their_first_dot() {
        for p in [
            "",
            ".",
            "a",
            "a.",
            ".a",
            "a.b",
            "a.b.c",
            "é.ü.x",
            "details..x",
        ] {
            let want = match p.split_once('.') {
                Some((a, b)) => (a, Some(b)),
                None => (p, None),
            };
            assert_eq!(split_dot(p), want, "{p}");
        }
    }

    #[test]
    fn truncation_to_milliseconds_is_the_stores() {
        let store = |t: DateTime<Utc>| DateTime::from_timestamp_millis(t.timestamp_millis());
        for text in [
            "2017-01-01T00:00:00Z",
            "2017-01-01T00:00:00.123Z",
            "2017-01-01T00:00:00.123456Z",
            "2017-01-01T00:00:00.999999999Z",
            "2016-12-31T23:59:60Z",
            "2016-12-31T23:59:60.5Z",
            "1969-12-31T23:59:59.9995Z",
        ] {
            let t = DateTime::parse_from_rfc3339(text)
                .unwrap()
                .with_timezone(&Utc);
            assert_eq!(Some(truncate_ms(t)), store(t), "{text}");
        }
    }
}
