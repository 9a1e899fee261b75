//! The whole transform pipeline (parsers, ipfixup, geoip with a real country DB, watchlist) on a
//! realistic mix of normalized events.
use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ferrodef_transforms::pipeline::Pipeline;

#[path = "support/mix.rs"]
mod support;
use support::{mix, pipeline_only, server_path};

// As in the `ferrodef` binary.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn bench(c: &mut Criterion) {
    let m = mix();
    let mut g = c.benchmark_group("transform_pipeline");
    g.throughput(Throughput::Elements(m.normalized.len() as u64));
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
        let p = Pipeline::new(m.transforms[..n].to_vec());
        g.bench_function(format!("{name}_mix64"), |b| {
            b.iter(|| pipeline_only(&m, &p))
        });
    }
    g.bench_function("copy_only_mix64", |b| {
        b.iter(|| {
            for e in &m.normalized {
                black_box(&e.clone());
            }
        })
    });
    // What the server does per event around the pipeline: normalize the raw JSON, transform,
    // build the stored document, serialize it.
    let p = Pipeline::new(m.transforms.clone());
    g.bench_function("server_path_mix64", |b| b.iter(|| server_path(&m, &p)));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
