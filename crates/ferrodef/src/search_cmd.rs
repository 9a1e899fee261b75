//! `ferrodef search`: the query language on the command line, against a running server or
//! directly on a data directory.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{bail, Context};
use clap::{Args, ValueEnum};
use ferrodef_store::params::SearchParams;
use ferrodef_store::tantivy_store::TantivyOptions;
use ferrodef_store::{Budget, Store, TantivyStore};
use serde_json::Value;

/// Output formats.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum Format {
    /// A table: time, severity, category, hostname, summary.
    Table,
    /// The whole answer as one JSON document.
    Json,
    /// One event per line (NDJSON).
    Ndjson,
}

/// Options of `ferrodef search`.
#[derive(Debug, Args)]
pub struct SearchArgs {
    /// The query, e.g. 'category:authentication AND details.sourceipaddress:10.0.0.0/8'
    #[arg(default_value = "")]
    pub query: String,
    /// The server to ask
    #[arg(long, env = "FERRODEF_SERVER", default_value = "http://127.0.0.1:8080")]
    pub server: String,
    /// Search this data directory directly instead of asking a server
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Lower time bound: RFC 3339 or relative (now-15m)
    #[arg(long)]
    pub from: Option<String>,
    /// Upper time bound: RFC 3339 or relative
    #[arg(long)]
    pub to: Option<String>,
    /// Number of events shown
    #[arg(long, short = 'n', default_value_t = 20)]
    pub size: usize,
    /// Sort: utctimestamp:desc, utctimestamp:asc, receivedtimestamp:desc...
    #[arg(long, default_value = "utctimestamp:desc")]
    pub sort: String,
    /// Stream to search (events, custom-<app>)
    #[arg(long, default_value = "events")]
    pub stream: String,
    /// Output format
    #[arg(long, short = 'o', value_enum, default_value_t = Format::Table)]
    pub format: Format,
    #[command(flatten)]
    pub auth: crate::client_auth::ClientAuth,
}

/// Prints where a query error is.
fn explain_query_error(query: &str, offset: usize, message: &str) -> anyhow::Error {
    let caret = " ".repeat(query.get(..offset).map(|s| s.chars().count()).unwrap_or(0));
    let message = message
        .strip_prefix("query syntax error: ")
        .unwrap_or(message);
    anyhow::anyhow!("query syntax error: {message}\n  {query}\n  {caret}^")
}

/// Runs the search and prints the result.
pub async fn run(args: SearchArgs) -> anyhow::Result<()> {
    let answer = match &args.data_dir {
        Some(dir) => local(&args, dir.clone()).await?,
        None => remote(&args).await?,
    };
    print(&args, &answer);
    Ok(())
}

/// The parameters of the search, as the API reads them.
fn params(args: &SearchArgs) -> SearchParams {
    SearchParams {
        q: args.query.clone(),
        from: args.from.clone(),
        to: args.to.clone(),
        size: Some(args.size.to_string()),
        sort: Some(args.sort.clone()),
        stream: Some(args.stream.clone()),
        ..SearchParams::default()
    }
}

async fn remote(args: &SearchArgs) -> anyhow::Result<Value> {
    let url = format!("{}/api/search", args.server.trim_end_matches('/'));
    let params = params(args).to_pairs();
    let resp = args
        .auth
        .client()?
        .get(&url)
        .query(&params)
        .send()
        .await
        .with_context(|| format!("asking {url}"))?;
    let status = resp.status();
    let body: Value = resp
        .json()
        .await
        .with_context(|| format!("reading the answer of {url}"))?;
    if !status.is_success() {
        let msg = body
            .get("error")
            .and_then(Value::as_str)
            .unwrap_or("unknown error");
        if let Some(pos) = body.get("position").and_then(Value::as_u64) {
            return Err(explain_query_error(&args.query, pos as usize, msg));
        }
        if let Some(hint) = crate::client_auth::explain_refusal(status) {
            bail!("{url} answered {status}: {msg}\n  {hint}");
        }
        bail!("{url} answered {status}: {msg}");
    }
    Ok(body)
}

async fn local(args: &SearchArgs, dir: PathBuf) -> anyhow::Result<Value> {
    let req = params(args)
        .search_request(chrono::Utc::now(), Budget::unlimited())
        .map_err(|e| match e.position {
            Some(pos) => explain_query_error(&args.query, pos, &e.message),
            None => anyhow::anyhow!("{e}"),
        })?;
    let index = dir.join("index");
    if !index.is_dir() {
        bail!(
            "{} holds no ferrodef store (no index/ directory)",
            dir.display()
        );
    }
    let res = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
        let store: Arc<dyn Store> =
            Arc::new(TantivyStore::open(&index, TantivyOptions::default())?);
        Ok(store.search(&req)?)
    })
    .await??;
    Ok(serde_json::json!({"total": res.total, "hits": res.hits}))
}

fn cell(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

fn print(args: &SearchArgs, answer: &Value) {
    let hits = answer
        .get("hits")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let total = answer.get("total").and_then(Value::as_u64).unwrap_or(0);
    match args.format {
        Format::Json => println!(
            "{}",
            serde_json::to_string_pretty(answer).unwrap_or_default()
        ),
        Format::Ndjson => {
            for h in &hits {
                println!("{h}");
            }
        }
        Format::Table => {
            let cols = [
                "utctimestamp",
                "severity",
                "category",
                "hostname",
                "summary",
            ];
            let rows: Vec<Vec<String>> = hits
                .iter()
                .map(|h| {
                    cols.iter()
                        .map(|c| {
                            let mut s = cell(h.get(*c)).replace(['\n', '\r', '\t'], " ");
                            if s.chars().count() > 100 {
                                s = s.chars().take(99).collect::<String>() + "…";
                            }
                            s
                        })
                        .collect()
                })
                .collect();
            let widths: Vec<usize> = (0..cols.len())
                .map(|i| {
                    rows.iter()
                        .map(|r| r[i].chars().count())
                        .chain([cols[i].len()])
                        .max()
                        .unwrap_or(0)
                })
                .collect();
            let line = |cells: &[String]| {
                cells
                    .iter()
                    .zip(&widths)
                    .map(|(c, w)| format!("{c:<w$}"))
                    .collect::<Vec<_>>()
                    .join("  ")
                    .trim_end()
                    .to_string()
            };
            println!(
                "{}",
                line(&cols.iter().map(|c| c.to_uppercase()).collect::<Vec<_>>())
            );
            for r in &rows {
                println!("{}", line(r));
            }
            println!("{} of {} matching events", hits.len(), total);
        }
    }
}
