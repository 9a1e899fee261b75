//! `ferrodef bench syslog`: sends generated RFC 3164 lines (sshd, sudo, kernel firewall, web,
//! CEF) over TCP to ferrodef's syslog listener and reports events/s until all are searchable;
//! or, with `--target`, to any TCP syslog receiver (syslog-ng for the peer comparison), waiting
//! until `--wait-file` holds all events.

use std::io::{BufRead, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Args;
use serde_json::Value;

/// Options of `bench syslog`.
#[derive(Debug, Args)]
pub struct SyslogBenchArgs {
    /// Number of events
    #[arg(long, short = 'n', default_value_t = 500_000)]
    pub events: usize,
    /// TCP connections
    #[arg(long, default_value_t = 4)]
    pub connections: usize,
    /// Send to this TCP syslog receiver instead of a ferrodef started for the run
    #[arg(long)]
    pub target: Option<SocketAddr>,
    /// With --target: wait until this file has one line per event
    #[arg(long, requires = "target")]
    pub wait_file: Option<PathBuf>,
    /// Data directory of the started server (default: a temporary one)
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Print the result as JSON
    #[arg(long)]
    pub json: bool,
}

/// The message mix (one template per kind; `{i}` gives each line a distinct number).
fn line(run: &str, i: usize) -> String {
    let host = ["bastion-1", "web-1", "web-2", "db-1", "proxy-1", "fw-1"][i % 6];
    let ip = format!("198.51.{}.{}", (i / 250) % 250, 1 + i % 250);
    match i % 6 {
        0 => format!("<38>Nov 22 10:15:01 {host} sshd[{}]: Failed password for invalid user admin from {ip} port {} ssh2 {run}", 1000 + i % 5000, 1024 + i % 60000),
        1 => format!("<86>Nov 22 10:15:02 {host} sudo[{}]:   alice : TTY=pts/4 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/systemctl restart nginx {run}", 2000 + i % 5000),
        2 => format!("<4>Nov 22 10:15:03 {host} kernel: [123456.789012] IN=eth0 OUT= SRC={ip} DST=192.0.2.10 LEN=60 PROTO=TCP SPT=51234 DPT=22 {run}"),
        3 => format!("<190>Nov 22 10:15:04 {host} nginx: {ip} - - [22/Nov/2026:10:15:04 +0000] \"GET /index.html?i={i} HTTP/1.1\" 200 612 \"-\" \"curl/8.5.0\" {run}"),
        4 => format!("<165>1 2026-11-22T10:15:05.003Z {host} payments 4411 ID47 [order@32473 id=\"{i}\"] payment accepted {run}"),
        _ => format!("<164>Nov 22 10:15:07 {host} CEF:0|mozilla|accounts|3|AuthFail|Authentication failure {run}|5|src={ip} suser=u{}", i % 1000),
    }
}

fn count_lines(path: &PathBuf) -> u64 {
    std::fs::File::open(path)
        .map(|f| std::io::BufReader::new(f).lines().count() as u64)
        .unwrap_or(0)
}

/// Runs the syslog load.
pub async fn run(a: SyslogBenchArgs) -> anyhow::Result<()> {
    if a.connections == 0 {
        bail!("--connections must be at least 1");
    }
    let local = match a.target {
        Some(_) => None,
        None => Some(crate::local::spawn_server(a.data_dir.clone(), &[])?),
    };
    let target = match (&local, a.target) {
        (_, Some(t)) => t,
        (Some(l), None) => l
            .syslog_addr("tcp")
            .context("the server has no TCP syslog listener")?,
        (None, None) => bail!("no target"),
    };
    let run = format!("run{}", chrono::Utc::now().timestamp_millis());
    let started = Instant::now();
    let mut senders = Vec::new();
    for c in 0..a.connections {
        let (n, conns, run) = (a.events, a.connections, run.clone());
        senders.push(std::thread::spawn(move || -> anyhow::Result<()> {
            let stream =
                TcpStream::connect(target).with_context(|| format!("connecting {target}"))?;
            let mut w = std::io::BufWriter::with_capacity(256 * 1024, stream);
            let mut i = c;
            while i < n {
                w.write_all(line(&run, i).as_bytes())?;
                w.write_all(b"\n")?;
                i += conns;
            }
            w.flush()?;
            Ok(())
        }));
    }
    for s in senders {
        s.join()
            .map_err(|_| anyhow::anyhow!("sender thread panicked"))??;
    }
    let send_secs = started.elapsed().as_secs_f64();
    let deadline = Instant::now() + Duration::from_secs(900);
    let total = a.events as u64;
    let mut peak_mib = 0.0;
    match &local {
        Some(l) => {
            let client = l.client()?;
            loop {
                let v: Value = client
                    .get(format!("{}/api/search", l.url))
                    .query(&[("q", format!("summary:{run}")), ("size", "0".into())])
                    .send()
                    .await?
                    .json()
                    .await?;
                if v["total"].as_u64() == Some(total) {
                    break;
                }
                if Instant::now() > deadline {
                    bail!(
                        "only {} of {total} events searchable after 900 s",
                        v["total"]
                    );
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            let status: Value = client
                .get(format!("{}/status", l.url))
                .send()
                .await?
                .json()
                .await?;
            peak_mib = status["peak_rss_bytes"].as_f64().unwrap_or(0.0) / 1048576.0;
        }
        None => {
            if let Some(f) = &a.wait_file {
                while count_lines(f) < total {
                    if Instant::now() > deadline {
                        bail!(
                            "{} has {} of {total} lines after 900 s",
                            f.display(),
                            count_lines(f)
                        );
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        }
    }
    let secs = started.elapsed().as_secs_f64();
    let result = serde_json::json!({
        "events": total, "connections": a.connections, "target": target.to_string(),
        "send_seconds": send_secs, "done_seconds": secs,
        "end_to_end_per_second": total as f64 / secs,
        "server_peak_rss_mib": peak_mib,
    });
    if a.json {
        println!("{result}");
    } else {
        println!(
            "events sent:             {total} over {} TCP connections to {target}",
            a.connections
        );
        println!("sent in:                 {send_secs:.2} s");
        println!(
            "all {} after:    {secs:.2} s",
            if local.is_some() {
                "searchable"
            } else {
                "written"
            }
        );
        println!("end-to-end events/s:     {:.0}", total as f64 / secs);
        if local.is_some() {
            println!("server peak RSS:         {peak_mib:.0} MiB");
        }
    }
    if let Some(l) = local {
        l.stop()?;
    }
    Ok(())
}
