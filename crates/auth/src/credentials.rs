//! Reading credentials from request headers: `Authorization` (Bearer or Basic) and the session
//! cookie. Pure functions on header text (fuzzed: `fuzz/fuzz_targets/credentials.rs`).

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

/// Longest `Authorization` header read (a token is 60 bytes; Basic of a 1024-byte password
/// fits).
pub const MAX_AUTHORIZATION_BYTES: usize = 4096;

/// What an `Authorization` header holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Authorization {
    /// `Bearer <token>`.
    Bearer(String),
    /// `Basic base64(user:password)`.
    Basic {
        /// User name.
        user: String,
        /// Password.
        password: String,
    },
}

/// Reads an `Authorization` header value; the error says what is wrong with it.
pub fn parse_authorization(value: &[u8]) -> Result<Authorization, &'static str> {
    if value.len() > MAX_AUTHORIZATION_BYTES {
        return Err("the Authorization header is too long");
    }
    let Ok(v) = std::str::from_utf8(value) else {
        return Err("the Authorization header is not text");
    };
    let v = v.trim();
    let (scheme, rest) = v.split_once(' ').unwrap_or((v, ""));
    let rest = rest.trim();
    if scheme.eq_ignore_ascii_case("bearer") {
        if rest.is_empty() {
            return Err("the Bearer token is empty");
        }
        return Ok(Authorization::Bearer(rest.to_string()));
    }
    if scheme.eq_ignore_ascii_case("basic") {
        let decoded = STANDARD
            .decode(rest)
            .ok()
            .and_then(|b| String::from_utf8(b).ok());
        return match decoded.as_deref().and_then(|d| d.split_once(':')) {
            Some((u, p)) => Ok(Authorization::Basic {
                user: u.to_string(),
                password: p.to_string(),
            }),
            None => Err("the Basic credentials are not base64 of user:password"),
        };
    }
    Err("unsupported Authorization scheme: use Bearer or Basic")
}

/// The value of cookie `name` in `Cookie` header values.
pub fn cookie<'a>(headers: impl IntoIterator<Item = &'a [u8]>, name: &str) -> Option<String> {
    headers
        .into_iter()
        .filter_map(|v| std::str::from_utf8(v).ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// The id part of an API token `fdt_<12 hex>_<secret>`.
pub fn token_id(token: &str) -> Option<&str> {
    let rest = token.strip_prefix(crate::TOKEN_PREFIX)?;
    let id = rest.get(..12)?;
    let ok = id.bytes().all(|b| b.is_ascii_hexdigit()) && rest.as_bytes().get(12) == Some(&b'_');
    ok.then_some(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers() {
        assert_eq!(
            parse_authorization(b"Bearer fdt_x"),
            Ok(Authorization::Bearer("fdt_x".into()))
        );
        assert_eq!(
            parse_authorization(b"basic YWxpY2U6cDpx"),
            Ok(Authorization::Basic {
                user: "alice".into(),
                password: "p:q".into()
            })
        );
        assert!(parse_authorization(b"Basic !!!").is_err());
        assert!(parse_authorization(b"Digest x").is_err());
        assert!(parse_authorization(b"Bearer ").is_err());
        assert!(parse_authorization(&[0xff, 0xfe]).is_err());
        assert_eq!(
            cookie([&b"a=1; ferrodef_session=abc"[..]], "ferrodef_session"),
            Some("abc".into())
        );
        assert_eq!(cookie([&b"x"[..]], "a"), None);
        assert_eq!(token_id("fdt_0123456789ab_zzz"), Some("0123456789ab"));
        assert_eq!(token_id("fdt_0123456789abzzzz"), None);
        assert_eq!(token_id("fdt_é"), None);
    }
}
