//! The ArcSight CEF key dictionary: short extension keys and their full names.

/// (short key, full name), from the ArcSight CEF implementation standard.
const KEYS: &[(&str, &str)] = &[
    ("act", "deviceAction"),
    ("app", "applicationProtocol"),
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
    ("destinationDnsDomain", "destinationDnsDomain"),
    ("destinationServiceName", "destinationServiceName"),
    (
        "destinationTranslatedAddress",
        "destinationTranslatedAddress",
    ),
    ("destinationTranslatedPort", "destinationTranslatedPort"),
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
    ("dhost", "destinationHostName"),
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
    ("flexNumber1", "flexNumber1"),
    ("flexNumber1Label", "flexNumber1Label"),
    ("flexNumber2", "flexNumber2"),
    ("flexNumber2Label", "flexNumber2Label"),
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
    ("reason", "reason"),
    ("request", "requestUrl"),
    ("requestClientApplication", "requestClientApplication"),
    ("requestContext", "requestContext"),
    ("requestCookies", "requestCookies"),
    ("requestMethod", "requestMethod"),
    ("rt", "deviceReceiptTime"),
    ("shost", "sourceHostName"),
    ("smac", "sourceMacAddress"),
    ("sntdom", "sourceNtDomain"),
    ("sourceDnsDomain", "sourceDnsDomain"),
    ("sourceServiceName", "sourceServiceName"),
    ("sourceTranslatedAddress", "sourceTranslatedAddress"),
    ("sourceTranslatedPort", "sourceTranslatedPort"),
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

/// The full name of a standard short key (`src` → `sourceAddress`); `None` for keys that are
/// not in the dictionary.
pub fn full_name(key: &str) -> Option<&'static str> {
    KEYS.binary_search_by(|(k, _)| (*k).cmp(key))
        .ok()
        .and_then(|i| KEYS.get(i))
        .map(|(_, full)| *full)
}

/// Keys that carry a `<key>Label` naming them.
pub(crate) fn is_labeled_key(key: &str) -> bool {
    [
        "cs",
        "cn",
        "cfp",
        "c6a",
        "flexString",
        "flexNumber",
        "flexDate",
        "deviceCustomDate",
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
        assert_eq!(full_name("src"), Some("sourceAddress"));
        assert_eq!(full_name("cs4"), Some("deviceCustomString4"));
        assert_eq!(full_name("nope"), None);
        assert!(is_labeled_key("cs1") && is_labeled_key("c6a3") && !is_labeled_key("src"));
    }
}
