//! Bodies of the HTTP ingest endpoints: one JSON object (`/events`), or many (`/_bulk`):
//! an Elasticsearch bulk body (action line + document line), a JSON array, or NDJSON —
//! auto-detected. Every document keeps its line number; bad ones are reported by line and never
//! stop the good ones.
//!
//! Documents nested deeper than a limit (`max_depth`: objects and arrays, the document itself
//! being depth 1) are refused before they are parsed, with the line and column where the limit
//! is passed: a document line of NDJSON or bulk alone, a single object or a JSON array whole.

use std::fmt;

use ferrodef_event::Incoming;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// What a body's documents are parsed into: a `serde_json::Value` (documents stored as sent),
/// or an [`Incoming`] (documents to normalize, read without a hash map per object).
pub trait BodyDoc: DeserializeOwned {
    /// Whether it is a JSON object.
    fn is_object(&self) -> bool;
    /// The action of an Elasticsearch bulk action line (`{"index": {...}}`), if it is one.
    fn bulk_action(&self) -> Option<&str>;
}

impl BodyDoc for Value {
    fn is_object(&self) -> bool {
        Value::is_object(self)
    }

    fn bulk_action(&self) -> Option<&str> {
        let o = self.as_object()?;
        if o.len() != 1 {
            return None;
        }
        let (k, meta) = o.iter().next()?;
        if !meta.is_object() {
            return None;
        }
        matches!(k.as_str(), "index" | "create" | "delete" | "update").then_some(k.as_str())
    }
}

impl BodyDoc for Incoming {
    fn is_object(&self) -> bool {
        Incoming::is_object(self)
    }

    fn bulk_action(&self) -> Option<&str> {
        Incoming::bulk_action(self)
    }
}

/// A document of a body.
#[derive(Debug, Clone, PartialEq)]
pub struct BodyItem<D = Value> {
    /// 1-based line where the document starts.
    pub line: usize,
    /// The document.
    pub doc: D,
}

/// A bad document of a body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemError {
    /// 1-based line of the problem.
    pub line: usize,
    /// What is wrong, naming the line (and column for JSON errors).
    pub message: String,
    /// The kind of problem, for metrics: `invalid_json`, or `too_deep` (`max_depth`).
    pub reason: &'static str,
}

/// A parsed body: the good documents and the errors, in order.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedBody<D = Value> {
    /// Good documents.
    pub items: Vec<BodyItem<D>>,
    /// Bad ones.
    pub errors: Vec<ItemError>,
}

impl<D> Default for ParsedBody<D> {
    fn default() -> Self {
        ParsedBody {
            items: Vec::new(),
            errors: Vec::new(),
        }
    }
}

/// A body that cannot be used at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BodyError {
    /// What is wrong, with its position.
    pub message: String,
    /// 1-based line, when known.
    pub line: Option<usize>,
}

impl fmt::Display for BodyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for BodyError {}

fn utf8(body: &[u8]) -> Result<&str, BodyError> {
    std::str::from_utf8(body).map_err(|e| {
        let off = e.valid_up_to();
        let line = body[..off].iter().filter(|&&b| b == b'\n').count() + 1;
        BodyError {
            message: format!("body is not valid UTF-8 at byte {off} (line {line})"),
            line: Some(line),
        }
    })
}

