//! `ferrodef ingest FILE...`: imports log files into a running server (over HTTP), or straight
//! into a data directory (running the ingest service in this process, as `serve` does).
//!
//! Files may be syslog lines (RFC 3164/5424, CEF inside or bare, any text), CEF lines, or
//! JSON (NDJSON, Elasticsearch bulk, or one JSON array); plain or gzip (detected from the
//! magic bytes, not the name); `-` reads standard input. Rotated sets (`system.log
//! system.log.0.gz ...`) are given as several files and imported oldest first when their
//! names end in rotation numbers.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::Value;

/// Options of `ferrodef ingest`.
#[derive(Debug, Args)]
pub struct IngestArgs {
    /// Files to import (`-` for standard input); plain or gzip-compressed
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Server to send to [default: http://127.0.0.1:8080 unless --data-dir is given]
    #[arg(long, env = "FERRODEF_SERVER", conflicts_with = "data_dir")]
    pub server: Option<String>,
    /// Import straight into this data directory (no server may be running on it)
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// File format: auto (JSON when the first line starts with `{` or `[`), syslog (also CEF
    /// and plain text lines), json
    #[arg(long, default_value = "auto")]
    pub format: Format,
    /// Lines per request
    #[arg(long, default_value_t = 5000)]
    pub batch: usize,
    /// Requests in flight
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,
    /// No progress bar
    #[arg(long, short = 'q')]
    pub quiet: bool,
    #[command(flatten)]
    pub auth: crate::client_auth::ClientAuth,
}

/// How a file's lines are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Decide from the first line.
    Auto,
    /// Syslog, CEF or any text lines.
    Syslog,
    /// JSON events (NDJSON, bulk, or a JSON array).
    Json,
}

/// Longest line sent; the server truncates (and tags) anything over its own limit anyway.
const MAX_LINE: usize = 1 << 20;

/// Counts bytes read from the underlying (possibly compressed) file, for the progress bar.
struct Counting<R> {
    inner: R,
    counter: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.counter.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

fn open(path: &Path, counter: Arc<AtomicU64>) -> anyhow::Result<Box<dyn BufRead + Send>> {
    let raw: Box<dyn Read + Send> = if path == Path::new("-") {
        Box::new(std::io::stdin())
    } else {
        Box::new(File::open(path).with_context(|| format!("opening {}", path.display()))?)
    };
    let mut reader = BufReader::with_capacity(
        256 * 1024,
        Counting {
            inner: raw,
            counter,
        },
    );
    let gz = reader
        .fill_buf()
        .with_context(|| format!("reading {}", path.display()))?
        .starts_with(&[0x1f, 0x8b]);
    Ok(if gz {
        Box::new(BufReader::with_capacity(
            256 * 1024,
            flate2::bufread::MultiGzDecoder::new(reader),
        ))
    } else {
        Box::new(reader)
    })
}

/// Sorts a rotated set oldest first: `x.log.2.gz`, `x.log.1`, `x.log` (others keep their order).
fn rotation_order(files: &mut [PathBuf]) {
    fn rank(p: &Path) -> (String, i64) {
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let stem = name.strip_suffix(".gz").unwrap_or(&name);
        if let Some((base, n)) = stem.rsplit_once('.') {
            if let Ok(n) = n.parse::<i64>() {
                return (base.to_string(), n);
            }
        }
        (stem.to_string(), -1)
    }
    files.sort_by(|a, b| {
        let (ba, na) = rank(a);
        let (bb, nb) = rank(b);
        if ba == bb {
            nb.cmp(&na)
        } else {
            std::cmp::Ordering::Equal
        }
    });
}

/// One request's worth of lines.
struct Batch {
    file: String,
    first_line: u64,
    lines: u64,
    json: bool,
    body: Vec<u8>,
}

#[derive(Default)]
struct Totals {
    read: u64,
    accepted: u64,
    dropped: u64,
    rejected: u64,
    reasons: BTreeMap<String, u64>,
    examples: Vec<String>,
}

/// Splits a file into batches, sending each through `tx`.
fn read_file(
    path: &Path,
    format: Format,
    batch: usize,
    counter: Arc<AtomicU64>,
    tx: &tokio::sync::mpsc::Sender<Batch>,
) -> anyhow::Result<()> {
    let mut r = open(path, counter)?;
    let name = path.display().to_string();
    let at_start = || format!("reading {name} at its start");
    let json = match format {
        Format::Json => true,
        Format::Syslog => false,
        Format::Auto => {
            let head = r.fill_buf().with_context(at_start)?;
            let first = head.iter().find(|c| !c.is_ascii_whitespace());
            matches!(first, Some(b'{' | b'['))
        }
    };
    if json {
        let head = r.fill_buf().with_context(at_start)?;
        if head.iter().find(|c| !c.is_ascii_whitespace()) == Some(&b'[') {
            // One JSON array: the server takes it whole.
            let mut body = Vec::new();
            r.read_to_end(&mut body)
                .with_context(|| format!("reading the JSON array of {name}"))?;
            let _ = tx.blocking_send(Batch {
                file: name,
                first_line: 1,
                lines: 1,
                json: true,
                body,
            });
            return Ok(());
        }
    }
    let mut line_no = 0u64;
    let mut cur = Batch {
        file: name.clone(),
        first_line: 1,
        lines: 0,
        json,
        body: Vec::with_capacity(1 << 20),
    };
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = r
            .by_ref()
            .take(MAX_LINE as u64 + 1)
            .read_until(b'\n', &mut line)
            .with_context(|| format!("reading {name} after line {line_no}"))?;
        if n == 0 {
            break;
        }
        line_no += 1;
        if line.len() > MAX_LINE && line.last() != Some(&b'\n') {
            // Skip the rest of an enormous line; its start is sent (and truncated, tagged).
            let mut rest = Vec::new();
            r.read_until(b'\n', &mut rest)
                .with_context(|| format!("reading {name} in line {line_no}"))?;
        }
        if line.last() != Some(&b'\n') {
            line.push(b'\n');
        }
        cur.body.extend_from_slice(&line);
        cur.lines += 1;
        if cur.lines as usize >= batch || cur.body.len() >= 4 << 20 {
            let next = Batch {
                file: name.clone(),
                first_line: line_no + 1,
                lines: 0,
                json,
                body: Vec::with_capacity(1 << 20),
            };
            if tx.blocking_send(std::mem::replace(&mut cur, next)).is_err() {
                return Ok(());
            }
        }
    }
    if cur.lines > 0 {
        let _ = tx.blocking_send(cur);
    }
    Ok(())
}

