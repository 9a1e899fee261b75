//! The model: logins in, alerts out; state saved and loaded.

use std::hash::BuildHasher;
use std::io::Write;
use std::net::IpAddr;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use ferrodef_event::{Alert, Node, RuleKind};
use lru::LruCache;
use serde_json::{json, Map, Value};

use crate::config::GeoConfig;
use crate::distance::{haversine_km, travel_possible};
use crate::state::{Place, StateFile, UserPlaces, STATE_VERSION};

/// A GeoIP lookup: the geolocation record of an address, in the shape the GeoIP transform puts
/// in `details.sourceipgeolocation` (`latitude`, `longitude`, `city`, `country_code`,
/// `accuracy_radius`), e.g. `ferrodef_transforms::geoip::GeoIp::lookup`.
pub type Lookup = Box<dyn Fn(IpAddr) -> Option<Map<String, Value>> + Send + Sync>;

/// Why the state could not be saved or loaded.
#[derive(Debug, thiserror::Error)]
pub enum GeoModelError {
    /// Reading or writing the file failed.
    #[error("geomodel state {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What failed.
        source: std::io::Error,
    },
    /// The file is not a state file of this version.
    #[error("geomodel state {path}: line {line}, column {column}: {message}")]
    Format {
        /// The file.
        path: PathBuf,
        /// Where (1-based; 0 when unknown).
        line: usize,
        /// Where (1-based; 0 when unknown).
        column: usize,
        /// What is wrong.
        message: String,
    },
}

/// The impossible-travel model (see the crate documentation).
pub struct GeoModel {
    config: GeoConfig,
    /// Each user's places, oldest first; least recently seen users are evicted first.
    users: LruCache<String, Vec<Place>>,
    evicted_total: u64,
    evicted_unreported: u64,
    lookup: Option<Lookup>,
}

/// A login: who, from where, when.
struct Login<'a> {
    username: &'a str,
    ip: IpAddr,
    ip_text: &'a str,
    at: DateTime<Utc>,
}

impl GeoModel {
    /// An empty model.
    pub fn new(config: GeoConfig) -> GeoModel {
        let cap = NonZeroUsize::new(config.max_users.max(1)).unwrap_or(NonZeroUsize::MIN);
        GeoModel {
            config,
            users: LruCache::new(cap),
            evicted_total: 0,
            evicted_unreported: 0,
            lookup: None,
        }
    }

    /// Uses `lookup` for logins whose event carries no `details.sourceipgeolocation`.
    pub fn with_lookup(mut self, lookup: Lookup) -> GeoModel {
        self.lookup = Some(lookup);
        self
    }

    /// The settings.
    pub fn config(&self) -> &GeoConfig {
        &self.config
    }

    /// How many users are tracked.
    pub fn users(&self) -> usize {
        self.users.len()
    }

    /// The places known for `username`, oldest first.
    pub fn places(&self, username: &str) -> Option<&[Place]> {
        self.users.peek(username).map(Vec::as_slice)
    }

    /// Users forgotten because of the user limit, since the model was first created.
    pub fn evicted_users(&self) -> u64 {
        self.evicted_total
    }

    /// Users forgotten because of the user limit since the last call (for the caller to
    /// report: a limit that is hit is never silent).
    pub fn take_evictions(&mut self) -> u64 {
        std::mem::take(&mut self.evicted_unreported)
    }

