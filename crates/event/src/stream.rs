//! Stream names: which names a stream of documents (`events`, `alerts`, `custom-<app>`...)
//! may have.

/// The longest stream name, in bytes.
pub const MAX_STREAM_NAME: usize = 100;

/// Whether `name` may name a stream: 1 to [`MAX_STREAM_NAME`] of `a-z`, `0-9`, `-`, `_`.
///
/// A stream is a directory of the store, so its name is restricted to characters that every
/// file system keeps unchanged (no case folding, no separators, never `.` or `..`).
pub fn is_valid_stream_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_STREAM_NAME
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_names() {
        for ok in [
            "events",
            "alerts",
            "custom-my_app-2",
            &"a".repeat(MAX_STREAM_NAME),
        ] {
            assert!(is_valid_stream_name(ok), "{ok}");
        }
        let long = "a".repeat(MAX_STREAM_NAME + 1);
        for bad in ["", "Events", "a/b", "..", "a.b", "é", &long] {
            assert!(!is_valid_stream_name(bad), "{bad}");
        }
    }
}
