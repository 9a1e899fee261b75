//! The parameters of a search or an aggregation as clients give them (`/api/search` and
//! `/api/aggregate` query strings, `ferrodef search` flags), read and checked in one place.

use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::{AggRequest, Budget, SearchRequest, SortOrder, EVENTS_STREAM};

/// Most hits one search returns.
pub const MAX_SEARCH_SIZE: usize = 10_000;
/// Hits returned when `size` is not given.
pub const DEFAULT_SEARCH_SIZE: usize = 100;
/// Top values returned when `size` is not given to an aggregation.
pub const DEFAULT_TERMS_SIZE: usize = 10;

/// Search and aggregation parameters, as strings, as the client sent them.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct SearchParams {
    /// The query (empty: everything).
    #[serde(default)]
    pub q: String,
    /// Lower time bound (RFC 3339 or relative such as `now-15m`).
    pub from: Option<String>,
    /// Upper time bound.
    pub to: Option<String>,
    /// Number of hits (search: default 100, at most 10000) or of top values (aggregation:
    /// default 10).
    pub size: Option<String>,
    /// `utctimestamp:desc` (default), `utctimestamp:asc`, `receivedtimestamp:desc`...
    pub sort: Option<String>,
    /// Stream (default `events`).
    pub stream: Option<String>,
    /// Field whose top values an aggregation counts.
    pub terms: Option<String>,
    /// Date histogram interval of an aggregation (`1m`, `1h`, `1d`...).
    pub interval: Option<String>,
}

/// The time bounds `from` and `to`.
pub type TimeBounds = (Option<DateTime<Utc>>, Option<DateTime<Utc>>);

/// A parameter that is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamError {
    /// The parameter (`q`, `from`, `size`...).
    pub param: &'static str,
    /// What is wrong.
    pub message: String,
    /// For `q`: the byte offset of the problem in the query.
    pub position: Option<usize>,
}

impl std::fmt::Display for ParamError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ParamError {}

fn bad(param: &'static str, message: String) -> ParamError {
    ParamError {
        param,
        message,
        position: None,
    }
}

