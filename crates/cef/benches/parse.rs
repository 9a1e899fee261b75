//! CEF parse and format throughput.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};

const LINE: &str = "Nov 22 10:15:07 auth-1 CEF:0|mozilla|accounts|3|AuthFail|Authentication failure|5|cs1Label=requestClientApplication cs1=Mozilla/5.0 (X11; Linux x86_64; rv:130.0) Gecko/20100101 Firefox/130.0 requestMethod=POST request=/v1/account/login?service\\=sync src=203.0.113.9 dhost=accounts.example.com suser=tarek act=denied msg=Password did not match";

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("cef");
    g.throughput(Throughput::Elements(1));
    g.bench_function("parse", |b| {
        b.iter(|| cef::parse(std::hint::black_box(LINE)).map(|e| e.extensions.len()))
    });
    let config = cef::CefConfig::default();
    let ev = cef::Event::new("AuthFail", "Authentication failure", 5)
        .user("tarek")
        .source_ip("203.0.113.9")
        .request("POST", "/v1/account/login?service=sync")
        .action("denied")
        .msg("Password did not match");
    g.bench_function("format", |b| {
        b.iter(|| ev.format(&config, "Nov 22 10:15:07", "auth-1").line.len())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
