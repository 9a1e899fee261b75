//! What is remembered of each user, and its file format.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A place a user logged in from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Place {
    /// The source address of the (last) login from there.
    pub ip: String,
    /// City.
    pub city: String,
    /// ISO country code, when known.
    #[serde(default)]
    pub country: Option<String>,
    /// Latitude, degrees.
    pub latitude: f64,
    /// Longitude, degrees.
    pub longitude: f64,
    /// How far around the point the user may really be, km.
    pub radius_km: f64,
    /// Time of the last login from there.
    pub observed: DateTime<Utc>,
}

/// The state file: version 1.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct StateFile {
    pub(crate) version: u32,
    /// Users forgotten so far because of the user limit.
    #[serde(default)]
    pub(crate) evicted_users: u64,
    /// Users, least recently seen first.
    pub(crate) users: Vec<UserPlaces>,
}

/// One user's places, oldest first.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct UserPlaces {
    pub(crate) username: String,
    pub(crate) places: Vec<Place>,
}

/// The version [`StateFile`] is written in.
pub(crate) const STATE_VERSION: u32 = 1;
