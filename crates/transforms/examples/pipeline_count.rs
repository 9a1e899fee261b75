//! Instruction counts of the transform pipeline, for valgrind (machine-independent, unlike
//! timings on shared machines). Same set-up and loops as `benches/pipeline.rs`:
//!
//! `pipeline_count ROUNDS [N]`: ROUNDS passes over the 64-event mix through the first N
//! transforms (default 4, the whole pipeline); `pipeline_count ROUNDS 4 server`: what the server
//! does per event instead (normalize the raw JSON, transform, build the stored document,
//! serialize it). Instructions per event = (I(ROUNDS) - I(0)) / (64 * ROUNDS), e.g.
//! `valgrind --tool=callgrind target/release/examples/pipeline_count 100`.
use std::hint::black_box;

use ferrodef_transforms::pipeline::Pipeline;

#[path = "../benches/support/mix.rs"]
mod support;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let m = support::mix();
    let arg = |i: usize| std::env::args().nth(i);
    let rounds: usize = arg(1).and_then(|a| a.parse().ok()).unwrap_or(0);
    let n: usize = arg(2).and_then(|a| a.parse().ok()).unwrap_or(4);
    let p = Pipeline::new(m.transforms[..n.min(4)].to_vec());
    let server = arg(3).as_deref() == Some("server");
    for _ in 0..rounds {
        if server {
            support::server_path(&m, &p);
        } else {
            support::pipeline_only(&m, &p);
        }
    }
    black_box(&m.normalized);
}
