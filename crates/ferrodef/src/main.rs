//! `ferrodef`: one binary for the whole platform.

mod bench;
mod bench_chaos;
mod bench_console;
mod bench_detect;
mod bench_store;
mod bench_syslog;
mod client_auth;
mod config;
mod detection;
mod ingest_cmd;
mod local;
mod rules_cmd;
mod search_cmd;
mod serve;
mod user_cmd;

use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

// mimalloc: measurably faster than glibc malloc for the many small allocations of JSON handling.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// ferrodef: a security event platform (SIEM), the successor of MozDef.
#[derive(Debug, Parser)]
#[command(name = "ferrodef", version, about)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Runs the platform: HTTP ingest and search API, embedded store under the data directory.
    Serve(Box<config::ServeArgs>),
    /// Imports log files (syslog, CEF, JSON; plain or gzip) into a server or a data directory.
    Ingest(ingest_cmd::IngestArgs),
    /// Searches events with the query language.
    Search(search_cmd::SearchArgs),
    /// Detection rules: validate, list, test, backtest.
    #[command(subcommand)]
    Rules(rules_cmd::RulesCmd),
    /// Load and query benchmarks against a server.
    #[command(subcommand)]
    Bench(bench::BenchCmd),
    /// Users of a data directory: add, passwd, role, disable, enable, unlock, list.
    User(user_cmd::UserArgs),
    /// API tokens of a data directory: create, revoke, list.
    Token(user_cmd::TokenArgs),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_env("FERRODEF_LOG").unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("ferrodef: starting the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let res = rt.block_on(async {
        match cli.cmd {
            Cmd::Serve(args) => {
                let cfg = config::Config::resolve(&args)?;
                serve::run(cfg).await
            }
            Cmd::Ingest(args) => ingest_cmd::run(args).await,
            Cmd::Search(args) => search_cmd::run(args).await,
            Cmd::Rules(cmd) => rules_cmd::run(cmd).await,
            Cmd::Bench(cmd) => bench::run(cmd).await,
            Cmd::User(args) => {
                tokio::task::spawn_blocking(move || user_cmd::run_user(args)).await?
            }
            Cmd::Token(args) => {
                tokio::task::spawn_blocking(move || user_cmd::run_token(args)).await?
            }
        }
    });
    match res {
        Ok(()) => std::process::ExitCode::SUCCESS,
        // What failed was printed already.
        Err(e) if e.is::<rules_cmd::Failed>() => std::process::ExitCode::FAILURE,
        Err(e) => {
            eprintln!("ferrodef: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
