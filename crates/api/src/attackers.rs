//! `GET /api/attackers` (the seed's "attackers == ogres"): every source address behind
//! alerts — the alert's key when it is an address, and the `details.sourceipaddress` of the
//! events it carries — with its place (from the events' GeoIP enrichment), first and last
//! seen, and alert and event counts. `GET /api/attackers/{ip}`: one of them, with its alerts.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::Utc;
use ferrodef_event::ALERTS_STREAM;
use ferrodef_store::{SearchRequest, SortOrder};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::{ApiError, AppState};

/// Alerts read (newest first) to build the list.
const MAX_ALERTS: usize = 10_000;

/// One attacker.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Attacker {
    /// The address.
    pub ip: String,
    /// ISO country code, when known.
    pub country: Option<String>,
    /// Country name.
    pub country_name: Option<String>,
    /// City.
    pub city: Option<String>,
    /// Latitude.
    pub lat: Option<f64>,
    /// Longitude.
    pub lon: Option<f64>,
    /// Autonomous system number.
    pub asn: Option<Value>,
    /// Its organization.
    pub as_organization: Option<String>,
    /// Time of its first alert.
    pub first_seen: String,
    /// Time of its last alert.
    pub last_seen: String,
    /// Alerts it is behind.
    pub alerts: u64,
    /// Events of those alerts.
    pub events: u64,
    /// The ids of its latest alerts (at most 20).
    pub alert_ids: Vec<String>,
}

/// Parameters of `GET /api/attackers`.
#[derive(Debug, Default, Deserialize)]
pub struct Params {
    /// Lower time bound of the alerts considered (default: all).
    pub from: Option<String>,
    /// How many attackers (most alerts first; default 500).
    pub size: Option<usize>,
}

/// The addresses an alert is about: its key when it is one, and its events' sources.
fn addresses<'a>(alert: &'a Value) -> Vec<(String, Option<&'a Value>)> {
    let mut out: Vec<(String, Option<&'a Value>)> = Vec::new();
    let mut add = |ip: &str, geo: Option<&'a Value>| {
        let Ok(addr) = ip.trim().parse::<IpAddr>() else {
            return;
        };
        let ip = addr.to_string();
        match out.iter_mut().find(|(i, _)| *i == ip) {
            Some(e) => {
                if e.1.is_none() {
                    e.1 = geo;
                }
            }
            None => out.push((ip, geo)),
        }
    };
    if let Some(k) = alert.get("key").and_then(Value::as_str) {
        add(k, None);
    }
    for ev in alert
        .get("events")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let d = ev.get("details");
        if let Some(ip) = d
            .and_then(|d| d.get("sourceipaddress"))
            .and_then(Value::as_str)
        {
            add(ip, d.and_then(|d| d.get("sourceipgeolocation")));
        }
    }
    out
}

fn fill_geo(a: &mut Attacker, geo: &Value) {
    let s = |k: &str| geo.get(k).and_then(Value::as_str).map(str::to_string);
    if a.country.is_none() {
        a.country = s("country_code");
        a.country_name = s("country_name");
        a.city = s("city");
        a.lat = geo.get("latitude").and_then(Value::as_f64);
        a.lon = geo.get("longitude").and_then(Value::as_f64);
    }
    if a.asn.is_none() {
        a.asn = geo.get("asn").cloned();
        a.as_organization = s("as_organization");
    }
}

/// Folds alerts (newest first) into attackers.
pub fn attackers(alerts: &[Value]) -> Vec<Attacker> {
    let mut by_ip: BTreeMap<String, Attacker> = BTreeMap::new();
    for alert in alerts {
        let at = alert
            .get("utctimestamp")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let id = alert.get("id").and_then(Value::as_str).unwrap_or_default();
        let count = alert.get("count").and_then(Value::as_u64).unwrap_or(0);
        for (ip, geo) in addresses(alert) {
            let a = by_ip.entry(ip.clone()).or_insert_with(|| Attacker {
                ip,
                first_seen: at.to_string(),
                last_seen: at.to_string(),
                ..Default::default()
            });
            a.alerts += 1;
            a.events += count;
            if at < a.first_seen.as_str() {
                a.first_seen = at.to_string();
            }
            if at > a.last_seen.as_str() {
                a.last_seen = at.to_string();
            }
            if a.alert_ids.len() < 20 {
                a.alert_ids.push(id.to_string());
            }
            if let Some(g) = geo {
                fill_geo(a, g);
            }
        }
    }
    let mut list: Vec<Attacker> = by_ip.into_values().collect();
    list.sort_by(|a, b| b.alerts.cmp(&a.alerts).then(b.last_seen.cmp(&a.last_seen)));
    list
}

