//! Key look-up in small JSON objects.

use serde_json::{Map, Value};

/// Objects up to this many keys are searched by comparing keys, not by hashing: an event's
/// objects are small (its top level has 13–17 keys, its details typically 5–20), and
/// comparing a few short keys (length first) costs less than hashing one.
pub const LINEAR_LOOKUP: usize = 24;

/// The value of `key` in `m` (as `m.get(key)`).
#[inline]
pub fn get_key<'a>(m: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    if m.len() <= LINEAR_LOOKUP {
        // Length, then first and last bytes, before the comparison: keys of the same length
        // (`details`, `summary`) mostly differ there, and a short inline test costs less
        // than calling the comparison.
        let want = key.as_bytes();
        let (first, last) = (want.first(), want.last());
        m.iter()
            .find(|(k, _)| {
                let b = k.as_bytes();
                b.len() == want.len() && b.first() == first && b.last() == last && b == want
            })
            .map(|(_, v)| v)
    } else {
        m.get(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_as_get_whatever_the_size() {
        for n in [
            0,
            1,
            LINEAR_LOOKUP - 1,
            LINEAR_LOOKUP,
            LINEAR_LOOKUP + 1,
            100,
        ] {
            let m: Map<String, Value> = (0..n).map(|i| (format!("k{i}"), Value::from(i))).collect();
            for k in ["k0", "k1", "k23", "k24", "k25", "k99", "k100", "", "K1"] {
                assert_eq!(get_key(&m, k), m.get(k), "{n} keys, {k}");
            }
        }
    }
}