/// Where batches go.
enum Target {
    /// A running server.
    Http {
        client: reqwest::Client,
        server: String,
    },
    /// The ingest service on a data directory, in this process.
    Local(ferrodef_ingest::IngestService),
}

/// Delivers a batch; returns the HTTP status and answer (a local delivery answers the same).
async fn deliver(target: &Target, b: &Batch) -> anyhow::Result<(u16, Value)> {
    let mut attempt = 0;
    loop {
        let (status, v) = match target {
            Target::Http { client, server } => post(client, server, b, attempt).await?,
            Target::Local(ingest) => local(ingest, b).await,
        };
        if (status == 503 || status == 429) && attempt < 8 {
            attempt += 1;
            tokio::time::sleep(Duration::from_millis(200 << attempt.min(5))).await;
            continue;
        }
        return Ok((status, v));
    }
}

async fn post(
    client: &reqwest::Client,
    server: &str,
    b: &Batch,
    attempt: u32,
) -> anyhow::Result<(u16, Value)> {
    let path = if b.json { "/_bulk" } else { "/syslog" };
    let ctype = if b.json {
        "application/x-ndjson"
    } else {
        "text/plain"
    };
    let r = client
        .post(format!("{server}{path}"))
        .header("content-type", ctype)
        .body(b.body.clone())
        .send()
        .await;
    match r {
        Ok(r) => {
            let status = r.status();
            let body = r.json().await.unwrap_or(Value::Null);
            if let Some(hint) = crate::client_auth::explain_refusal(status) {
                let msg = body.get("error").and_then(Value::as_str).unwrap_or("");
                anyhow::bail!("{server}{path} answered {status}: {msg}\n  {hint}");
            }
            Ok((status.as_u16(), body))
        }
        // Connection refused: the server is not there; do not wait long.
        Err(e) if e.is_connect() && attempt >= 1 => {
            Err(e).with_context(|| format!("sending {} to {server}", b.file))
        }
        Err(e) if attempt >= 5 => Err(e)
            .with_context(|| format!("sending {} (line {}) to {server}", b.file, b.first_line)),
        Err(_) => Ok((503, Value::Null)),
    }
}

