//! Translation of the ferrodef query language into tantivy queries.
//!
//! Field resolution (see `schema.rs`): no field or `summary` → the analysed `summary` text;
//! `utctimestamp`/`receivedtimestamp` → date fields; `timestamp` → its date field and, for
//! values that are not dates (and partitions without the field), its path in `f`;
//! `details.sourceipaddress` and
//! `details.destinationipaddress` → IP fields (with the raw string kept in the JSON field for
//! wildcards); everything else → a path in the JSON field `f` (exact keyword semantics, and
//! numbers/dates/booleans when the value reads as one).

use std::net::{IpAddr, Ipv6Addr};
use std::ops::Bound;

use chrono::{DateTime, Utc};
use ferrodef_event::IP_FIELDS;
use ferrodef_query::Expr;
use tantivy::query::{
    AllQuery, BooleanQuery, EmptyQuery, ExistsQuery, Occur, PhraseQuery, Query, RangeQuery,
    RegexQuery, TermQuery, TermSetQuery,
};
use tantivy::schema::DateTimePrecision;
use tantivy::schema::{Field, IndexRecordOption, Term};
use tantivy::tokenizer::{TextAnalyzer, TokenizerManager};

use super::guard::LimitedRegexQuery;
use super::schema::{Fields, JSON_FIELD};
use crate::{Budget, StoreError};

