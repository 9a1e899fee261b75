//! The transform pipeline: an ordered, configurable list of transforms that runs on every
//! event after normalization. A transform may add fields and tags, change the category, route
//! the event to another stream, or drop it (counted by the caller, never silent). Every
//! transform that changed an event is recorded in the event's `plugins` list, like MozDef's.

use std::path::PathBuf;
use std::sync::Arc;

use ferrodef_event::Event;
use serde::Deserialize;

use crate::geoip::{GeoConfig, GeoIp};
pub use crate::transforms::{
    apply_parsed, field_text, geo_transform, DropRules, IpFixup, Parsers, Watchlist,
};

/// What a transform did to an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Nothing.
    Unchanged,
    /// Changed it (fields, tags, category).
    Changed,
    /// Send it to another stream.
    Route(String),
    /// Do not store it; the reason is counted.
    Drop(String),
}

/// One transform.
pub trait Transform: Send + Sync {
    /// Its name, as in the configuration and in `plugins`.
    fn name(&self) -> &'static str;
    /// Applies it.
    fn apply(&self, ev: &mut Event) -> Outcome;
}

/// What the pipeline decided for an event.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Verdict {
    /// Another stream than `events`, if a transform routed it.
    pub stream: Option<String>,
    /// `(transform, reason)` when a transform dropped it.
    pub dropped: Option<(String, String)>,
}

/// `[transforms]` of the config file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransformsConfig {
    /// Enabled transforms, in order. Known: `parsers`, `ipfixup`, `geoip`, `watchlist`, `drop`.
    #[serde(default = "default_order")]
    pub order: Vec<String>,
    /// GeoIP databases.
    #[serde(default)]
    pub geoip: GeoIpSettings,
    /// Watchlist / blocklist file.
    #[serde(default)]
    pub watchlist: WatchlistSettings,
    /// Events to drop: each entry is `field=value` (exact match), e.g. `category=debugnoise`.
    #[serde(default)]
    pub drop: Vec<String>,
}

fn default_order() -> Vec<String> {
    vec![
        "parsers".into(),
        "ipfixup".into(),
        "geoip".into(),
        "watchlist".into(),
    ]
}

impl Default for TransformsConfig {
    fn default() -> Self {
        TransformsConfig {
            order: default_order(),
            geoip: GeoIpSettings::default(),
            watchlist: WatchlistSettings::default(),
            drop: Vec::new(),
        }
    }
}

/// `[transforms.geoip]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GeoIpSettings {
    /// City (or country) `.mmdb`.
    pub city_db: Option<PathBuf>,
    /// Country `.mmdb` (used when there is no city one).
    pub country_db: Option<PathBuf>,
    /// ASN `.mmdb`.
    pub asn_db: Option<PathBuf>,
}

/// `[transforms.watchlist]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WatchlistSettings {
    /// A list file besides the console's lists (see [`Watchlist`]); re-read when it changes,
    /// without a restart.
    pub file: Option<PathBuf>,
}

/// The configured pipeline.
pub struct Pipeline {
    transforms: Vec<Arc<dyn Transform>>,
}

impl Pipeline {
    /// Builds the pipeline; returns warnings for the startup log (e.g. a missing GeoIP
    /// database). An unknown transform name is an error.
    pub fn from_config(cfg: &TransformsConfig) -> Result<(Pipeline, Vec<String>), String> {
        Pipeline::with_lists(cfg, None)
    }

