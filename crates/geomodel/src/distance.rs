//! Great-circle distance and MozDef's test of whether a hop could be flown.

/// MozDef's air travel speed: 277.778 m/s (1,000 km/h).
pub const AIR_TRAVEL_SPEED_MPS: f64 = 277.778;

/// The Earth's radius MozDef used, in kilometres.
pub const EARTH_RADIUS_KM: f64 = 6373.0;

/// The great-circle (haversine) distance between two points, in kilometres.
pub fn haversine_km(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dlat = p2 - p1;
    let dlon = (lon2 - lon1).to_radians();
    let a = (dlat / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dlon / 2.0).sin().powi(2);
    let c = 2.0 * a.sqrt().atan2((1.0 - a).sqrt());
    c * EARTH_RADIUS_KM
}

/// Whether `distance_km` can be flown in `seconds` at `speed_mps`, allowing for the time to fly
/// `radius_km` (the uncertainty of the places): MozDef's
/// `distance / speed − ceil(radius / speed) ≤ seconds`.
pub fn travel_possible(distance_km: f64, seconds: f64, radius_km: f64, speed_mps: f64) -> bool {
    let time_to_travel = 1000.0 * distance_km / speed_mps;
    let pad = (1000.0 * radius_km / speed_mps).ceil();
    time_to_travel - pad <= seconds.abs()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_distances() {
        // London – New York: about 5,570 km.
        let d = haversine_km(51.5074, -0.1278, 40.7128, -74.0060);
        assert!((d - 5_571.0).abs() < 15.0, "{d}");
        assert_eq!(haversine_km(10.0, 20.0, 10.0, 20.0), 0.0);
        // Antipodes: half the circumference.
        let d = haversine_km(0.0, 0.0, 0.0, 180.0);
        assert!(
            (d - std::f64::consts::PI * EARTH_RADIUS_KM).abs() < 1e-6,
            "{d}"
        );
    }

    #[test]
    fn flight_test() {
        // 1,000 km in one hour at 1,000 km/h: possible; in 50 minutes: not.
        assert!(travel_possible(1000.0, 3600.0, 0.0, AIR_TRAVEL_SPEED_MPS));
        assert!(!travel_possible(1000.0, 3000.0, 0.0, AIR_TRAVEL_SPEED_MPS));
        // A 200 km radius buys 12 minutes.
        assert!(travel_possible(1000.0, 3000.0, 200.0, AIR_TRAVEL_SPEED_MPS));
        // Order of the times does not matter.
        assert!(travel_possible(1000.0, -3600.0, 0.0, AIR_TRAVEL_SPEED_MPS));
    }
}