/// How a field of the query language maps onto the schema.
enum Target<'a> {
    Summary,
    Date(Field, &'a str),
    /// A date field whose values that are not dates are in the JSON field under the same name.
    DateOrJson(Field, &'a str),
    Ip(Field, &'a str),
    Json(&'a str),
}

/// Translates query-language expressions for one schema.
pub struct Translator<'a> {
    fields: &'a Fields,
    analyzer: TextAnalyzer,
    now: DateTime<Utc>,
    budget: Budget,
}

fn bad(msg: impl Into<String>) -> StoreError {
    StoreError::BadRequest(msg.into())
}

impl<'a> Translator<'a> {
    /// A translator; `now` anchors relative times such as `now-15m`; `budget` bounds the
    /// expansion of wildcards and regular expressions.
    pub fn new(fields: &'a Fields, now: DateTime<Utc>, budget: Budget) -> Translator<'a> {
        let analyzer = TokenizerManager::default()
            .get("default")
            .unwrap_or_else(|| TextAnalyzer::from(tantivy::tokenizer::SimpleTokenizer::default()));
        Translator {
            fields,
            analyzer,
            now,
            budget,
        }
    }

    fn target<'n>(&self, field: Option<&'n str>) -> Target<'n> {
        match field {
            None | Some("summary") => Target::Summary,
            Some(name @ "utctimestamp") => Target::Date(self.fields.utctimestamp, name),
            Some(name @ "receivedtimestamp") => Target::Date(self.fields.receivedtimestamp, name),
            Some(name @ "timestamp") => match self.fields.timestamp {
                Some(f) => Target::DateOrJson(f, name),
                None => Target::Json(name),
            },
            Some(name) => match self.fields.ip_field(name) {
                Some(f) => Target::Ip(f, name),
                None => Target::Json(name),
            },
        }
    }

    /// Translates an expression.
    pub fn translate(&mut self, e: &Expr) -> Result<Box<dyn Query>, StoreError> {
        Ok(match e {
            Expr::MatchAll => Box::new(AllQuery),
            Expr::And(items) => {
                let mut clauses = Vec::with_capacity(items.len() + 1);
                let mut positive = false;
                for item in items {
                    if let Expr::Not(inner) = item {
                        clauses.push((Occur::MustNot, self.translate(inner)?));
                    } else {
                        positive = true;
                        clauses.push((Occur::Must, self.translate(item)?));
                    }
                }
                if !positive {
                    clauses.push((Occur::Must, Box::new(AllQuery)));
                }
                Box::new(BooleanQuery::new(clauses))
            }
            Expr::Or(items) => {
                let mut clauses = Vec::with_capacity(items.len());
                for item in items {
                    clauses.push((Occur::Should, self.translate(item)?));
                }
                Box::new(BooleanQuery::new(clauses))
            }
            Expr::Not(inner) => Box::new(BooleanQuery::new(vec![
                (Occur::Must, Box::new(AllQuery) as Box<dyn Query>),
                (Occur::MustNot, self.translate(inner)?),
            ])),
            Expr::Term { field, value } => self.term(field.as_deref(), value)?,
            Expr::Phrase { field, text } => match self.target(field.as_deref()) {
                Target::Summary => self.summary_phrase(text),
                _ => self.term(field.as_deref(), text)?,
            },
            Expr::Wildcard { field, pattern } => {
                let body = ferrodef_query::wildcard_to_regex(pattern);
                self.regex(field.as_deref(), &body, true)?
            }
            Expr::Regex { field, pattern } => self.regex(Some(field), pattern, false)?,
            Expr::Range {
                field,
                lower,
                upper,
            } => self.range(field, lower, upper)?,
            Expr::Exists { field } => self.exists(field)?,
            Expr::Cidr { field, net } => match self.target(Some(field)) {
                Target::Ip(f, _) => {
                    let lo = to_v6(net.network());
                    let hi = to_v6(net.broadcast());
                    Box::new(RangeQuery::new(
                        Bound::Included(Term::from_field_ip_addr(f, lo)),
                        Bound::Included(Term::from_field_ip_addr(f, hi)),
                    ))
                }
                _ => {
                    let ip_fields: Vec<&str> = IP_FIELDS.iter().map(|f| f.path).collect();
                    return Err(bad(format!(
                        "CIDR match {net} needs an IP field ({}); '{field}' is not one",
                        ip_fields.join(", ")
                    )));
                }
            },
        })
    }

    fn summary_tokens(&mut self, text: &str) -> Vec<String> {
        let mut stream = self.analyzer.token_stream(text);
        let mut out = Vec::new();
        while stream.advance() {
            out.push(stream.token().text.clone());
        }
        out
    }

    fn summary_phrase(&mut self, text: &str) -> Box<dyn Query> {
        let f = self.fields.summary;
        let words = self.summary_tokens(text);
        let mut terms: Vec<Term> = words.iter().map(|t| Term::from_field_text(f, t)).collect();
        let pairs = self.fields.summary_pairs;
        match (terms.len(), pairs) {
            (0, _) => Box::new(EmptyQuery),
            (1, _) => Box::new(TermQuery::new(
                terms.remove(0),
                IndexRecordOption::WithFreqs,
            )),
            (_, None) => Box::new(PhraseQuery::new(terms)),
            (n, Some(pf)) => {
                // Word pairs (see `pairs.rs`): two words are one pair term; more need every
                // pair and, on the documents holding them all, the positions.
                let mut clauses: Vec<(Occur, Box<dyn Query>)> = words
                    .windows(2)
                    .map(|w| {
                        let t = Term::from_field_text(pf, &super::pairs::pair(&w[0], &w[1]));
                        let q: Box<dyn Query> =
                            Box::new(TermQuery::new(t, IndexRecordOption::Basic));
                        (Occur::Must, q)
                    })
                    .collect();
                if n == 2 {
                    return clauses.remove(0).1;
                }
                clauses.push((Occur::Must, Box::new(PhraseQuery::new(terms))));
                Box::new(BooleanQuery::new(clauses))
            }
        }
    }

    fn json_term(&self, path: &str) -> Term {
        Term::from_field_json_path(self.fields.json, path, false)
    }

    /// Every typed term a keyword value can stand for in the JSON field.
    fn json_value_terms(&self, path: &str, value: &str) -> Vec<Term> {
        let mut terms = Vec::with_capacity(3);
        let mut t = self.json_term(path);
        t.append_type_and_str(value);
        terms.push(t);
        if let Ok(i) = value.parse::<i64>() {
            let mut t = self.json_term(path);
            t.append_type_and_fast_value(i);
            terms.push(t);
        } else if let Ok(u) = value.parse::<u64>() {
            let mut t = self.json_term(path);
            t.append_type_and_fast_value(u);
            terms.push(t);
        }
        if let Ok(fl) = value.parse::<f64>() {
            if fl.is_finite() && value.bytes().any(|b| b.is_ascii_digit()) {
                let mut t = self.json_term(path);
                t.append_type_and_fast_value(fl);
                terms.push(t);
            }
        }
        match value {
            "true" | "false" => {
                let mut t = self.json_term(path);
                t.append_type_and_fast_value(value == "true");
                terms.push(t);
            }
            _ => {}
        }
        if value.as_bytes().first().is_some_and(u8::is_ascii_digit) {
            if let Ok(dt) = DateTime::parse_from_rfc3339(value) {
                let mut t = self.json_term(path);
                t.append_type_and_fast_value(
                    to_tantivy_date(dt.with_timezone(&Utc)).truncate(DateTimePrecision::Seconds),
                );
                terms.push(t);
            }
        }
        terms
    }

    fn term(&mut self, field: Option<&str>, value: &str) -> Result<Box<dyn Query>, StoreError> {
        Ok(match self.target(field) {
            Target::Summary => self.summary_phrase(value),
            Target::Date(f, name) => {
                let t = self.time(name, value)?;
                date_range(f, Bound::Included(t), Bound::Included(t))
            }
            Target::DateOrJson(f, name) => {
                let json = self.json_terms(name, value);
                match self.time(name, value) {
                    Ok(t) => either(date_range(f, Bound::Included(t), Bound::Included(t)), json),
                    Err(_) => json,
                }
            }
            Target::Ip(f, name) => match value.parse::<IpAddr>() {
                Ok(ip) => Box::new(TermQuery::new(
                    Term::from_field_ip_addr(f, to_v6(ip)),
                    IndexRecordOption::Basic,
                )),
                // Not an address: documents may still carry the raw string.
                Err(_) => self.json_terms(name, value),
            },
            Target::Json(path) => self.json_terms(path, value),
        })
    }

    fn json_terms(&self, path: &str, value: &str) -> Box<dyn Query> {
        let mut terms = self.json_value_terms(path, value);
        if terms.len() == 1 {
            Box::new(TermQuery::new(terms.remove(0), IndexRecordOption::Basic))
        } else {
            Box::new(TermSetQuery::new(terms))
        }
    }

    /// A regular expression over whole keyword values, or over the tokens of `summary`.
    fn regex(
        &mut self,
        field: Option<&str>,
        body: &str,
        from_wildcard: bool,
    ) -> Result<Box<dyn Query>, StoreError> {
        let name = field.unwrap_or("summary");
        let (f, pattern, prefix) = match self.target(field) {
            Target::Summary => {
                // Tokens are lower case; so is a wildcard pattern (as in Lucene).
                let body = if from_wildcard {
                    body.to_lowercase()
                } else {
                    body.to_string()
                };
                (self.fields.summary, body, None)
            }
            Target::Date(_, _) => {
                return Err(bad(format!(
                    "wildcards and regular expressions do not apply to the date field '{name}'"
                )))
            }
            Target::Ip(_, path) | Target::DateOrJson(_, path) | Target::Json(path) => {
                let mut t = self.json_term(path);
                t.append_type_and_str("");
                let prefix = t.serialized_value_bytes();
                let mut pattern = String::with_capacity(prefix.len() * 4 + body.len());
                for &b in prefix {
                    if b.is_ascii_alphanumeric() || b == b'_' {
                        pattern.push(b as char);
                    } else if b < 0x80 {
                        pattern.push_str(&format!("\\x{b:02x}"));
                    } else {
                        // Non-ASCII path bytes: escape the whole path as text instead.
                        return Err(bad(format!(
                            "field '{path}': wildcards on non-ASCII field names are not supported"
                        )));
                    }
                }
                pattern.push_str("(?:");
                pattern.push_str(body);
                pattern.push(')');
                (self.fields.json, pattern, Some(prefix.to_vec()))
            }
        };
        let what = format!("{name}:{body}");
        LimitedRegexQuery::new(f, &pattern, prefix, self.budget.clone(), what)
            .map(|q| Box::new(q) as Box<dyn Query>)
            .map_err(|e| bad(format!("field '{name}': invalid pattern: {e}")))
    }

    fn exists(&self, field: &str) -> Result<Box<dyn Query>, StoreError> {
        Ok(match self.target(Some(field)) {
            Target::Summary => Box::new(
                RegexQuery::from_pattern(".*", self.fields.summary)
                    .map_err(|e| bad(format!("_exists_:summary: {e}")))?,
            ),
            Target::Date(_, name) => Box::new(ExistsQuery::new(name.to_string(), false)),
            Target::DateOrJson(_, name) => either(
                Box::new(ExistsQuery::new(name.to_string(), false)),
                Box::new(ExistsQuery::new(format!("{JSON_FIELD}.{name}"), true)),
            ),
            Target::Ip(_, path) | Target::Json(path) => {
                Box::new(ExistsQuery::new(format!("{JSON_FIELD}.{path}"), true))
            }
        })
    }

    fn time(&self, field: &str, value: &str) -> Result<tantivy::DateTime, StoreError> {
        ferrodef_query::parse_time(value, self.now)
            .map(to_tantivy_date)
            .map_err(|e| bad(format!("field '{field}': '{value}' is not a time: {e}")))
    }

    fn range(
        &mut self,
        field: &str,
        lower: &Bound<String>,
        upper: &Bound<String>,
    ) -> Result<Box<dyn Query>, StoreError> {
        if matches!((lower, upper), (Bound::Unbounded, Bound::Unbounded)) {
            return self.exists(field);
        }
        let values: Vec<&str> = [lower, upper]
            .into_iter()
            .filter_map(|b| match b {
                Bound::Included(v) | Bound::Excluded(v) => Some(v.as_str()),
                Bound::Unbounded => None,
            })
            .collect();
        let (lo, hi) = match self.target(Some(field)) {
            Target::Summary => {
                return Err(bad(
                    "range queries do not apply to the text field 'summary'".to_string(),
                ))
            }
            Target::Date(f, name) => return self.time_range(f, name, lower, upper),
            Target::Ip(f, name) => {
                let mut conv = |v: &str| {
                    v.parse::<IpAddr>()
                        .map(|ip| Term::from_field_ip_addr(f, to_v6(ip)))
                        .map_err(|_| bad(format!("field '{name}': '{v}' is not an IP address")))
                };
                (map_bound(lower, &mut conv)?, map_bound(upper, &mut conv)?)
            }
            Target::DateOrJson(f, name) => {
                let (lo, hi) = self.json_range(name, lower, upper, &values)?;
                let json = Box::new(RangeQuery::new(lo, hi));
                if values
                    .iter()
                    .all(|v| ferrodef_query::parse_time(v, self.now).is_ok())
                {
                    return Ok(either(self.time_range(f, name, lower, upper)?, json));
                }
                return Ok(json);
            }
            Target::Json(path) => self.json_range(path, lower, upper, &values)?,
        };
        Ok(Box::new(RangeQuery::new(lo, hi)))
    }

    /// A range of times on the date field `f` (named `name` in errors).
    fn time_range(
        &self,
        f: Field,
        name: &str,
        lower: &Bound<String>,
        upper: &Bound<String>,
    ) -> Result<Box<dyn Query>, StoreError> {
        let mut conv = |v: &str| self.time(name, v);
        Ok(date_range(
            f,
            map_bound(lower, &mut conv)?,
            map_bound(upper, &mut conv)?,
        ))
    }

    /// The bounds of a range over a path of the JSON field: numbers when both bounds are
    /// numbers, dates when both are times, else strings.
    fn json_range(
        &self,
        path: &str,
        lower: &Bound<String>,
        upper: &Bound<String>,
        values: &[&str],
    ) -> Result<(Bound<Term>, Bound<Term>), StoreError> {
        Ok(if values.iter().all(|v| v.parse::<f64>().is_ok()) {
            let all_int = values.iter().all(|v| v.parse::<i64>().is_ok());
            let mut conv = |v: &str| {
                let mut t = self.json_term(path);
                if all_int {
                    t.append_type_and_fast_value(v.parse::<i64>().unwrap_or_default());
                } else {
                    t.append_type_and_fast_value(v.parse::<f64>().unwrap_or_default());
                }
                Ok(t)
            };
            (map_bound(lower, &mut conv)?, map_bound(upper, &mut conv)?)
        } else if values
            .iter()
            .all(|v| ferrodef_query::parse_time(v, self.now).is_ok())
        {
            let now = self.now;
            let mut conv = |v: &str| {
                let mut t = self.json_term(path);
                let dt = ferrodef_query::parse_time(v, now)
                    .map_err(|e| bad(format!("field '{path}': {e}")))?;
                t.append_type_and_fast_value(to_tantivy_date(dt));
                Ok(t)
            };
            (map_bound(lower, &mut conv)?, map_bound(upper, &mut conv)?)
        } else {
            let mut conv = |v: &str| {
                let mut t = self.json_term(path);
                t.append_type_and_str(v);
                Ok(t)
            };
            (map_bound(lower, &mut conv)?, map_bound(upper, &mut conv)?)
        })
    }
}

/// Documents matching either query.
fn either(a: Box<dyn Query>, b: Box<dyn Query>) -> Box<dyn Query> {
    Box::new(BooleanQuery::new(vec![
        (Occur::Should, a),
        (Occur::Should, b),
    ]))
}

/// A range of times on a date field.
fn date_range(
    f: Field,
    lo: Bound<tantivy::DateTime>,
    hi: Bound<tantivy::DateTime>,
) -> Box<dyn Query> {
    let term = |b: Bound<tantivy::DateTime>| b.map(|t| Term::from_field_date(f, t));
    Box::new(RangeQuery::new(term(lo), term(hi)))
}

/// A bound of a range, its value converted by `f`.
fn map_bound<T>(
    b: &Bound<String>,
    f: &mut dyn FnMut(&str) -> Result<T, StoreError>,
) -> Result<Bound<T>, StoreError> {
    Ok(match b {
        Bound::Included(v) => Bound::Included(f(v)?),
        Bound::Excluded(v) => Bound::Excluded(f(v)?),
        Bound::Unbounded => Bound::Unbounded,
    })
}

/// tantivy keeps every IP address as IPv6 (IPv4 mapped).
pub fn to_v6(ip: IpAddr) -> Ipv6Addr {
    match ip {
        IpAddr::V4(v4) => v4.to_ipv6_mapped(),
        IpAddr::V6(v6) => v6,
    }
}

/// A chrono time as a tantivy date.
pub fn to_tantivy_date(t: DateTime<Utc>) -> tantivy::DateTime {
    match t.timestamp_nanos_opt() {
        Some(n) => tantivy::DateTime::from_timestamp_nanos(n),
        // Beyond i64 nanoseconds (years before 1677 or after 2262): the nearest time tantivy
        // holds, as tantivy itself does for such times.
        None => tantivy::DateTime::from_timestamp_nanos(if t.timestamp() < 0 {
            i64::MIN
        } else {
            i64::MAX
        }),
    }
}
