//! MozDef's severities.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// MozDef's severities, lowest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// DEBUG
    Debug,
    /// INFO
    Info,
    /// NOTICE
    Notice,
    /// WARNING
    Warning,
    /// ERROR
    Error,
    /// CRITICAL
    Critical,
    /// ALERT
    Alert,
    /// EMERGENCY
    Emergency,
}

impl Severity {
    /// The upper-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Debug => "DEBUG",
            Severity::Info => "INFO",
            Severity::Notice => "NOTICE",
            Severity::Warning => "WARNING",
            Severity::Error => "ERROR",
            Severity::Critical => "CRITICAL",
            Severity::Alert => "ALERT",
            Severity::Emergency => "EMERGENCY",
        }
    }

    /// Reads a severity: a name or common alias, case-insensitive, or a syslog level 0–7
    /// (0 = EMERGENCY … 7 = DEBUG).
    pub fn parse(s: &str) -> Option<Severity> {
        let s = s.trim();
        Some(match s.to_ascii_lowercase().as_str() {
            "debug" | "trace" | "7" => Severity::Debug,
            "info" | "information" | "informational" | "6" => Severity::Info,
            "notice" | "5" => Severity::Notice,
            "warning" | "warn" | "4" => Severity::Warning,
            "error" | "err" | "3" => Severity::Error,
            "critical" | "crit" | "fatal" | "2" => Severity::Critical,
            "alert" | "1" => Severity::Alert,
            "emergency" | "emerg" | "panic" | "0" => Severity::Emergency,
            _ => return None,
        })
    }

    /// The syslog level (0 = EMERGENCY … 7 = DEBUG).
    pub fn syslog_level(self) -> u8 {
        7 - self as u8
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Severity {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Severity {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Severity::parse(&s)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown severity '{s}'")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severities() {
        assert_eq!(Severity::parse("info"), Some(Severity::Info));
        assert_eq!(Severity::parse("WARN"), Some(Severity::Warning));
        assert_eq!(Severity::parse("0"), Some(Severity::Emergency));
        assert_eq!(Severity::parse("7"), Some(Severity::Debug));
        assert_eq!(Severity::parse("crit"), Some(Severity::Critical));
        assert_eq!(Severity::parse("high"), None);
        assert_eq!(Severity::Error.syslog_level(), 3);
        assert_eq!(
            serde_json::to_string(&Severity::Notice).unwrap(),
            "\"NOTICE\""
        );
    }
}
