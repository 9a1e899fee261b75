//! What the model is told.

use chrono::Duration;
use ferrodef_event::Severity;
use ipnet::IpNet;

use crate::distance::AIR_TRAVEL_SPEED_MPS;

/// Settings of the impossible-travel model (MozDef's `geomodel_location.json`, plus bounds).
#[derive(Debug, Clone)]
pub struct GeoConfig {
    /// Event categories that are logins (`authentication`); empty: any category.
    pub categories: Vec<String>,
    /// Users never tracked (MozDef's `whitelist.users`).
    pub ignore_users: Vec<String>,
    /// Source networks never tracked (MozDef's `whitelist.cidrs`).
    pub ignore_networks: Vec<IpNet>,
    /// Fastest plausible travel, metres per second (MozDef: 277.778).
    pub speed_mps: f64,
    /// Radius of a place when GeoIP gives no accuracy radius, km (MozDef: 50).
    pub default_radius_km: f64,
    /// How long a place is remembered after the last login from it (MozDef: one day).
    pub valid_for: Duration,
    /// Most users tracked; the least recently seen is forgotten beyond (and counted).
    pub max_users: usize,
    /// Most places kept per user (the oldest is forgotten beyond).
    pub max_locations: usize,
    /// Alert severity (MozDef: INFO).
    pub severity: Severity,
    /// The rule id alerts carry.
    pub rule: String,
}

impl Default for GeoConfig {
    fn default() -> Self {
        GeoConfig {
            categories: vec!["authentication".into()],
            ignore_users: Vec::new(),
            ignore_networks: Vec::new(),
            speed_mps: AIR_TRAVEL_SPEED_MPS,
            default_radius_km: 50.0,
            valid_for: Duration::days(1),
            max_users: 100_000,
            max_locations: 16,
            severity: Severity::Info,
            rule: "geomodel_location".into(),
        }
    }
}