async fn read_alerts(s: &AppState, from: Option<String>) -> Result<Vec<Value>, Response> {
    let from = match from.as_deref().filter(|f| !f.is_empty()) {
        None => None,
        Some(f) => Some(ferrodef_query::parse_time(f, Utc::now()).map_err(|e| {
            ApiError::new(StatusCode::BAD_REQUEST, format!("from: {e}"))
                .with("parameter", "from")
                .into_response()
        })?),
    };
    let req = SearchRequest {
        stream: ALERTS_STREAM.into(),
        query: ferrodef_query::Expr::MatchAll,
        from,
        to: None,
        size: MAX_ALERTS,
        sort_field: "utctimestamp".into(),
        order: SortOrder::Desc,
        now: Utc::now(),
        budget: Default::default(),
    };
    let res = s.search.search(&s.store, req).await?;
    Ok(res.hits)
}

/// `GET /api/attackers`.
pub async fn list(
    State(s): State<Arc<AppState>>,
    params: Result<Query<Params>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, Response> {
    let Query(p) = params
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, e.body_text()).into_response())?;
    let alerts = read_alerts(&s, p.from).await?;
    let mut list = attackers(&alerts);
    let total = list.len();
    list.truncate(p.size.unwrap_or(500).clamp(1, 10_000));
    Ok(Json(json!({ "total": total, "attackers": list })).into_response())
}

/// `GET /api/attackers/{ip}`: the attacker and its alerts.
pub async fn get_one(
    State(s): State<Arc<AppState>>,
    Path(ip): Path<String>,
) -> Result<Response, Response> {
    let addr: IpAddr = ip.parse().map_err(|_| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("not an IP address: {ip:?}"),
        )
        .into_response()
    })?;
    let ip = addr.to_string();
    let alerts = read_alerts(&s, None).await?;
    let mine: Vec<Value> = alerts
        .into_iter()
        .filter(|a| addresses(a).iter().any(|(i, _)| *i == ip))
        .collect();
    let Some(attacker) = attackers(&mine).into_iter().find(|a| a.ip == ip) else {
        return Err(
            ApiError::new(StatusCode::NOT_FOUND, format!("no alert involves {ip}")).into_response(),
        );
    };
    Ok(Json(json!({ "attacker": attacker, "alerts": mine })).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attackers_from_alert_keys_and_event_sources() {
        let alerts = vec![
            json!({"id": "b", "utctimestamp": "2026-01-02T00:00:00+00:00", "key": "203.0.113.9", "count": 10,
                   "events": [{"details": {"sourceipaddress": "203.0.113.9",
                       "sourceipgeolocation": {"country_code": "FR", "latitude": 48.8, "longitude": 2.3, "asn": 64500}}}]}),
            json!({"id": "a", "utctimestamp": "2026-01-01T00:00:00+00:00", "key": "web1", "count": 2,
                   "events": [{"details": {"sourceipaddress": "203.0.113.9"}},
                              {"details": {"sourceipaddress": "198.51.100.1"}},
                              {"details": {"sourceipaddress": "not an ip"}}]}),
        ];
        let list = attackers(&alerts);
        assert_eq!(list.len(), 2);
        let a = &list[0];
        assert_eq!(a.ip, "203.0.113.9");
        assert_eq!(a.alerts, 2);
        assert_eq!(a.events, 12);
        assert_eq!(a.country.as_deref(), Some("FR"));
        assert_eq!(a.lat, Some(48.8));
        assert_eq!(a.asn, Some(json!(64500)));
        assert_eq!(a.first_seen, "2026-01-01T00:00:00+00:00");
        assert_eq!(a.last_seen, "2026-01-02T00:00:00+00:00");
        assert_eq!(a.alert_ids, vec!["b", "a"]);
        assert_eq!(list[1].ip, "198.51.100.1");
        assert_eq!(list[1].country, None);
    }
}
