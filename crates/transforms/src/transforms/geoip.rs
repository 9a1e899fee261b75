//! `geoip`: the GeoIP enricher ([`crate::geoip`]) as a transform.

use std::sync::Arc;

use ferrodef_event::Event;

use crate::geoip::GeoIp;
use crate::pipeline::{Outcome, Transform};

struct GeoTransform(GeoIp);

/// The GeoIP enricher as a transform.
pub fn geo_transform(g: GeoIp) -> Arc<dyn Transform> {
    Arc::new(GeoTransform(g))
}

impl Transform for GeoTransform {
    fn name(&self) -> &'static str {
        "geoip"
    }
    fn apply(&self, ev: &mut Event) -> Outcome {
        if self.0.enrich(&mut ev.details) {
            Outcome::Changed
        } else {
            Outcome::Unchanged
        }
    }
}
