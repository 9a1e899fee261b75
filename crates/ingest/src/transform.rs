//! The transform stage of the ingest service: a decoded document becomes a normalized MozDef
//! event (`transforms::normalize`, or `transforms::syslog` for raw messages), the configured
//! transforms run on it (ip fix-up, parsers, GeoIP, watchlists, drop rules, routing), events
//! dated too far in the future are re-dated, and oversized events are refused. The result is a
//! [`Pending`] document for the detect stage (`detect.rs`) and then the log, or nothing when a
//! transform dropped it.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use ferrodef_event::{format_timestamp, Event, Incoming};
use ferrodef_transforms::normalize::{normalize_incoming, NormalizeContext};
use ferrodef_transforms::pipeline::Pipeline;
use serde_json::Value;

use crate::metrics::RejectLabel;
use crate::record::Pending;
use crate::Metrics;

/// Tag of an event whose time was too far in the future (it is stored at its receive time).
pub const FUTURE_TAG: &str = "future_timestamp";
/// Where such an event's original time is kept.
pub const ORIGINAL_TIME_FIELD: &str = "originalutctimestamp";

/// The transform stage's settings and state.
pub(crate) struct Transformer {
    pub(crate) transforms: Arc<Pipeline>,
    pub(crate) mozdefhostname: String,
    pub(crate) default_tz: chrono_tz::Tz,
    /// Events dated later than this after their receive time are re-dated.
    pub(crate) future_skew: chrono::Duration,
    /// Most fields (details leaves included) an event may have.
    pub(crate) max_fields: usize,
    pub(crate) metrics: Arc<Metrics>,
}

/// What became of one document.
pub(crate) enum Transformed {
    /// Ready for the log.
    Doc(Pending),
    /// A transform dropped it on purpose (counted).
    Dropped,
}

impl Transformer {
    /// The normalization context of documents of `source` received at `now`.
    pub(crate) fn context(&self, source: &str, now: DateTime<Utc>) -> NormalizeContext {
        NormalizeContext {
            now,
            mozdefhostname: self.mozdefhostname.clone(),
            default_tz: self.default_tz,
            source: Some(source.to_string()),
        }
    }

    /// Normalizes a decoded JSON document and runs the transforms.
    pub(crate) fn document(
        &self,
        raw: Incoming,
        ctx: &NormalizeContext,
    ) -> Result<Transformed, String> {
        let ev = normalize_incoming(raw, ctx).map_err(|e| e.to_string())?;
        self.event(ev, ctx.source.as_deref().unwrap_or_default(), ctx.now)
    }

    /// Runs the transforms on a normalized event.
    pub(crate) fn event(
        &self,
        mut ev: Event,
        source: &str,
        now: DateTime<Utc>,
    ) -> Result<Transformed, String> {
        let fields = count_fields(&ev, self.max_fields);
        if fields > self.max_fields {
            return Err(format!(
                "the event has more than {} fields (details included), the limit per event",
                self.max_fields
            ));
        }
        self.redate_future(&mut ev, now);
        let verdict = self.transforms.run(&mut ev);
        if let Some((transform, _reason)) = verdict.dropped {
            self.metrics
                .dropped
                .get_or_create(&RejectLabel {
                    source: source.to_string(),
                    reason: transform,
                })
                .inc();
            return Ok(Transformed::Dropped);
        }
        let stream = verdict
            .stream
            .unwrap_or_else(|| ferrodef_store::EVENTS_STREAM.to_string());
        let (utc, received) = (ev.utctimestamp, ev.receivedtimestamp);
        Ok(Transformed::Doc(Pending::unsealed(
            stream, utc, received, ev,
        )))
    }

    /// An event dated beyond the allowed skew is stored at its receive time, its own time kept
    /// in `details.originalutctimestamp` and the tag `future_timestamp` (a wrong clock or a
    /// hostile sender must not create partitions years ahead, nor hide events from searches
    /// of the present).
    fn redate_future(&self, ev: &mut Event, now: DateTime<Utc>) {
        if ev.utctimestamp <= now + self.future_skew {
            return;
        }
        let original = format_timestamp(&ev.utctimestamp);
        ev.details
            .insert(ORIGINAL_TIME_FIELD, Value::String(original));
        ev.utctimestamp = ev.receivedtimestamp;
        if !ev.tags.iter().any(|t| t == FUTURE_TAG) {
            ev.tags.push(FUTURE_TAG.to_string());
        }
    }
}

/// The number of fields of an event: its details' leaves (nested objects and arrays walked),
/// counting stops past `limit`.
fn count_fields(ev: &Event, limit: usize) -> usize {
    let mut n = 0usize;
    for (_, v) in ev.details.iter() {
        n += 1;
        leaves(v, &mut n, limit);
        if n > limit {
            break;
        }
    }
    n
}

fn leaves(v: &Value, n: &mut usize, limit: usize) {
    let mut stack: Vec<&Value> = vec![v];
    while let Some(v) = stack.pop() {
        if *n > limit {
            return;
        }
        match v {
            Value::Object(m) => {
                *n += m.len();
                stack.extend(m.values());
            }
            Value::Array(a) => {
                *n += a.len();
                stack.extend(a.iter());
            }
            _ => {}
        }
    }
}