    /// As [`Pipeline::from_config`], the `watchlist` transform also reading the console's
    /// lists from `lists` (kept current by whoever changes them).
    pub fn with_lists(
        cfg: &TransformsConfig,
        lists: Option<Arc<crate::lists::ListFeed>>,
    ) -> Result<(Pipeline, Vec<String>), String> {
        let mut transforms: Vec<Arc<dyn Transform>> = Vec::new();
        let mut warnings = Vec::new();
        for name in &cfg.order {
            match name.as_str() {
                "parsers" => transforms.push(Arc::new(Parsers)),
                "ipfixup" => transforms.push(Arc::new(IpFixup)),
                "geoip" => {
                    let (g, w) = GeoIp::open(&GeoConfig {
                        city_db: cfg.geoip.city_db.clone(),
                        country_db: cfg.geoip.country_db.clone(),
                        asn_db: cfg.geoip.asn_db.clone(),
                        cache_size: 65_536,
                    });
                    warnings.extend(w);
                    if !g.is_enabled() && w_is_empty(&cfg.geoip) {
                        warnings.push(
                            "GeoIP: no database configured ([transforms.geoip] city_db/country_db/asn_db); geoip enrichment is off"
                                .into(),
                        );
                    }
                    if g.is_enabled() {
                        transforms.push(geo_transform(g));
                    }
                }
                "watchlist" => {
                    if cfg.watchlist.file.is_some() || lists.is_some() {
                        let w = Watchlist::new(
                            cfg.watchlist.file.clone(),
                            lists.clone(),
                            Arc::new(crate::clock::SystemClock),
                        );
                        if let Some(e) = w.error() {
                            warnings.push(e);
                        }
                        transforms.push(Arc::new(w));
                    }
                }
                "drop" => transforms.push(Arc::new(DropRules::parse(&cfg.drop)?)),
                other => {
                    return Err(format!(
                        "[transforms] order: unknown transform '{other}' (known: parsers, ipfixup, geoip, watchlist, drop)"
                    ))
                }
            }
        }
        Ok((Pipeline { transforms }, warnings))
    }

    /// A pipeline of the given transforms.
    pub fn new(transforms: Vec<Arc<dyn Transform>>) -> Pipeline {
        Pipeline { transforms }
    }

    /// Names of the active transforms, in order.
    pub fn names(&self) -> Vec<&'static str> {
        self.transforms.iter().map(|t| t.name()).collect()
    }

    /// Runs every transform on the event, recording the ones that changed it.
    pub fn run(&self, ev: &mut Event) -> Verdict {
        let mut verdict = Verdict::default();
        for t in &self.transforms {
            match t.apply(ev) {
                Outcome::Unchanged => {}
                Outcome::Changed => ev.plugins.push(t.name().to_string()),
                Outcome::Route(stream) => {
                    ev.plugins.push(t.name().to_string());
                    verdict.stream = Some(stream);
                }
                Outcome::Drop(reason) => {
                    verdict.dropped = Some((t.name().to_string(), reason));
                    return verdict;
                }
            }
        }
        verdict
    }
}

fn w_is_empty(g: &GeoIpSettings) -> bool {
    g.city_db.is_none() && g.country_db.is_none() && g.asn_db.is_none()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transforms::test_event as ev;
    use serde_json::json;

    #[test]
    fn drop_rules_and_config() {
        let cfg: TransformsConfig = toml::from_str(
            "order = [\"drop\", \"ipfixup\"]\ndrop = [\"category=noise\", \"details.program=cron\"]\n",
        )
        .unwrap();
        let (p, warnings) = Pipeline::from_config(&cfg).unwrap();
        assert!(warnings.is_empty());
        assert_eq!(p.names(), vec!["drop", "ipfixup"]);
        let mut e = ev(json!({"category": "noise"}));
        assert_eq!(
            p.run(&mut e).dropped,
            Some(("drop".into(), "category=noise".into()))
        );
        let mut e = ev(json!({"details": {"program": "cron"}}));
        assert!(p.run(&mut e).dropped.is_some());
        let mut e = ev(json!({"category": "auth"}));
        assert_eq!(p.run(&mut e), Verdict::default());
        let bad: TransformsConfig = toml::from_str("order = [\"nope\"]").unwrap();
        assert!(Pipeline::from_config(&bad).err().unwrap().contains("nope"));
        let cfg: TransformsConfig =
            toml::from_str("order = [\"geoip\"]\n[geoip]\ncity_db = \"/nonexistent.mmdb\"\n")
                .unwrap();
        let (p, warnings) = Pipeline::from_config(&cfg).unwrap();
        assert!(p.names().is_empty());
        assert!(warnings[0].contains("/nonexistent.mmdb"), "{warnings:?}");
    }
}