/// Where `text` nests objects and arrays deeper than `max_depth` (its outermost value is depth
/// 1): the 0-based line in `text` and the 1-based column (in bytes), or `None`. Strings are
/// skipped; the text need not be valid JSON.
fn too_deep(text: &str, max_depth: usize) -> Option<(usize, usize)> {
    // Nesting needs as many openers: nearly every document passes on this count alone.
    let openers = text.bytes().filter(|&b| b == b'{' || b == b'[').count();
    if openers <= max_depth {
        return None;
    }
    let (mut depth, mut line, mut line_start) = (0usize, 0usize, 0usize);
    for (i, b) in outside_strings(text) {
        match b {
            b'\n' => {
                line += 1;
                line_start = i + 1;
            }
            b'{' | b'[' => {
                depth += 1;
                if depth > max_depth {
                    return Some((line, i - line_start + 1));
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    None
}

/// The message for a document nested deeper than `max_depth` at `line`, `column`.
fn depth_error(max_depth: usize, line: usize, column: usize) -> String {
    format!(
        "JSON nested deeper than the limit of {max_depth} (max_depth) at line {line}, column {column}"
    )
}

/// Refuses a whole body (one document, or an array of them when `array`) nested deeper than
/// `max_depth`.
fn check_body_depth(text: &str, max_depth: usize, array: bool) -> Result<(), BodyError> {
    // The array around the documents is not part of them.
    let limit = if array {
        max_depth.saturating_add(1)
    } else {
        max_depth
    };
    match too_deep(text, limit) {
        Some((line, column)) => Err(BodyError {
            message: depth_error(max_depth, line + 1, column),
            line: Some(line + 1),
        }),
        None => Ok(()),
    }
}

/// The nesting depth of a parsed value (a scalar is 0, `{}` and `[]` are 1).
pub fn value_depth(v: &Value) -> usize {
    match v {
        Value::Object(m) => 1 + m.values().map(value_depth).max().unwrap_or(0),
        Value::Array(a) => 1 + a.iter().map(value_depth).max().unwrap_or(0),
        _ => 0,
    }
}

/// The error for a parsed document of `line` nested deeper than `max_depth`, if it is.
pub fn check_value_depth(v: &Value, max_depth: usize, line: usize) -> Option<ItemError> {
    let depth = value_depth(v);
    (depth > max_depth).then(|| ItemError {
        line,
        message: format!(
            "line {line}: JSON nested {depth} deep, more than the limit of {max_depth} (max_depth)"
        ),
        reason: "too_deep",
    })
}

fn json_error(e: &serde_json::Error, first_line: usize) -> String {
    let line = first_line + e.line().saturating_sub(1);
    format!("invalid JSON at line {line}, column {}: {e}", e.column())
        .replace(&format!(" at line {} column {}", e.line(), e.column()), "")
}

/// Parses the body of `POST /events`: exactly one JSON object, nested at most `max_depth` deep.
pub fn parse_single(body: &[u8], max_depth: usize) -> Result<Value, BodyError> {
    let text = utf8(body)?;
    if text.trim().is_empty() {
        return Err(BodyError {
            message: "empty body: expected a JSON object".into(),
            line: None,
        });
    }
    check_body_depth(text, max_depth, false)?;
    match serde_json::from_str::<Value>(text) {
        Ok(v @ Value::Object(_)) => Ok(v),
        Ok(Value::Array(_)) => Err(BodyError {
            message: "expected one JSON object, got an array (send many events to /_bulk)".into(),
            line: Some(1),
        }),
        Ok(_) => Err(BodyError {
            message: "expected a JSON object".into(),
            line: Some(1),
        }),
        Err(e) => Err(BodyError {
            message: json_error(&e, 1),
            line: Some(e.line()),
        }),
    }
}

/// Parses the body of `POST /_bulk` (and `/cef`, `/nxlog`): an Elasticsearch bulk body, a JSON
/// array, NDJSON, or a single object. Blank lines are skipped. Documents nested deeper than
/// `max_depth` are refused: a line alone, an array whole.
pub fn parse_bulk(body: &[u8], max_depth: usize) -> Result<ParsedBody, BodyError> {
    parse_bulk_as::<Value>(body, max_depth)
}

/// [`parse_bulk`], with the documents parsed as `D`.
pub fn parse_bulk_as<D: BodyDoc>(
    body: &[u8],
    max_depth: usize,
) -> Result<ParsedBody<D>, BodyError> {
    let text = utf8(body)?;
    let trimmed = text.trim_start();
    if trimmed.starts_with('[') {
        let first_line = text.len() - trimmed.len();
        let first_line = text[..first_line].matches('\n').count() + 1;
        check_body_depth(text, max_depth, true)?;
        return match serde_json::from_str::<Vec<D>>(text) {
            Ok(docs) => Ok(array_items(text, docs, first_line)),
            Err(e) => Err(BodyError {
                message: json_error(&e, 1),
                line: Some(e.line()),
            }),
        };
    }
    let mut out = ParsedBody::default();
    // Set after an `index`/`create` action line: the next line is its document.
    let mut expecting_doc: Option<usize> = None;
    let mut lines = text.split('\n').enumerate().peekable();
    while let Some((i, line)) = lines.next() {
        let n = i + 1;
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if let Some((_, column)) = too_deep(line, max_depth) {
            expecting_doc = None;
            out.errors.push(ItemError {
                line: n,
                message: depth_error(max_depth, n, column),
                reason: "too_deep",
            });
            continue;
        }
        match serde_json::from_str::<D>(line) {
            Ok(v) => {
                if expecting_doc.take().is_some() {
                    push_doc(&mut out, n, v);
                    continue;
                }
                match v.bulk_action() {
                    Some("index") | Some("create") => expecting_doc = Some(n),
                    Some(action) => {
                        out.errors.push(ItemError {
                            line: n,
                            message: format!(
                                "unsupported bulk action '{action}' at line {n}: ferrodef only adds events (index, create)"
                            ),
                            reason: "invalid_json",
                        });
                        // `update` carries a document line: skip it with its action.
                        if action == "update" {
                            lines.next();
                        }
                    }
                    None => push_doc(&mut out, n, v),
                }
            }
            Err(e) => {
                expecting_doc = None;
                out.errors.push(ItemError {
                    line: n,
                    message: json_error(&e, n),
                    reason: "invalid_json",
                });
            }
        }
    }
    if let Some(n) = expecting_doc {
        out.errors.push(ItemError {
            line: n,
            message: format!("bulk action at line {n} has no document line after it"),
            reason: "invalid_json",
        });
    }
    Ok(out)
}

fn push_doc<D: BodyDoc>(out: &mut ParsedBody<D>, line: usize, v: D) {
    if v.is_object() {
        out.items.push(BodyItem { line, doc: v });
    } else {
        out.errors.push(ItemError {
            line,
            message: format!("line {line}: an event must be a JSON object"),
            reason: "invalid_json",
        });
    }
}

/// Items of a JSON array, with the line where each element starts (elements of a
/// pretty-printed array span lines).
fn array_items<D: BodyDoc>(text: &str, docs: Vec<D>, first_line: usize) -> ParsedBody<D> {
    let starts = element_lines(text, first_line);
    let mut out = ParsedBody::default();
    for (i, doc) in docs.into_iter().enumerate() {
        let line = starts.get(i).copied().unwrap_or(first_line);
        push_doc(&mut out, line, doc);
    }
    out
}

/// The line at which each top-level element of a JSON array starts.
fn element_lines(text: &str, mut line: usize) -> Vec<usize> {
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut want = false;
    for (_, b) in outside_strings(text) {
        if b == b'\n' {
            line += 1;
        }
        match b {
            b'[' | b'{' => {
                if depth == 1 && want {
                    out.push(line);
                    want = false;
                }
                if depth == 0 {
                    want = true;
                }
                depth += 1;
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            b',' if depth == 1 => want = true,
            b' ' | b'\t' | b'\r' | b'\n' => {}
            _ => {
                if depth == 1 && want {
                    out.push(line);
                    want = false;
                }
            }
        }
    }
    out
}

/// The bytes of `text` outside JSON strings (with each string's opening quote) and every line
/// feed wherever it is, with their offsets: what the scans for nesting and for the lines of
/// array elements look at. The text need not be valid JSON.
fn outside_strings(text: &str) -> impl Iterator<Item = (usize, u8)> + '_ {
    let (mut in_str, mut escaped) = (false, false);
    text.bytes().enumerate().filter(move |&(_, b)| {
        if in_str {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_str = false;
            }
            return b == b'\n';
        }
        if b == b'"' {
            in_str = true;
        }
        true
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn single() {
        assert_eq!(parse_single(b" {\"a\":1} ", 64).unwrap(), json!({"a": 1}));
        let e = parse_single(b"{\"a\":1,\n \"b\" }", 64).unwrap_err();
        assert!(e.message.contains("line 2"), "{e}");
        assert!(parse_single(b"[1]", 64)
            .unwrap_err()
            .message
            .contains("/_bulk"));
        assert!(parse_single(b"", 64).is_err());
        assert!(parse_single(b"42", 64).is_err());
        let e = parse_single(b"{\"a\":\"\xff\"}", 64).unwrap_err();
        assert!(e.message.contains("UTF-8 at byte 6"), "{e}");
    }

    #[test]
    fn elasticsearch_bulk() {
        let body = b"{\"index\":{\"_index\":\"events\",\"_type\":\"event\"}}\n{\"summary\":\"a\"}\n{\"create\":{}}\n{\"summary\":\"b\"}\n";
        let p = parse_bulk(body, 64).unwrap();
        assert_eq!(p.items.len(), 2);
        assert_eq!((p.items[0].line, p.items[1].line), (2, 4));
        assert!(p.errors.is_empty());
    }

    #[test]
    fn unsupported_actions_are_reported_by_line() {
        let body = b"{\"delete\":{\"_id\":\"1\"}}\n{\"update\":{\"_id\":\"1\"}}\n{\"doc\":{}}\n{\"index\":{}}\n{\"summary\":\"kept\"}\n";
        let p = parse_bulk(body, 64).unwrap();
        assert_eq!(p.items.len(), 1);
        assert_eq!(p.items[0].line, 5);
        let lines: Vec<_> = p.errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, vec![1, 2]);
        assert!(p.errors[0].message.contains("'delete' at line 1"));
    }

    #[test]
    fn ndjson_with_bad_lines() {
        let p = parse_bulk(b"{\"a\":1}\n\n{bad\n[1]\n{\"a\":2}\r\n", 64).unwrap();
        assert_eq!(
            p.items.iter().map(|i| i.line).collect::<Vec<_>>(),
            vec![1, 5]
        );
        assert_eq!(
            p.errors.iter().map(|e| e.line).collect::<Vec<_>>(),
            vec![3, 4]
        );
        assert!(
            p.errors[0]
                .message
                .starts_with("invalid JSON at line 3, column"),
            "{}",
            p.errors[0].message
        );
        let p = parse_bulk(b"{\"index\":{}}\n", 64).unwrap();
        assert_eq!(p.errors[0].line, 1);
    }

    #[test]
    fn arrays_keep_element_lines() {
        let p = parse_bulk(
            b"[\n  {\"a\": 1},\n  {\"a\": [2, 3],\n   \"b\": \"x,{\"},\n  7\n]",
            64,
        )
        .unwrap();
        assert_eq!(
            p.items.iter().map(|i| i.line).collect::<Vec<_>>(),
            vec![2, 3]
        );
        assert_eq!(p.errors.iter().map(|e| e.line).collect::<Vec<_>>(), vec![5]);
        let e = parse_bulk(b"[{\"a\":1},\n{oops}]", 64).unwrap_err();
        assert!(e.message.contains("line 2"), "{e}");
    }

    #[test]
    fn incoming_documents_parse_as_values() {
        for body in [
            &b"{\"index\":{}}\n{\"summary\":\"a\",\"details\":{\"x\":1,\"x\":2}}\n{\"delete\":{}}\n"[..],
            b"{\"a\":1}\n\n{bad\n[1]\n{\"a\":2,\"a\":3}\r\n\"x\"\n",
            b"[\n  {\"a\": 1},\n  {\"details\": [2, 3],\n   \"b\": \"x,{\"},\n  7\n]",
            b"{\"update\":{}}\n{\"doc\":{}}\n{\"index\":{}}",
            b"[{\"a\":1},\n{oops}]",
        ] {
            let by_value = parse_bulk(body, 64);
            let by_incoming = parse_bulk_as::<Incoming>(body, 64);
            let (v, i) = match (by_value, by_incoming) {
                (Ok(v), Ok(i)) => (v, i),
                (Err(a), Err(b)) => {
                    assert_eq!(a, b);
                    continue;
                }
                (a, b) => panic!("{a:?} vs {b:?}"),
            };
            assert_eq!(v.errors, i.errors);
            assert_eq!(v.items.len(), i.items.len());
            for (a, b) in v.items.into_iter().zip(i.items) {
                assert_eq!(a.line, b.line);
                let Incoming::Object(fields) = b.doc else {
                    panic!("objects only")
                };
                let b: serde_json::Map<String, Value> =
                    fields.into_iter().map(|(k, f)| (k, f.into_value())).collect();
                assert_eq!(a.doc, Value::Object(b));
            }
        }
    }

    /// `{"a":{"a":...}}` nested `n` deep.
    fn nested(n: usize) -> String {
        "{\"a\":".repeat(n) + "1" + &"}".repeat(n)
    }

    #[test]
    fn documents_nested_deeper_than_the_limit_are_refused_where_they_pass_it() {
        // NDJSON: the deep line alone, named with its line and the column of the opener.
        let body = format!("{}\n{}\n{{\"b\":\"{{{{[[[[\"}}\n", nested(3), nested(4));
        let p = parse_bulk(body.as_bytes(), 3).unwrap();
        assert_eq!(
            p.items.iter().map(|i| i.line).collect::<Vec<_>>(),
            vec![1, 3],
            "brackets in strings do not count"
        );
        assert_eq!(p.errors.len(), 1);
        assert_eq!(p.errors[0].line, 2);
        assert_eq!(
            p.errors[0].message,
            "JSON nested deeper than the limit of 3 (max_depth) at line 2, column 16"
        );
        let i = parse_bulk_as::<Incoming>(body.as_bytes(), 3).unwrap();
        assert_eq!(i.errors, p.errors);
        // A single object, and an array (the array itself does not count), whole.
        assert!(parse_single(nested(3).as_bytes(), 3).is_ok());
        let e = parse_single(nested(4).as_bytes(), 3).unwrap_err();
        assert_eq!(e.line, Some(1));
        assert!(
            e.message
                .contains("limit of 3 (max_depth) at line 1, column 16"),
            "{e}"
        );
        let ok = format!("[\n{},\n{}\n]", nested(3), nested(3));
        assert_eq!(parse_bulk(ok.as_bytes(), 3).unwrap().items.len(), 2);
        let deep = format!("[\n{},\n{}\n]", nested(3), nested(4));
        let e = parse_bulk(deep.as_bytes(), 3).unwrap_err();
        assert_eq!(e.line, Some(3));
        assert!(
            e.message.contains("(max_depth) at line 3, column 16"),
            "{e}"
        );
        // Deeper than serde_json's own limit (128): still named as this limit.
        let e = parse_single(nested(500).as_bytes(), 64).unwrap_err();
        assert!(e.message.contains("limit of 64 (max_depth)"), "{e}");
    }

    #[test]
    fn depth_of_parsed_values() {
        assert_eq!(value_depth(&json!(1)), 0);
        assert_eq!(value_depth(&json!({"a": [1, {"b": {}}]})), 4);
        let e = check_value_depth(&json!({"a": {"b": 1}}), 1, 7).unwrap();
        assert_eq!(e.line, 7);
        assert!(
            e.message
                .contains("line 7: JSON nested 2 deep, more than the limit of 1 (max_depth)"),
            "{}",
            e.message
        );
        assert!(check_value_depth(&json!({"a": 1}), 1, 7).is_none());
    }

    #[test]
    fn never_more_results_than_lines() {
        for body in [
            &b"\n\n"[..],
            b"{}",
            b"[]",
            b"{\"index\":{}}\n{\"index\":{}}",
            b"\"x\"\n1\nnull",
        ] {
            let p = parse_bulk(body, 64).unwrap();
            let lines = body.split(|&b| b == b'\n').count();
            assert!(p.items.len() + p.errors.len() <= lines);
        }
    }
}