    /// Takes one event (a MozDef event document); returns an alert when it is a login from a
    /// place the user could not have reached since their previous login. `now` is the time
    /// the alert carries, and what places expire against.
    pub fn observe<'e>(&mut self, event: impl Into<Node<'e>>, now: DateTime<Utc>) -> Option<Alert> {
        let event = event.into();
        let login = self.login(event, now)?;
        let place = self.place(event, &login)?;
        self.expire(login.username, now);
        self.touch(login.username);
        let places = self.places(login.username).unwrap_or_default();
        // The same login again (a replay after a restart): nothing new.
        if places
            .iter()
            .any(|p| p.ip == place.ip && p.observed == place.observed)
        {
            return None;
        }
        let previous = places.iter().max_by_key(|p| p.observed).cloned();
        self.remember(login.username, place.clone());
        let previous = previous?;
        let km = haversine_km(
            previous.latitude,
            previous.longitude,
            place.latitude,
            place.longitude,
        );
        let seconds = (place.observed - previous.observed).num_milliseconds() as f64 / 1000.0;
        let radius = previous.radius_km.min(place.radius_km);
        if travel_possible(km, seconds, radius, self.config.speed_mps) {
            return None;
        }
        Some(self.alert(login.username, &previous, &place, km, seconds, event, now))
    }

    /// The login an event is, if it is one this model tracks.
    fn login<'a>(&self, event: Node<'a>, now: DateTime<Utc>) -> Option<Login<'a>> {
        // Linear look-ups: an event's objects are small (no key hashed).
        let details = event.get("details")?;
        if details.get("success").and_then(Node::value) != Some(&Value::Bool(true)) {
            return None;
        }
        let cats = &self.config.categories;
        if !cats.is_empty() {
            let category = event.get("category").and_then(Node::as_str)?;
            if !cats.iter().any(|c| c == category) {
                return None;
            }
        }
        let username = details
            .get("username")
            .and_then(Node::as_str)
            .map(str::trim)
            .filter(|u| !u.is_empty())?;
        if self.config.ignore_users.iter().any(|u| u == username) {
            return None;
        }
        let ip_text = details
            .get("sourceipaddress")
            .and_then(Node::as_str)?
            .trim();
        let ip: IpAddr = ip_text.parse().ok()?;
        if !ferrodef_transforms::geoip::is_public(ip)
            || self.config.ignore_networks.iter().any(|n| n.contains(&ip))
        {
            return None;
        }
        let at = event
            .get("utctimestamp")
            .and_then(Node::as_str)
            .and_then(ferrodef_event::read_rfc3339)
            .unwrap_or(now);
        Some(Login {
            username,
            ip,
            ip_text,
            at,
        })
    }

    /// Where the login was: the event's geolocation, else the lookup's. Only places with
    /// coordinates and a city count.
    fn place(&self, event: Node<'_>, login: &Login<'_>) -> Option<Place> {
        let from_event = event
            .get("details")
            .and_then(|d| d.get("sourceipgeolocation"))
            .and_then(Node::value)
            .and_then(Value::as_object);
        let looked_up;
        let geo = match from_event {
            Some(g) => g,
            None => {
                looked_up = (self.lookup.as_ref()?)(login.ip)?;
                &looked_up
            }
        };
        let latitude = geo.get("latitude").and_then(Value::as_f64)?;
        let longitude = geo.get("longitude").and_then(Value::as_f64)?;
        if !(-90.0..=90.0).contains(&latitude) || !(-180.0..=180.0).contains(&longitude) {
            return None;
        }
        let city = geo
            .get("city")
            .and_then(Value::as_str)
            .filter(|c| !c.is_empty())?;
        let accuracy = geo
            .get("accuracy_radius")
            .and_then(Value::as_f64)
            .filter(|r| r.is_finite() && *r > 0.0)
            .unwrap_or(0.0);
        Some(Place {
            ip: login.ip_text.to_string(),
            city: city.to_string(),
            country: geo
                .get("country_code")
                .and_then(Value::as_str)
                .map(str::to_string),
            latitude,
            longitude,
            radius_km: accuracy.max(self.config.default_radius_km),
            observed: login.at,
        })
    }

    /// Forgets the user's places not seen within `valid_for` of `now`.
    fn expire(&mut self, username: &str, now: DateTime<Utc>) {
        let oldest = now - self.config.valid_for;
        if let Some(places) = self.users.peek_mut(username) {
            places.retain(|p| p.observed >= oldest);
        }
    }

    /// Makes the user the most recently seen; a new user may evict the least recently seen
    /// one (counted).
    fn touch(&mut self, username: &str) {
        if self.users.get(username).is_some() {
            return;
        }
        // The key is absent, so what `push` returns is another user, evicted.
        if self.users.push(username.to_string(), Vec::new()).is_some() {
            self.evicted_total += 1;
            self.evicted_unreported += 1;
        }
    }

    /// Records a place: it updates a known place within the radius (when more recent or from
    /// another address, as MozDef), else it is added; beyond the limit the oldest goes.
    fn remember(&mut self, username: &str, place: Place) {
        let max = self.config.max_locations.max(1);
        let Some(places) = self.users.peek_mut(username) else {
            return;
        };
        let near = places.iter_mut().find(|p| {
            haversine_km(p.latitude, p.longitude, place.latitude, place.longitude)
                <= p.radius_km.min(place.radius_km)
        });
        match near {
            Some(p) => {
                if place.observed > p.observed || place.ip != p.ip {
                    *p = place;
                }
            }
            None => places.push(place),
        }
        places.sort_by_key(|p| p.observed);
        let excess = places.len().saturating_sub(max);
        places.drain(..excess);
    }

    #[allow(clippy::too_many_arguments)]
    fn alert(
        &self,
        username: &str,
        from: &Place,
        to: &Place,
        km: f64,
        seconds: f64,
        event: Node<'_>,
        now: DateTime<Utc>,
    ) -> Alert {
        let country = |p: &Place| p.country.clone().unwrap_or_default();
        let summary = format!(
            "{username} seen in {},{} then {},{} ({km:.2} KM in {:.2} minutes)",
            from.city,
            country(from),
            to.city,
            country(to),
            seconds.abs() / 60.0
        );
        let speed_kmh = if seconds.abs() > 0.0 {
            Some(km / (seconds.abs() / 3600.0))
        } else {
            None
        };
        let mut details = Map::new();
        details.insert("username".into(), json!(username));
        details.insert(
            "hops".into(),
            json!([{"origin": origin(from), "destination": origin(to)}]),
        );
        details.insert("sourceipaddress".into(), json!(to.ip));
        if to.ip.parse::<std::net::Ipv4Addr>().is_ok() {
            details.insert("sourceipv4address".into(), json!(to.ip));
        }
        details.insert("distance_km".into(), json!(km));
        details.insert("seconds".into(), json!(seconds.abs()));
        details.insert("speed_kmh".into(), json!(speed_kmh));
        details.insert("factors".into(), json!([]));
        let random = std::hash::RandomState::new().hash_one((username, &to.ip, now));
        let severity = self.config.severity;
        Alert {
            id: Alert::new_id(now, random),
            utctimestamp: now,
            severity,
            summary,
            category: "geomodel".into(),
            tags: vec!["geomodel".into()],
            rule: self.config.rule.clone(),
            rule_kind: RuleKind::Geomodel,
            classname: "AlertGeoModel".into(),
            channel: None,
            notify_mozdefbot: Alert::mozdefbot(severity, None),
            url: None,
            key: Some(username.to_string()),
            count: 1,
            events: vec![event.to_value()],
            details,
        }
    }

    /// Writes the state to `path` atomically: a temporary file in the same directory, synced,
    /// then renamed over `path` (a crash leaves the old state or the new one, never half).
    pub fn save(&self, path: &Path) -> Result<(), GeoModelError> {
        self.snapshot().save(path)
    }

    /// A copy of the state, to save later (e.g. off a hot path).
    pub fn snapshot(&self) -> Snapshot {
        Snapshot(StateFile {
            version: STATE_VERSION,
            evicted_users: self.evicted_total,
            users: self
                .users
                .iter()
                .rev()
                .map(|(u, p)| UserPlaces {
                    username: u.clone(),
                    places: p.clone(),
                })
                .collect(),
        })
    }

    /// Reads the state saved at `path` (a missing file is a first start: an empty model).
    /// Users and places beyond `config`'s bounds are dropped (users counted as evicted).
    pub fn load(path: &Path, config: GeoConfig) -> Result<GeoModel, GeoModelError> {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(GeoModel::new(config)),
            Err(source) => {
                return Err(GeoModelError::Io {
                    path: path.to_path_buf(),
                    source,
                })
            }
        };
        let file: StateFile =
            serde_json::from_slice(&bytes).map_err(|e| GeoModelError::Format {
                path: path.to_path_buf(),
                line: e.line(),
                column: e.column(),
                message: e.to_string(),
            })?;
        if file.version != STATE_VERSION {
            return Err(GeoModelError::Format {
                path: path.to_path_buf(),
                line: 0,
                column: 0,
                message: format!(
                    "state version {} (this ferrodef reads version {STATE_VERSION})",
                    file.version
                ),
            });
        }
        let mut model = GeoModel::new(config);
        model.evicted_total = file.evicted_users;
        let max = model.config.max_locations.max(1);
        for mut user in file.users {
            user.places.sort_by_key(|p| p.observed);
            let excess = user.places.len().saturating_sub(max);
            user.places.drain(..excess);
            if let Some((old, _)) = model.users.push(user.username, user.places) {
                // A repeated name replaces itself; only another user is an eviction.
                if !model.users.contains(&old) {
                    model.evicted_total += 1;
                    model.evicted_unreported += 1;
                }
            }
        }
        Ok(model)
    }
}

/// A place as MozDef's alert describes it (`Origin`).
fn origin(p: &Place) -> Value {
    json!({
        "ip": p.ip,
        "city": p.city,
        "country": p.country,
        "latitude": p.latitude,
        "longitude": p.longitude,
        "observed": p.observed.to_rfc3339(),
        "geopoint": format!("{},{}", p.latitude, p.longitude),
    })
}

/// A copy of a [`GeoModel`]'s state ([`GeoModel::snapshot`]).
pub struct Snapshot(StateFile);

impl Snapshot {
    /// Writes the state to `path` atomically (see [`GeoModel::save`]).
    pub fn save(&self, path: &Path) -> Result<(), GeoModelError> {
        let io = |source| GeoModelError::Io {
            path: path.to_path_buf(),
            source,
        };
        let bytes =
            serde_json::to_vec(&self.0).map_err(|e| io(std::io::Error::other(e.to_string())))?;
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(io)?;
        tmp.write_all(&bytes).map_err(io)?;
        tmp.as_file().sync_all().map_err(io)?;
        tmp.persist(path).map_err(|e| io(e.error))?;
        // The rename itself is durable once the directory is synced.
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    }
}
