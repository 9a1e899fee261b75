//! The event fields that hold IP addresses.
//!
//! Two fields of `details` hold the addresses of a connection's ends. They are the only
//! IP-typed fields: `ipfixup` validates and normalizes them, `geoip` locates them, the
//! watchlist and blocklist match them, the store indexes them as addresses, and queries may
//! match them by CIDR (`details.sourceipaddress:10.0.0.0/8`) or address range. Every other
//! field is text, even when it holds an address.

/// One IP-typed field of an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpField {
    /// Its key in `details`: `sourceipaddress`.
    pub key: &'static str,
    /// Its name in queries and stored documents: `details.sourceipaddress`.
    pub path: &'static str,
}

/// The address the connection came from.
pub const SOURCE_IP: IpField = IpField {
    key: "sourceipaddress",
    path: "details.sourceipaddress",
};

/// The address the connection went to.
pub const DESTINATION_IP: IpField = IpField {
    key: "destinationipaddress",
    path: "details.destinationipaddress",
};

/// Every IP-typed field: the source, then the destination.
pub const IP_FIELDS: [IpField; 2] = [SOURCE_IP, DESTINATION_IP];

/// Whether `path` (a field name as queries write it, `details.sourceipaddress`) is IP-typed.
pub fn is_ip_field(path: &str) -> bool {
    IP_FIELDS.iter().any(|f| f.path == path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_the_keys_under_details() {
        for f in IP_FIELDS {
            assert_eq!(f.path, format!("details.{}", f.key));
        }
    }

    #[test]
    fn only_the_two_address_fields_are_ip_fields() {
        assert!(is_ip_field("details.sourceipaddress"));
        assert!(is_ip_field("details.destinationipaddress"));
        assert!(
            !is_ip_field("sourceipaddress"),
            "the key alone is not a path"
        );
        assert!(!is_ip_field("details.eventsourceipaddress"));
    }
}
