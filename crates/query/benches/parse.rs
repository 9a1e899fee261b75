use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;

const QUERIES: &[&str] = &[
    "details.sourceipaddress:203.0.113.7",
    "category:authentication AND details.sourceipaddress:10.0.0.0/8 AND NOT tags:watchlist AND summary:\"failed password\" AND utctimestamp:[now-1h TO now]",
    "(hostname:web-* OR hostname:db-?) AND details.status:[500 TO 599] AND _exists_:details.url",
];

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("query_parse");
    for (i, q) in QUERIES.iter().enumerate() {
        g.throughput(Throughput::Bytes(q.len() as u64));
        g.bench_function(format!("q{i}"), |b| {
            b.iter(|| ferrodef_query::parse(black_box(q)))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
