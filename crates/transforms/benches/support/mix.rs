//! The realistic event mix and transform list shared by `benches/pipeline.rs` and
//! `examples/pipeline_count.rs`: sshd, sudo, squid and nginx lines (64 events), and the whole
//! pipeline (parsers, ipfixup, geoip with the real iptoasn country database, watchlist).

use std::sync::Arc;

use ferrodef_event::Event;
use ferrodef_transforms::geoip::{GeoConfig, GeoIp};
use ferrodef_transforms::normalize::{normalize, NormalizeContext};
use ferrodef_transforms::pipeline::{IpFixup, Parsers, Transform, Watchlist};
use serde_json::{json, Value};

/// What the bench and the instruction counter run on.
pub struct Mix {
    /// Normalization settings.
    pub ctx: NormalizeContext,
    /// The raw events, as a client sends them.
    pub raw: Vec<Value>,
    /// The same events, normalized.
    pub normalized: Vec<Event>,
    /// parsers, ipfixup, geoip, watchlist.
    pub transforms: Vec<Arc<dyn Transform>>,
    /// Holds the watchlist file.
    pub _dir: tempfile::TempDir,
}

/// Builds the mix.
pub fn mix() -> Mix {
    let ctx = NormalizeContext {
        now: chrono::Utc::now(),
        mozdefhostname: "bench".into(),
        default_tz: chrono_tz::UTC,
        source: None,
    };
    // The real country database of the shared corpora (`FERRODEF_CORPORA`, relative to the
    // project root, default `../shared/corpora`); without it GeoIP is off and says so.
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let corpora = root
        .join(std::env::var_os("FERRODEF_CORPORA").unwrap_or_else(|| "../shared/corpora".into()));
    let (geo, warnings) = GeoIp::open(&GeoConfig {
        country_db: Some(corpora.join("geoip/country_mmdb/iptoasn-country.mmdb")),
        cache_size: 65_536,
        ..Default::default()
    });
    for w in warnings {
        eprintln!("bench mix: {w}");
    }
    let dir = tempfile::tempdir().expect("temporary directory");
    let wl = dir.path().join("w.txt");
    std::fs::write(
        &wl,
        "watch ip 203.0.113.7\nblock cidr 198.51.100.0/24\nwatch user svc\n",
    )
    .expect("watchlist written");
    let transforms: Vec<Arc<dyn Transform>> = vec![
        Arc::new(Parsers),
        Arc::new(IpFixup),
        ferrodef_transforms::pipeline::geo_transform(geo),
        Arc::new(Watchlist::from_file(wl)),
    ];
    let mut raw = Vec::new();
    for i in 0..64u32 {
        let ip = format!(
            "{}.{}.{}.{}",
            [81, 8, 198, 10][i as usize % 4],
            i,
            7,
            1 + i % 200
        );
        raw.push(match i % 4 {
            0 => json!({"processname": "sshd", "summary": format!("Failed password for invalid user admin from {ip} port 52311 ssh2")}),
            1 => json!({"processname": "sudo", "summary": "alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/systemctl restart nginx"}),
            2 => json!({"processname": "squid", "summary": format!("1286536308.779    180 {ip} TCP_DENIED/403 411 CONNECT evil.example.com:8443 - HIER_NONE/- text/html")}),
            _ => json!({"processname": "nginx", "summary": format!("{ip} - - [22/Nov/2026:10:00:00 +0000] \"GET /index.html HTTP/1.1\" 200 5120 \"-\" \"curl/8.5.0\"")}),
        });
    }
    let normalized = raw
        .iter()
        .map(|e| normalize(e.clone(), &ctx).expect("the mix normalizes"))
        .collect();
    Mix {
        ctx,
        raw,
        normalized,
        transforms,
        _dir: dir,
    }
}

/// One pass over the normalized mix through `p`: each event is copied, transformed and
/// dropped (the copy is measured alone by the bench's `copy_only`).
pub fn pipeline_only(m: &Mix, p: &ferrodef_transforms::pipeline::Pipeline) {
    for e in &m.normalized {
        let mut e = e.clone();
        std::hint::black_box(p.run(&mut e));
        std::hint::black_box(&e);
    }
}

/// One pass over the raw mix doing what the server does per event on its request threads:
/// normalize, transform and serialize the event (the stored document's JSON).
pub fn server_path(m: &Mix, p: &ferrodef_transforms::pipeline::Pipeline) {
    for raw in &m.raw {
        let Ok(mut e) = normalize(raw.clone(), &m.ctx) else {
            panic!("the mix normalizes")
        };
        std::hint::black_box(p.run(&mut e));
        std::hint::black_box(serde_json::to_vec(&e).ok());
        std::hint::black_box(e);
    }
}
