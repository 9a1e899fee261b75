//! The whole transform pipeline (parsers, ipfixup, geoip with a real country DB, watchlist) on a
//! realistic mix of normalized events.
use std::hint::black_box;
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ferrodef_transforms::geoip::{GeoConfig, GeoIp};
use ferrodef_transforms::normalize::{normalize, NormalizeContext};
use ferrodef_transforms::pipeline::{IpFixup, Parsers, Pipeline, Transform, Watchlist};
use serde_json::json;

// As in the `ferrodef` binary.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn bench(c: &mut Criterion) {
    let ctx = NormalizeContext {
        now: chrono::Utc::now(),
        mozdefhostname: "bench".into(),
        default_tz: chrono_tz::UTC,
        source: None,
    };
    let corpora = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/corpora/geoip");
    let (geo, _) = GeoIp::open(&GeoConfig {
        country_db: Some(format!("{corpora}/country_mmdb/iptoasn-country.mmdb").into()),
        cache_size: 65_536,
        ..Default::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let wl = dir.path().join("w.txt");
    std::fs::write(
        &wl,
        "watch ip 203.0.113.7\nblock cidr 198.51.100.0/24\nwatch user svc\n",
    )
    .unwrap();
    let geo_t = ferrodef_transforms::pipeline::geo_transform(geo);
    let transforms: Vec<Arc<dyn Transform>> = vec![
        Arc::new(Parsers),
        Arc::new(IpFixup),
        geo_t,
        Arc::new(Watchlist::from_file(wl)),
    ];
    let mut events = Vec::new();
    for i in 0..64u32 {
        let ip = format!(
            "{}.{}.{}.{}",
            [81, 8, 198, 10][i as usize % 4],
            i,
            7,
            1 + i % 200
        );
        events.push(match i % 4 {
            0 => json!({"processname": "sshd", "summary": format!("Failed password for invalid user admin from {ip} port 52311 ssh2")}),
            1 => json!({"processname": "sudo", "summary": "alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/systemctl restart nginx"}),
            2 => json!({"processname": "squid", "summary": format!("1286536308.779    180 {ip} TCP_DENIED/403 411 CONNECT evil.example.com:8443 - HIER_NONE/- text/html")}),
            _ => json!({"processname": "nginx", "summary": format!("{ip} - - [22/Nov/2026:10:00:00 +0000] \"GET /index.html HTTP/1.1\" 200 5120 \"-\" \"curl/8.5.0\"")}),
        });
    }
    let normalized: Vec<_> = events
        .iter()
        .map(|e| normalize(e.clone(), &ctx).unwrap())
        .collect();
    let mut g = c.benchmark_group("transform_pipeline");
    g.throughput(Throughput::Elements(normalized.len() as u64));
    // Each event is copied, transformed and dropped inside the timed loop: the allocator
    // reaches a steady state as in the server (batched set-up would free and re-fault fresh
    // pages between batches and measure the kernel instead). The copy alone is measured
    // below; it is included in the pipeline figures, which is therefore conservative.
    // The whole pipeline, then its first 1, 2 and 3 transforms: what each one adds.
    for (n, name) in [
        (4, "parsers_ipfixup_geoip_watchlist"),
        (1, "parsers"),
        (2, "parsers_ipfixup"),
        (3, "parsers_ipfixup_geoip"),
    ] {
        let p = Pipeline::new(transforms[..n].to_vec());
        g.bench_function(format!("{name}_mix64"), |b| {
            b.iter(|| {
                for e in &normalized {
                    let mut e = e.clone();
                    black_box(p.run(&mut e));
                    black_box(&e);
                }
            })
        });
    }
    g.bench_function("copy_only_mix64", |b| {
        b.iter(|| {
            for e in &normalized {
                black_box(&e.clone());
            }
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
