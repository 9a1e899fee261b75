//! Web server access logs (common and combined log format) and squid's native access.log.

use serde_json::Value;

use crate::parsed::{Cur, Parsed};

fn num(s: &str) -> Value {
    s.parse::<i64>().map(Value::from).unwrap_or(Value::Null)
}

/// Squid's native access.log line split into its fields: time, elapsed, client,
/// action, status, bytes, method, URL, user, hierarchy, peer, type.
fn squid_fields(line: &str) -> Option<[&str; 11]> {
    let mut it = line.split_ascii_whitespace();
    let time = it.next()?;
    let (secs, ms) = time.split_once('.')?;
    if secs.is_empty()
        || !secs.bytes().all(|b| b.is_ascii_digit())
        || !ms.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let elapsed = it
        .next()
        .filter(|e| e.bytes().all(|b| b.is_ascii_digit()))?;
    let client = it.next()?;
    let (action, status) = it.next()?.split_once('/')?;
    if action.is_empty()
        || !action.bytes().all(|b| b.is_ascii_uppercase() || b == b'_')
        || status.len() != 3
    {
        return None;
    }
    let bytes = it.next()?;
    let method = it.next()?;
    let url = it.next()?;
    let user = it.next()?;
    let (hier, _peer) = it.next()?.split_once('/')?;
    let mime = it.next()?;
    Some([
        time, elapsed, client, action, status, bytes, method, url, user, hier, mime,
    ])
}

/// Web server access logs (common and combined log format) and squid's native access.log.
pub fn parse_access_log(line: &str) -> Option<Parsed> {
    let line = line.trim();
    if let Some(f) = squid_fields(line) {
        let mut r = Parsed::new("squid", Some("proxy"))
            .s("sourceipaddress", f[2])
            .s("proxyaction", f[3])
            .s("method", f[6])
            .s("destination", f[7])
            .s("user", f[8])
            .s("hierarchy", f[9])
            .s("mimetype", f[10]);
        r.push("status", num(f[4]));
        r.push("bytes", num(f[5]));
        r.push("elapsed", num(f[1]));
        let dest = f[7];
        let host = dest
            .split("://")
            .nth(1)
            .unwrap_or(dest)
            .split(['/', ':'])
            .next()
            .unwrap_or("");
        if !host.is_empty() {
            r = r.s("host", host);
        }
        if let Some((_, port)) = dest
            .rsplit_once(':')
            .filter(|(_, p)| p.chars().all(|c| c.is_ascii_digit()) && !p.is_empty())
        {
            r = r.s("destinationport", port);
        }
        return Some(r);
    }
    let a = access_fields(line)?;
    let mut r = Parsed::new("accesslog", Some("web"))
        .s("sourceipaddress", a.client)
        .s("method", a.method)
        .s("url", a.url)
        .s("timestamp", a.time)
        .opt("protocol", a.protocol)
        .opt("user", Some(a.user).filter(|u| *u != "-"))
        .opt("referrer", a.referrer.filter(|u| *u != "-"))
        .opt("useragent", a.useragent);
    r.push("status", num(a.status));
    r.push(
        "bytes",
        if a.bytes == "-" {
            Value::from(0)
        } else {
            num(a.bytes)
        },
    );
    Some(r)
}

/// The parts of a common/combined log format line.
#[derive(Debug, PartialEq)]
pub(crate) struct AccessFields<'a> {
    pub(crate) client: &'a str,
    pub(crate) user: &'a str,
    pub(crate) time: &'a str,
    pub(crate) method: &'a str,
    pub(crate) url: &'a str,
    pub(crate) protocol: Option<&'a str>,
    pub(crate) status: &'a str,
    pub(crate) bytes: &'a str,
    pub(crate) referrer: Option<&'a str>,
    pub(crate) useragent: Option<&'a str>,
}

/// `CLIENT IDENT USER [TIME] "METHOD URL[ PROTO]" STATUS BYTES[ "REFERRER" "AGENT"]`.
///
/// The request ends at the first `"` followed by a space and a three-digit status; its
/// method, URL and protocol are separated by single spaces.
pub(crate) fn access_fields(line: &str) -> Option<AccessFields<'_>> {
    let mut c = Cur(line);
    let client = c.word()?;
    c.lit(" ")?;
    c.word()?;
    c.lit(" ")?;
    let user = c.word()?;
    c.lit(" [")?;
    let (time, rest) = c.0.split_once(']')?;
    if time.is_empty() {
        return None;
    }
    let rest = rest.strip_prefix(" \"")?;
    // The closing quote of the request: the first one followed by ` DDD `.
    let mut end = None;
    for (i, _) in rest.match_indices('"') {
        let after = rest.as_bytes().get(i + 1..i + 6);
        if let Some([b' ', d1, d2, d3, b' ']) = after {
            if d1.is_ascii_digit() && d2.is_ascii_digit() && d3.is_ascii_digit() {
                end = Some(i);
                break;
            }
        }
    }
    let end = end?;
    let request = &rest[..end];
    // Two or three `\S+` words separated by single spaces.
    let is_word = |p: &&str| !p.is_empty() && !p.contains(char::is_whitespace);
    let mut parts = request.split(' ');
    let method = parts.next().filter(is_word)?;
    let url = parts.next().filter(is_word)?;
    let protocol = match parts.next() {
        None => None,
        Some(p) => Some(p).filter(is_word).map(Some)?,
    };
    if parts.next().is_some() {
        return None;
    }
    let mut c = Cur(&rest[end + 2..]);
    let status = &c.0[..3];
    c.0 = &c.0[4..];
    let bytes = if c.lit("-").is_some() {
        "-"
    } else {
        c.digits()?
    };
    let (referrer, useragent) = (|| {
        let rest = c.0.strip_prefix(" \"")?;
        let (referrer, rest) = rest.split_once('"')?;
        let rest = rest.strip_prefix(" \"")?;
        let (agent, _) = rest.split_once('"')?;
        Some((referrer, agent))
    })()
    .unzip();
    Some(AccessFields {
        client,
        user,
        time,
        method,
        url,
        protocol,
        status,
        bytes,
        referrer,
        useragent,
    })
}
