//! RFC 5424 and RFC 3164 syslog parsing
