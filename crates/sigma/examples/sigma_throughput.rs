//! Rule-engine throughput on the benchmark mixes, for instruction counts (`perf stat`,
//! `valgrind --tool=callgrind`) and for peer comparisons:
//!
//! ```text
//! sigma_throughput RULES_DIR [realistic|matching] [EVENTS] [ROUNDS] [--dump FILE]
//! ```
//!
//! Loads the rules, builds EVENTS events of the mix (default 1000), evaluates them ROUNDS
//! times (default 100) on one thread and prints events/s and matches; `--dump FILE` writes the
//! events as JSON lines (the input of `scripts/bench-sigma-peer`'s peer) and exits.

#[path = "../benches/support/mix.rs"]
mod mix;

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use ferrodef_sigma::SigmaRules;

fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dump = args
        .iter()
        .position(|a| a == "--dump")
        .and_then(|i| args.get(i + 1))
        .map(PathBuf::from);
    let pos: Vec<&String> = args
        .iter()
        .enumerate()
        .filter(|(i, a)| !a.starts_with("--") && (*i == 0 || args[i - 1] != "--dump"))
        .map(|(_, a)| a)
        .collect();
    let dir = pos.first().ok_or(
        "usage: sigma_throughput RULES_DIR [realistic|matching] [EVENTS] [ROUNDS] [--dump FILE]",
    )?;
    let kind = pos.get(1).map(|s| s.as_str()).unwrap_or("realistic");
    let n: usize = pos
        .get(2)
        .map_or(Ok(1000), |s| s.parse())
        .map_err(|e| format!("EVENTS: {e}"))?;
    let rounds: usize = pos
        .get(3)
        .map_or(Ok(100), |s| s.parse())
        .map_err(|e| format!("ROUNDS: {e}"))?;
    let events = match kind {
        "realistic" => mix::realistic_mix(n),
        "matching" => mix::matching_mix(n),
        other => return Err(format!("unknown mix `{other}` (realistic or matching)")),
    };
    if let Some(path) = dump {
        let mut f = std::fs::File::create(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        for e in &events {
            writeln!(f, "{e}").map_err(|e| format!("{}: {e}", path.display()))?;
        }
        return Ok(());
    }
    let (rules, problems) = SigmaRules::load_dir(std::path::Path::new(dir.as_str()));
    let errors = problems
        .iter()
        .filter(|p| p.severity == ferrodef_sigma::ProblemSeverity::Error)
        .count();
    let start = Instant::now();
    let mut matches = 0usize;
    for _ in 0..rounds {
        for e in &events {
            rules.for_each_match(e, |_| matches += 1);
        }
    }
    let secs = start.elapsed().as_secs_f64();
    let total = (n * rounds) as f64;
    println!(
        "rules {} (load errors {errors}), mix {kind}, {n} events x {rounds} rounds: {:.0} events/s, {} matches per round",
        rules.len(),
        total / secs,
        matches / rounds.max(1)
    );
    Ok(())
}