/// A parameter's value, `None` when absent or blank.
fn given(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

impl SearchParams {
    /// The parsed query.
    pub fn query(&self) -> Result<ferrodef_query::Expr, ParamError> {
        ferrodef_query::parse(&self.q).map_err(|e| ParamError {
            param: "q",
            message: format!("query syntax error: {e}"),
            position: Some(e.offset),
        })
    }

    /// `from` and `to`, read with `now` for relative times.
    pub fn times(&self, now: DateTime<Utc>) -> Result<TimeBounds, ParamError> {
        let time = |name: &'static str, v: &Option<String>| {
            given(v)
                .map(|s| {
                    ferrodef_query::parse_time(s, now).map_err(|e| {
                        bad(
                            name,
                            format!(
                                "parameter '{name}': '{s}' is not a usable time ({e}); use RFC \
                                 3339 or now-15m"
                            ),
                        )
                    })
                })
                .transpose()
        };
        let (from, to) = (time("from", &self.from)?, time("to", &self.to)?);
        if let (Some(f), Some(t)) = (from, to) {
            if f > t {
                return Err(bad(
                    "from",
                    format!("parameter 'from' ({f}) is after 'to' ({t})"),
                ));
            }
        }
        Ok((from, to))
    }

    /// `size`, between `min` and `max`, `default` when absent.
    pub fn size(&self, default: usize, min: usize, max: usize) -> Result<usize, ParamError> {
        let Some(s) = given(&self.size) else {
            return Ok(default);
        };
        match s.parse::<usize>() {
            Ok(n) if (min..=max).contains(&n) => Ok(n),
            Ok(_) | Err(_) if s.bytes().all(|b| b.is_ascii_digit()) => Err(bad(
                "size",
                format!("parameter 'size': {s} is out of range ({min} to {max}, the limit)"),
            )),
            _ => Err(bad(
                "size",
                format!("parameter 'size': '{s}' is not a number"),
            )),
        }
    }

    /// `sort`: the field and the direction.
    pub fn sort(&self) -> Result<(String, SortOrder), ParamError> {
        let Some(sort) = given(&self.sort) else {
            return Ok(("utctimestamp".into(), SortOrder::Desc));
        };
        let (field, dir) = sort.split_once(':').unwrap_or((sort, "desc"));
        let order = match dir {
            "desc" => SortOrder::Desc,
            "asc" => SortOrder::Asc,
            _ => {
                return Err(bad(
                    "sort",
                    format!("parameter 'sort': '{dir}' is not asc or desc"),
                ))
            }
        };
        if field != "utctimestamp" && field != "receivedtimestamp" {
            return Err(bad(
                "sort",
                format!("parameter 'sort': cannot sort on '{field}'; sort on utctimestamp or receivedtimestamp"),
            ));
        }
        Ok((field.to_string(), order))
    }

    fn stream(&self) -> Result<String, ParamError> {
        let stream = given(&self.stream).unwrap_or(EVENTS_STREAM);
        if !ferrodef_event::is_valid_stream_name(stream) {
            return Err(bad(
                "stream",
                format!(
                    "parameter 'stream': '{stream}' is not a stream name (1 to {} of a-z, 0-9, '-', '_'; e.g. events, alerts, custom-<app>)",
                    ferrodef_event::MAX_STREAM_NAME
                ),
            ));
        }
        Ok(stream.to_string())
    }

    /// The search these parameters ask for.
    pub fn search_request(
        &self,
        now: DateTime<Utc>,
        budget: Budget,
    ) -> Result<SearchRequest, ParamError> {
        let query = self.query()?;
        let (from, to) = self.times(now)?;
        let (sort_field, order) = self.sort()?;
        Ok(SearchRequest {
            stream: self.stream()?,
            query,
            from,
            to,
            // 0: only the total.
            size: self.size(DEFAULT_SEARCH_SIZE, 0, MAX_SEARCH_SIZE)?,
            sort_field,
            order,
            now,
            budget,
        })
    }

    /// The aggregation these parameters ask for.
    pub fn agg_request(
        &self,
        now: DateTime<Utc>,
        budget: Budget,
    ) -> Result<AggRequest, ParamError> {
        let query = self.query()?;
        let (from, to) = self.times(now)?;
        let interval = given(&self.interval).map(str::to_string);
        if let Some(i) = &interval {
            crate::tantivy_store::parse_interval(i).map_err(|e| bad("interval", e.to_string()))?;
        }
        Ok(AggRequest {
            stream: self.stream()?,
            query,
            from,
            to,
            terms: given(&self.terms).map(str::to_string),
            size: self.size(DEFAULT_TERMS_SIZE, 1, crate::tantivy_store::MAX_TERMS_SIZE)?,
            interval,
            now,
            budget,
        })
    }

    /// The parameters as query-string pairs (those that are set), to send them to a server.
    pub fn to_pairs(&self) -> Vec<(&'static str, String)> {
        let mut out = vec![("q", self.q.clone())];
        let opts = [
            ("from", &self.from),
            ("to", &self.to),
            ("size", &self.size),
            ("sort", &self.sort),
            ("stream", &self.stream),
            ("terms", &self.terms),
            ("interval", &self.interval),
        ];
        out.extend(
            opts.into_iter()
                .filter_map(|(k, v)| v.as_ref().map(|v| (k, v.clone()))),
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(pairs: &[(&str, &str)]) -> SearchParams {
        let mut p = SearchParams::default();
        for (k, v) in pairs {
            let v = v.to_string();
            match *k {
                "q" => p.q = v,
                "from" => p.from = Some(v),
                "to" => p.to = Some(v),
                "size" => p.size = Some(v),
                "sort" => p.sort = Some(v),
                "interval" => p.interval = Some(v),
                "terms" => p.terms = Some(v),
                "stream" => p.stream = Some(v),
                _ => panic!("{k}"),
            }
        }
        p
    }

    fn err(pairs: &[(&str, &str)]) -> ParamError {
        let now = Utc::now();
        let params = p(pairs);
        let a = params.search_request(now, Budget::default()).err();
        let b = params.agg_request(now, Budget::default()).err();
        a.or(b).expect("an error")
    }

    #[test]
    fn defaults() {
        let r = p(&[])
            .search_request(Utc::now(), Budget::default())
            .unwrap();
        assert_eq!(r.size, DEFAULT_SEARCH_SIZE);
        assert_eq!(r.sort_field, "utctimestamp");
        assert_eq!(r.order, SortOrder::Desc);
        assert_eq!(r.stream, "events");
        let a = p(&[]).agg_request(Utc::now(), Budget::default()).unwrap();
        assert_eq!(a.size, DEFAULT_TERMS_SIZE);
    }

    #[test]
    fn times_that_overflow_are_refused_by_name() {
        for v in [
            "now-264170y",
            "now+99999999d",
            "now-300000y",
            "-262143-01-01",
        ] {
            let e = err(&[("from", v)]);
            assert_eq!(e.param, "from", "{v}: {e}");
            assert!(e.message.contains("from"), "{e}");
        }
        let e = err(&[("to", "now+99999999999999999999d")]);
        assert_eq!(e.param, "to", "{e}");
        let e = err(&[("from", "now"), ("to", "now-1d")]);
        assert!(e.message.contains("after"), "{e}");
    }

    #[test]
    fn stream_names_that_cannot_be_streams_are_refused() {
        for v in ["../../etc", "Events", "a/b", &"x".repeat(101)] {
            let e = err(&[("stream", v)]);
            assert_eq!(e.param, "stream", "{v}: {e}");
            assert!(e.message.contains("is not a stream name"), "{e}");
        }
        let r = p(&[("stream", "custom-app_1")])
            .search_request(Utc::now(), Budget::default())
            .unwrap();
        assert_eq!(r.stream, "custom-app_1");
    }

    #[test]
    fn sizes_and_intervals_out_of_range_name_the_limit() {
        let e = err(&[("size", "99999999999999999999999")]);
        assert!(e.message.contains("limit"), "{e}");
        let e = err(&[("size", "10001")]);
        assert!(e.message.contains("10000"), "{e}");
        let e = err(&[("size", "0")]);
        assert_eq!(
            e.param, "size",
            "a terms aggregation returns at least one value"
        );
        let zero = p(&[("size", "0")]).search_request(Utc::now(), Budget::default());
        assert_eq!(zero.unwrap().size, 0, "a search may ask for the total only");
        let e = err(&[("size", "ten")]);
        assert!(e.message.contains("not a number"), "{e}");
        let e = err(&[("interval", "99999999999999999999d")]);
        assert_eq!(e.param, "interval", "{e}");
        let e = err(&[("interval", "0s")]);
        assert_eq!(e.param, "interval", "{e}");
        // Longer than the store can count (it was a store error, a 500).
        let e = err(&[("interval", "53350304h")]);
        assert_eq!(e.param, "interval", "{e}");
        assert!(e.message.contains("at most 36500d"), "{e}");
        let ok = p(&[("interval", "36500d")]).agg_request(Utc::now(), Budget::default());
        assert!(ok.is_ok(), "{:?}", ok.err());
    }

    #[test]
    fn query_errors_carry_the_position() {
        let e = err(&[("q", "hostname:")]);
        assert_eq!((e.param, e.position), ("q", Some(9)));
        let e = err(&[("sort", "hostname:asc")]);
        assert_eq!(e.param, "sort");
    }

    #[test]
    fn pairs_round_trip() {
        let params = p(&[("q", "a"), ("size", "5"), ("interval", "1h")]);
        assert_eq!(
            params.to_pairs(),
            vec![
                ("q", "a".to_string()),
                ("size", "5".to_string()),
                ("interval", "1h".to_string())
            ]
        );
    }
}
