//! CEF parse and format throughput on realistic lines.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};

/// What a Mozilla service sends through syslog.
const MOZILLA: &str = "<164>Nov 22 10:15:07 auth-1 accounts[812]: CEF:0|mozilla|accounts|3|AuthFail|Authentication failure|5|cs1Label=requestClientApplication cs1=Mozilla/5.0 (X11; Linux x86_64; rv:130.0) Gecko/20100101 Firefox/130.0 requestMethod=POST request=/v1/account/login?service\\=sync src=203.0.113.9 dhost=accounts.example.com suser=tarek act=denied msg=Password did not match";

/// A forwarded ArcSight ESM correlation event: many pairs, spaces and escapes in values.
const ARCSIGHT: &str = "CEF:0|ArcSight|ArcSight|7.0.0.2436.1|rule:101|Brute Force Login Attempt - Multiple Failures|High| eventId=1234567890 type=2 mrt=1600000000000 sessionId=0 generatorID=34rSQWFOOOCAVlswcKFkbA\\=\\= categorySignificance=/Compromise categoryBehavior=/Authentication/Verify categoryDeviceGroup=/Application categoryOutcome=/Failure categoryObject=/Host/Application/Service modelConfidence=0 severity=7 relevance=10 assetCriticality=0 priority=8 art=1600000001234 cat=/Detection/Brute Force deviceSeverity=Warning rt=1600000000000 shost=ws-042.corp.example.com src=10.20.30.40 sourceZoneURI=/All Zones/Corp/Workstations 10.20.0.0-10.20.255.255 spt=51515 dhost=dc-01.corp.example.com dst=10.0.0.5 destinationZoneURI=/All Zones/Corp/Servers dpt=445 duser=administrator suser=jdoe proto=TCP cs1Label=Rule Name cs1=Multiple failed logins from one source cs2Label=Failures cs2=17 cn1Label=Window cn1=300 msg=17 failed logins for administrator from 10.20.30.40 within 5 minutes\\nthreshold 10 ahost=connector-3 agt=10.0.0.9 av=7.14.0.8 atz=Europe/Berlin aid=3UBajWl0BABCABBzZSlmUdw\\=\\= at=superagent_ng dvchost=esm-1 dvc=10.0.0.10 dtz=UTC deviceFacility=Rules Engine _cefVer=0.1 ad.arcSightEventPath=3VcygrkkBABCAYFOOLlU13A\\=\\=";

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("cef");
    for (name, line) in [("parse_mozilla", MOZILLA), ("parse_arcsight", ARCSIGHT)] {
        g.throughput(Throughput::Bytes(line.len() as u64));
        g.bench_function(name, |b| {
            b.iter(|| cef::parse(std::hint::black_box(line)).map(|e| e.extensions.len()))
        });
    }
    g.throughput(Throughput::Elements(1));
    let config = cef::CefConfig {
        version: "0".into(),
        vendor: "mozilla".into(),
        product: "accounts".into(),
        device_version: "3".into(),
    };
    let time = chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default();
    let ev = cef::Event::new("AuthFail", "Authentication failure", 5)
        .user("tarek")
        .source_ip("203.0.113.9")
        .request("POST", "/v1/account/login?service=sync")
        .user_agent("Mozilla/5.0 (X11; Linux x86_64; rv:130.0) Gecko/20100101 Firefox/130.0")
        .host("accounts.example.com")
        .action("denied")
        .msg("Password did not match");
    g.bench_function("format_mozilla", |b| {
        b.iter(|| {
            std::hint::black_box(&ev)
                .format(&config, time, "auth-1")
                .line
                .len()
        })
    });
    let parsed = cef::parse(ARCSIGHT).ok();
    g.bench_function("display_arcsight", |b| {
        b.iter(|| parsed.as_ref().map(|e| e.to_string().len()))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
