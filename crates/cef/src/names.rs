//! The ArcSight CEF key dictionary: short extension keys and their full names.

/// (key as written in CEF, full name), from the ArcSight CEF implementation standard's
/// extension dictionary. Keys whose full name is the key itself are listed too, so
/// [`full_name`] also tells whether a key is standard. Sorted by key (byte order).
const KEYS: &[(&str, &str)] = &[
    ("act", "deviceAction"),
    ("agentDnsDomain", "agentDnsDomain"),
    ("agentNtDomain", "agentNtDomain"),
    ("agentTranslatedAddress", "agentTranslatedAddress"),
    (
        "agentTranslatedZoneExternalID",
        "agentTranslatedZoneExternalID",
    ),
    ("agentTranslatedZoneURI", "agentTranslatedZoneURI"),
    ("agentZoneExternalID", "agentZoneExternalID"),
    ("agentZoneURI", "agentZoneURI"),
    ("agt", "agentAddress"),
    ("ahost", "agentHostName"),
    ("aid", "agentId"),
    ("amac", "agentMacAddress"),
    ("app", "applicationProtocol"),
    ("art", "agentReceiptTime"),
    ("at", "agentType"),
    ("atz", "agentTimeZone"),
    ("av", "agentVersion"),
    ("c6a1", "deviceCustomIPv6Address1"),
    ("c6a1Label", "deviceCustomIPv6Address1Label"),
    ("c6a2", "deviceCustomIPv6Address2"),
    ("c6a2Label", "deviceCustomIPv6Address2Label"),
    ("c6a3", "deviceCustomIPv6Address3"),
    ("c6a3Label", "deviceCustomIPv6Address3Label"),
    ("c6a4", "deviceCustomIPv6Address4"),
    ("c6a4Label", "deviceCustomIPv6Address4Label"),
    ("cat", "deviceEventCategory"),
    ("cfp1", "deviceCustomFloatingPoint1"),
    ("cfp1Label", "deviceCustomFloatingPoint1Label"),
    ("cfp2", "deviceCustomFloatingPoint2"),
    ("cfp2Label", "deviceCustomFloatingPoint2Label"),
    ("cfp3", "deviceCustomFloatingPoint3"),
    ("cfp3Label", "deviceCustomFloatingPoint3Label"),
    ("cfp4", "deviceCustomFloatingPoint4"),
    ("cfp4Label", "deviceCustomFloatingPoint4Label"),
    ("cn1", "deviceCustomNumber1"),
    ("cn1Label", "deviceCustomNumber1Label"),
    ("cn2", "deviceCustomNumber2"),
    ("cn2Label", "deviceCustomNumber2Label"),
    ("cn3", "deviceCustomNumber3"),
    ("cn3Label", "deviceCustomNumber3Label"),
    ("cnt", "baseEventCount"),
    ("cs1", "deviceCustomString1"),
    ("cs1Label", "deviceCustomString1Label"),
    ("cs2", "deviceCustomString2"),
    ("cs2Label", "deviceCustomString2Label"),
    ("cs3", "deviceCustomString3"),
    ("cs3Label", "deviceCustomString3Label"),
    ("cs4", "deviceCustomString4"),
    ("cs4Label", "deviceCustomString4Label"),
    ("cs5", "deviceCustomString5"),
    ("cs5Label", "deviceCustomString5Label"),
    ("cs6", "deviceCustomString6"),
    ("cs6Label", "deviceCustomString6Label"),
    ("customerExternalID", "customerExternalID"),
    ("customerURI", "customerURI"),
    ("destinationDnsDomain", "destinationDnsDomain"),
    ("destinationServiceName", "destinationServiceName"),
    (
        "destinationTranslatedAddress",
        "destinationTranslatedAddress",
    ),
    ("destinationTranslatedPort", "destinationTranslatedPort"),
    (
        "destinationTranslatedZoneExternalID",
        "destinationTranslatedZoneExternalID",
    ),
    (
        "destinationTranslatedZoneURI",
        "destinationTranslatedZoneURI",
    ),
    ("destinationZoneExternalID", "destinationZoneExternalID"),
    ("destinationZoneURI", "destinationZoneURI"),
    ("deviceCustomDate1", "deviceCustomDate1"),
    ("deviceCustomDate1Label", "deviceCustomDate1Label"),
    ("deviceCustomDate2", "deviceCustomDate2"),
    ("deviceCustomDate2Label", "deviceCustomDate2Label"),
    ("deviceDirection", "deviceDirection"),
    ("deviceDnsDomain", "deviceDnsDomain"),
    ("deviceExternalId", "deviceExternalId"),
    ("deviceFacility", "deviceFacility"),
    ("deviceInboundInterface", "deviceInboundInterface"),
    ("deviceNtDomain", "deviceNtDomain"),
    ("deviceOutboundInterface", "deviceOutboundInterface"),
    ("devicePayloadId", "devicePayloadId"),
    ("deviceProcessName", "deviceProcessName"),
    ("deviceTranslatedAddress", "deviceTranslatedAddress"),
    (
        "deviceTranslatedZoneExternalID",
        "deviceTranslatedZoneExternalID",
    ),
    ("deviceTranslatedZoneURI", "deviceTranslatedZoneURI"),
    ("deviceZoneExternalID", "deviceZoneExternalID"),
    ("deviceZoneURI", "deviceZoneURI"),
    ("dhost", "destinationHostName"),
    ("dlat", "destinationGeoLatitude"),
    ("dlong", "destinationGeoLongitude"),
    ("dmac", "destinationMacAddress"),
    ("dntdom", "destinationNtDomain"),
    ("dpid", "destinationProcessId"),
    ("dpriv", "destinationUserPrivileges"),
    ("dproc", "destinationProcessName"),
    ("dpt", "destinationPort"),
    ("dst", "destinationAddress"),
    ("dtz", "deviceTimeZone"),
    ("duid", "destinationUserId"),
    ("duser", "destinationUserName"),
    ("dvc", "deviceAddress"),
    ("dvchost", "deviceHostName"),
    ("dvcmac", "deviceMacAddress"),
    ("dvcpid", "deviceProcessId"),
    ("end", "endTime"),
    ("eventId", "eventId"),
    ("externalId", "externalId"),
    ("fileCreateTime", "fileCreateTime"),
    ("fileHash", "fileHash"),
    ("fileId", "fileId"),
    ("fileModificationTime", "fileModificationTime"),
    ("filePath", "filePath"),
    ("filePermission", "filePermission"),
    ("fileType", "fileType"),
    ("flexDate1", "flexDate1"),
    ("flexDate1Label", "flexDate1Label"),
    ("flexNumber1", "deviceFlexNumber1"),
    ("flexNumber1Label", "deviceFlexNumber1Label"),
    ("flexNumber2", "deviceFlexNumber2"),
    ("flexNumber2Label", "deviceFlexNumber2Label"),
    ("flexString1", "flexString1"),
    ("flexString1Label", "flexString1Label"),
    ("flexString2", "flexString2"),
    ("flexString2Label", "flexString2Label"),
    ("fname", "fileName"),
    ("fsize", "fileSize"),
    ("in", "bytesIn"),
    ("msg", "message"),
    ("oldFileCreateTime", "oldFileCreateTime"),
    ("oldFileHash", "oldFileHash"),
    ("oldFileId", "oldFileId"),
    ("oldFileModificationTime", "oldFileModificationTime"),
    ("oldFileName", "oldFileName"),
    ("oldFilePath", "oldFilePath"),
    ("oldFilePermission", "oldFilePermission"),
    ("oldFileSize", "oldFileSize"),
    ("oldFileType", "oldFileType"),
    ("out", "bytesOut"),
    ("outcome", "eventOutcome"),
    ("proto", "transportProtocol"),
    ("rawEvent", "rawEvent"),
    ("reason", "reason"),
    ("request", "requestUrl"),
    ("requestClientApplication", "requestClientApplication"),
    ("requestContext", "requestContext"),
    ("requestCookies", "requestCookies"),
    ("requestMethod", "requestMethod"),
    ("rt", "deviceReceiptTime"),
    ("shost", "sourceHostName"),
    ("slat", "sourceGeoLatitude"),
    ("slong", "sourceGeoLongitude"),
    ("smac", "sourceMacAddress"),
    ("sntdom", "sourceNtDomain"),
    ("sourceDnsDomain", "sourceDnsDomain"),
    ("sourceServiceName", "sourceServiceName"),
    ("sourceTranslatedAddress", "sourceTranslatedAddress"),
    ("sourceTranslatedPort", "sourceTranslatedPort"),
    (
        "sourceTranslatedZoneExternalID",
        "sourceTranslatedZoneExternalID",
    ),
    ("sourceTranslatedZoneURI", "sourceTranslatedZoneURI"),
    ("sourceZoneExternalID", "sourceZoneExternalID"),
    ("sourceZoneURI", "sourceZoneURI"),
    ("spid", "sourceProcessId"),
    ("spriv", "sourceUserPrivileges"),
    ("sproc", "sourceProcessName"),
    ("spt", "sourcePort"),
    ("src", "sourceAddress"),
    ("start", "startTime"),
    ("suid", "sourceUserId"),
    ("suser", "sourceUserName"),
    ("type", "type"),
];

