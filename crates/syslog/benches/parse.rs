//! Syslog parse throughput on a realistic mix (RFC 3164 from sshd/sudo/kernel/nginx, RFC 5424
//! with structured data, CEF over syslog). One core; issue target: 2 million messages/s.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ferrodef_syslog::{parse, ParseOptions};

const MIX: &[&str] = &[
    "<38>Nov 22 10:15:01 bastion1 sshd[24187]: Failed password for invalid user admin from 203.0.113.7 port 52144 ssh2",
    "<86>Nov 22 10:15:02 web-03 sudo[3121]:   averez : TTY=pts/4 ; PWD=/home/averez ; USER=root ; COMMAND=/usr/bin/su",
    "<4>Nov 22 10:15:03 fw1 kernel: [123456.789012] IN=eth0 OUT= MAC=00:16:3e SRC=198.51.100.23 DST=192.0.2.10 LEN=60 PROTO=TCP SPT=51234 DPT=22",
    "<190>Nov 22 10:15:04 proxy-1 nginx: 198.51.100.4 - - [22/Nov/2026:10:15:04 +0000] \"GET /index.html HTTP/1.1\" 200 612 \"-\" \"curl/8.5.0\"",
    "<165>1 2026-11-22T10:15:05.003Z app-7.example.com payments 4411 ID47 [exampleSDID@32473 iut=\"3\" eventSource=\"Application\" eventID=\"1011\"] payment accepted",
    "<134>1 2026-11-22T10:15:06.123456+01:00 db-2 postgres 771 - - connection authorized: user=app database=billing",
    "<164>Nov 22 10:15:07 auth-1 CEF:0|mozilla|weave|3|AuthFail|Authentication failure|5|cs1Label=requestClientApplication cs1=Firefox requestMethod=GET request=/ src=203.0.113.9 dhost=sync suser=tarek",
    "<30>Nov 22 10:15:08 web-03 systemd[1]: Started Session 4242 of user averez.",
];

fn bench(c: &mut Criterion) {
    let opts = ParseOptions::default();
    let mut g = c.benchmark_group("syslog");
    g.throughput(Throughput::Elements(MIX.len() as u64));
    g.bench_function("parse_mix", |b| {
        b.iter(|| {
            let mut n = 0usize;
            for line in MIX {
                let m = parse(std::hint::black_box(line.as_bytes()), &opts);
                n += m.msg.len();
            }
            n
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
