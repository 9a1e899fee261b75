//! Parsing a 4 MiB Elasticsearch bulk body.
use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};

fn bench(c: &mut Criterion) {
    let mut body = String::new();
    let mut n = 0;
    while body.len() < 4 << 20 {
        body.push_str("{\"index\":{\"_index\":\"events\"}}\n");
        body.push_str(&format!(
            "{{\"category\":\"syslog\",\"hostname\":\"host-{n}\",\"summary\":\"Failed password for invalid user admin from 198.51.100.{} port 22 ssh2\",\"details\":{{\"sourceipaddress\":\"198.51.100.{}\",\"n\":{n}}}}}\n",
            n % 250, n % 250
        ));
        n += 1;
    }
    let mut g = c.benchmark_group("bulk");
    g.throughput(Throughput::Bytes(body.len() as u64));
    g.sample_size(20);
    g.bench_function("es_bulk_4mib", |b| {
        b.iter(|| ferrodef_sources::http_body::parse_bulk(black_box(body.as_bytes()), 64))
    });
    // As `/_bulk` parses documents to normalize.
    g.bench_function("es_bulk_4mib_incoming", |b| {
        b.iter(|| {
            ferrodef_sources::http_body::parse_bulk_as::<ferrodef_event::Incoming>(
                black_box(body.as_bytes()),
                64,
            )
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