async fn local(ingest: &ferrodef_ingest::IngestService, b: &Batch) -> (u16, Value) {
    use ferrodef_ingest::IngestError;
    let res = if b.json {
        ingest.events("file_import", &b.body, None).await
    } else {
        ingest.lines("file_import", &b.body).await
    };
    let errors = |o: &ferrodef_ingest::Outcome| -> Value {
        o.errors
            .iter()
            .map(|e| serde_json::json!({"line": e.line, "error": e.message}))
            .collect()
    };
    match res {
        Ok(o) => (
            200,
            serde_json::json!({"accepted": o.accepted, "dropped": o.dropped, "errors": errors(&o)}),
        ),
        Err(IngestError::AllRejected(o)) => (400, serde_json::json!({"errors": errors(&o)})),
        Err(
            e @ (IngestError::BadBody { .. } | IngestError::Empty | IngestError::TooLarge { .. }),
        ) => (400, serde_json::json!({"error": e.to_string()})),
        Err(e) => (503, serde_json::json!({"error": e.to_string()})),
    }
}

async fn send(target: &Target, b: &Batch, totals: &std::sync::Mutex<Totals>) -> anyhow::Result<()> {
    let (status, v) = deliver(target, b).await?;
    let mut t = totals.lock().map_err(|_| anyhow::anyhow!("totals lock"))?;
    t.read += b.lines;
    if (200..300).contains(&status) || status == 400 {
        t.accepted += v["accepted"].as_u64().unwrap_or(0);
        t.dropped += v["dropped"].as_u64().unwrap_or(0);
        let errors = v["errors"].as_array().cloned().unwrap_or_default();
        if status == 400 && errors.is_empty() {
            // The whole body was refused (e.g. not one valid document).
            t.rejected += b.lines;
            let msg = v["error"].as_str().unwrap_or("rejected").to_string();
            *t.reasons.entry(msg.clone()).or_default() += b.lines;
            if t.examples.len() < 10 {
                t.examples
                    .push(format!("{} line {}: {msg}", b.file, b.first_line));
            }
        }
        for e in errors {
            t.rejected += 1;
            let line = e["line"].as_u64().unwrap_or(1);
            let msg = e["error"].as_str().unwrap_or("rejected");
            let reason = msg.split_once(": ").map_or(msg, |(_, r)| r);
            let key: String = reason.chars().take(80).collect();
            *t.reasons.entry(key).or_default() += 1;
            if t.examples.len() < 10 {
                t.examples.push(format!(
                    "{} line {}: {reason}",
                    b.file,
                    b.first_line + line - 1
                ));
            }
        }
        Ok(())
    } else {
        let path = if b.json { "/_bulk" } else { "/syslog" };
        bail!(
            "{path} answered {status} for {} (lines {}..): {v}",
            b.file,
            b.first_line
        )
    }
}

/// Runs the import and prints the summary.
pub async fn run(a: IngestArgs) -> anyhow::Result<()> {
    if a.batch == 0 || a.concurrency == 0 {
        bail!("--batch and --concurrency must be at least 1");
    }
    let files = files_in_order(&a.files)?;
    let core = match &a.data_dir {
        Some(d) => {
            let cfg = crate::config::Config::resolve(&crate::config::ServeArgs {
                data_dir: Some(d.clone()),
                ..Default::default()
            })?;
            Some(crate::serve::Core::start(&cfg).await?)
        }
        None => None,
    };
    let target = Arc::new(match &core {
        Some(c) => Target::Local(c.ingest.clone()),
        None => http_target(&a)?,
    });
    let total_bytes: u64 = files
        .iter()
        .filter_map(|f| std::fs::metadata(f).ok())
        .map(|m| m.len())
        .sum();
    let counter = Arc::new(AtomicU64::new(0));
    let bar = progress_bar(a.quiet, total_bytes);
    let (tx, rx) = tokio::sync::mpsc::channel::<Batch>(a.concurrency * 2);
    let reader = {
        let counter = counter.clone();
        let (format, batch) = (a.format, a.batch);
        let files = files.clone();
        // A file that cannot be read to its end (a truncated rotation, say) is reported and
        // the others are still imported; the command then fails naming every such file.
        tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
            let mut failed = Vec::new();
            for f in &files {
                if let Err(e) = read_file(f, format, batch, counter.clone(), &tx) {
                    eprintln!("ferrodef: {e:#}");
                    failed.push(format!("{e:#}"));
                }
            }
            match failed.len() {
                0 => Ok(()),
                n => bail!(
                    "{n} of {} file(s) could not be read to the end (what was read before is imported): {}",
                    files.len(),
                    failed.join("; ")
                ),
            }
        })
    };
    let totals = Arc::new(std::sync::Mutex::new(Totals::default()));
    let started = Instant::now();
    let tick = |totals: &std::sync::Mutex<Totals>| {
        bar.set_position(counter.load(Ordering::Relaxed));
        if let Ok(t) = totals.lock() {
            let rate = t.read as f64 / started.elapsed().as_secs_f64().max(0.001);
            bar.set_message(format!("{} events, {:.0} events/s", t.read, rate));
        }
    };
    let first_error = send_all(rx, &target, a.concurrency, &totals, tick).await;
    bar.finish_and_clear();
    let read_result = reader.await?;
    drop(target);
    if let Some(c) = core {
        c.stop().await?;
    }
    let t = totals.lock().map_err(|_| anyhow::anyhow!("totals lock"))?;
    print_summary(&t, files.len(), started.elapsed().as_secs_f64());
    read_result?;
    if let Some(e) = first_error {
        return Err(e);
    }
    Ok(())
}