/// The full name of a standard CEF extension key (`src` → `sourceAddress`, `cs1` →
/// `deviceCustomString1`, `fileHash` → `fileHash`); `None` for keys outside the ArcSight
/// dictionary (vendor-specific and custom keys).
///
/// ```
/// assert_eq!(cef::full_name("dpt"), Some("destinationPort"));
/// assert_eq!(cef::full_name("act"), Some("deviceAction"));
/// assert_eq!(cef::full_name("myVendorKey"), None);
/// ```
pub fn full_name(key: &str) -> Option<&'static str> {
    KEYS.binary_search_by(|(k, _)| (*k).cmp(key))
        .ok()
        .and_then(|i| KEYS.get(i))
        .map(|(_, full)| *full)
}

/// The short key of a full name (`sourceAddress` → `src`); `None` when the name is not in the
/// dictionary or has no shorter key.
pub fn short_key(full: &str) -> Option<&'static str> {
    KEYS.iter()
        .find(|(k, f)| *f == full && *k != full)
        .map(|(k, _)| *k)
}

/// Keys that carry a `<key>Label` naming them: csN, cnN, cfpN, c6aN, flexStringN, flexNumberN,
/// flexDateN, deviceCustomDateN, and the full names of the first four
/// (deviceCustomStringN ...).
pub(crate) fn is_labeled_key(key: &str) -> bool {
    [
        "cs",
        "cn",
        "cfp",
        "c6a",
        "flexString",
        "flexNumber",
        "deviceFlexNumber",
        "flexDate",
        "deviceCustomDate",
        "deviceCustomString",
        "deviceCustomNumber",
        "deviceCustomFloatingPoint",
        "deviceCustomIPv6Address",
    ]
    .iter()
    .any(|p| {
        key.strip_prefix(p)
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|c| c.is_ascii_digit()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorted_and_found() {
        assert!(
            KEYS.windows(2).all(|w| w[0].0 < w[1].0),
            "KEYS must stay sorted"
        );
        for (short, full) in [
            ("src", "sourceAddress"),
            ("dst", "destinationAddress"),
            ("spt", "sourcePort"),
            ("dpt", "destinationPort"),
            ("suser", "sourceUserName"),
            ("duser", "destinationUserName"),
            ("act", "deviceAction"),
            ("request", "requestUrl"),
            ("requestMethod", "requestMethod"),
            ("rt", "deviceReceiptTime"),
            ("msg", "message"),
            ("dhost", "destinationHostName"),
            ("shost", "sourceHostName"),
            ("cs6", "deviceCustomString6"),
            ("cn3", "deviceCustomNumber3"),
            ("proto", "transportProtocol"),
            ("outcome", "eventOutcome"),
            ("app", "applicationProtocol"),
            ("cat", "deviceEventCategory"),
            ("fname", "fileName"),
            ("in", "bytesIn"),
            ("out", "bytesOut"),
        ] {
            assert_eq!(full_name(short), Some(full), "{short}");
        }
        assert_eq!(full_name("nope"), None);
        assert_eq!(short_key("sourceAddress"), Some("src"));
        assert_eq!(short_key("fileHash"), None);
        assert!(is_labeled_key("cs1") && is_labeled_key("c6a3") && !is_labeled_key("src"));
        assert!(is_labeled_key("deviceCustomString2") && !is_labeled_key("cs"));
    }
}
