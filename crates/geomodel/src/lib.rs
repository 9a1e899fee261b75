//! Impossible travel, after MozDef's geomodel (`alerts/geomodel_location.py` and
//! `alerts/geomodel/`): for each user, the places of their successful logins (from GeoIP), and an
//! alert when two consecutive logins are farther apart than an airliner could fly in the time
//! between them.
//!
//! - A login is an event with `details.success == true`, a `details.username` and a
//!   `details.sourceipaddress`, whose category is one of [`GeoConfig::categories`]
//!   (`authentication` by default: sshd, PAM, Windows 4624, auditd…).
//! - Its place is `details.sourceipgeolocation` (set by the GeoIP transform: `latitude`,
//!   `longitude`, `city`, `country_code`, `accuracy_radius`), else what the lookup function
//!   given with [`GeoModel::with_lookup`] returns. Private and other non-public addresses, and
//!   places without coordinates or city (a country's centre is no place to travel from), are
//!   ignored — as MozDef did.
//! - Travel from A to B is possible when `distance / 277.778 m/s − pad ≤ time between`, where
//!   `pad` is the time to fly the smaller of the two places' radii (their GeoIP accuracy
//!   radius, else [`GeoConfig::default_radius_km`]) — MozDef's rule. Distances are great-circle
//!   (haversine, Earth radius 6,373 km as MozDef).
//! - Each login is compared with the user's most recent known place; places within the radius
//!   of a known one update it, others are added; places older than
//!   [`GeoConfig::valid_for`] are forgotten (MozDef: one day).
//! - The alert is MozDef's: category `geomodel`, tag `geomodel`, severity INFO, summary
//!   `{user} seen in {city},{country} then {city},{country} ({km:.2} KM in {min:.2} minutes)`,
//!   details `username`, `hops` (origin and destination: `ip`, `city`, `country`, `latitude`,
//!   `longitude`, `observed`, `geopoint`), `sourceipaddress` (where the user is now), plus
//!   `distance_km`, `seconds` and `speed_kmh`.
//!
//! State is bounded (at most [`GeoConfig::max_users`] users, least recently seen evicted and
//! counted; at most [`GeoConfig::max_locations`] places per user) and survives restarts:
//! [`GeoModel::save`] writes it atomically (temporary file, then rename), [`GeoModel::load`]
//! reads it back.

mod config;
mod distance;
mod model;
mod state;

pub use config::GeoConfig;
pub use distance::{haversine_km, travel_possible, AIR_TRAVEL_SPEED_MPS, EARTH_RADIUS_KM};
pub use model::{GeoModel, GeoModelError, Lookup, Snapshot};
pub use state::Place;