/// The files to import, each checked to exist (`-` is standard input), rotated sets oldest
/// first.
fn files_in_order(files: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    for f in files {
        if f != Path::new("-") && !f.is_file() {
            bail!("{}: no such file", f.display());
        }
    }
    let mut files = files.to_vec();
    rotation_order(&mut files);
    Ok(files)
}

/// The running server of `--server` (default `http://127.0.0.1:8080`), with the credentials
/// of the arguments.
fn http_target(a: &IngestArgs) -> anyhow::Result<Target> {
    Ok(Target::Http {
        client: a
            .auth
            .builder()?
            .timeout(Duration::from_secs(120))
            .build()?,
        server: a
            .server
            .as_deref()
            .unwrap_or("http://127.0.0.1:8080")
            .trim_end_matches('/')
            .to_string(),
    })
}

/// The progress bar over `total_bytes` of files read (hidden when `quiet`).
fn progress_bar(quiet: bool, total_bytes: u64) -> ProgressBar {
    if quiet {
        return ProgressBar::hidden();
    }
    let b = ProgressBar::new(total_bytes);
    b.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} {msg} ETA {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    b
}

/// Sends the batches of `rx` to `target`, `concurrency` at a time, adding up `totals` and
/// calling `tick` as they go; stops at the first error, which it answers.
async fn send_all(
    mut rx: tokio::sync::mpsc::Receiver<Batch>,
    target: &Arc<Target>,
    concurrency: usize,
    totals: &Arc<std::sync::Mutex<Totals>>,
    tick: impl Fn(&std::sync::Mutex<Totals>),
) -> Option<anyhow::Error> {
    let mut inflight = tokio::task::JoinSet::new();
    let mut first_error: Option<anyhow::Error> = None;
    while let Some(b) = rx.recv().await {
        while inflight.len() >= concurrency {
            if let Some(Ok(Err(e))) = inflight.join_next().await {
                first_error.get_or_insert(e);
            }
        }
        if first_error.is_some() {
            break;
        }
        let (target, shared) = (target.clone(), totals.clone());
        inflight.spawn(async move { send(&target, &b, &shared).await });
        tick(totals);
    }
    drop(rx);
    while let Some(r) = inflight.join_next().await {
        if let Ok(Err(e)) = r {
            first_error.get_or_insert(e);
        }
        tick(totals);
    }
    first_error
}

/// Prints what was read, accepted, dropped and rejected (with the reasons and a few
/// examples).
fn print_summary(t: &Totals, files: usize, secs: f64) {
    println!(
        "read {} events from {} file(s) in {:.1} s ({:.0} events/s): accepted {}, dropped by transforms {}, rejected {}",
        t.read,
        files,
        secs,
        t.read as f64 / secs.max(0.001),
        t.accepted,
        t.dropped,
        t.rejected
    );
    for (reason, n) in &t.reasons {
        println!("  rejected {n}: {reason}");
    }
    for e in &t.examples {
        println!("  e.g. {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotated_sets_oldest_first() {
        let mut f: Vec<PathBuf> = [
            "system.log",
            "system.log.0.gz",
            "system.log.2.gz",
            "system.log.1",
        ]
        .iter()
        .map(PathBuf::from)
        .collect();
        rotation_order(&mut f);
        let names: Vec<String> = f.iter().map(|p| p.display().to_string()).collect();
        assert_eq!(
            names,
            [
                "system.log.2.gz",
                "system.log.1",
                "system.log.0.gz",
                "system.log"
            ]
        );
    }
}
