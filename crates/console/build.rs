//! Builds the console (web/) with npm and esbuild into OUT_DIR and writes `assets.rs`: the table
//! of embedded files (path, content type, ETag, body, gzip body) the router serves.
//!
//! - `npm ci` runs when `web/node_modules` is missing or older than `web/package-lock.json`
//!   (the dependencies are the locked ones, from the npm registry).
//! - `node web/build.mjs OUT_DIR/dist` bundles the sources (esbuild, a few hundred ms).
//! - Only changes under web/src, web/build.mjs and the package files rerun this script.
//! - Concurrent builds (check, test, release at once) take turns with a file lock on
//!   web/.build.lock, so one `npm ci` never runs over another.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    if let Err(e) = run() {
        eprintln!("error: building the web console (crates/console/web) failed: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    let manifest = PathBuf::from(env("CARGO_MANIFEST_DIR")?);
    let out = PathBuf::from(env("OUT_DIR")?);
    let web = manifest.join("web");
    for p in ["src", "build.mjs", "package.json", "package-lock.json"] {
        println!("cargo:rerun-if-changed={}", web.join(p).display());
    }
    // A removed or reinstalled node_modules reruns the install.
    println!(
        "cargo:rerun-if-changed={}",
        web.join("node_modules/.package-lock.json").display()
    );
    println!("cargo:rerun-if-env-changed=FERRODEF_NPM");
    println!("cargo:rerun-if-env-changed=FERRODEF_NODE");

    let lock_path = web.join(".build.lock");
    let lock = File::create(&lock_path).map_err(|e| format!("{}: {e}", lock_path.display()))?;
    lock.lock()
        .map_err(|e| format!("locking {}: {e}", lock_path.display()))?;

    if node_modules_stale(&web) {
        let npm = std::env::var("FERRODEF_NPM").unwrap_or_else(|_| "npm".into());
        let mut cmd = Command::new(&npm);
        cmd.args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(&web);
        exec(cmd, &npm)?;
    }
    let dist = out.join("dist");
    let node = std::env::var("FERRODEF_NODE").unwrap_or_else(|_| "node".into());
    let mut cmd = Command::new(&node);
    cmd.arg("build.mjs").arg(&dist).current_dir(&web);
    exec(cmd, &node)?;

    write_table(&dist, &out)
}

fn env(name: &str) -> Result<String, String> {
    std::env::var(name).map_err(|_| format!("{name} is not set (run through cargo)"))
}

/// `node_modules` is missing, or older than the lock file it was installed from.
fn node_modules_stale(web: &Path) -> bool {
    let mtime = |p: &Path| fs::metadata(p).and_then(|m| m.modified()).ok();
    match (
        mtime(&web.join("node_modules/.package-lock.json")),
        mtime(&web.join("package-lock.json")),
    ) {
        (Some(installed), Some(locked)) => installed < locked,
        _ => true,
    }
}

/// Runs a command; a missing program or a failure becomes an error that says what to do.
fn exec(mut cmd: Command, program: &str) -> Result<(), String> {
    let status = cmd.status().map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            format!(
                "`{program}` was not found: the console is built with Node.js (18 or newer) and \
                 npm; install them (Debian: `apt-get install nodejs npm`) or point FERRODEF_NODE / \
                 FERRODEF_NPM at them"
            )
        } else {
            format!("cannot run `{program}`: {e}")
        }
    })?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{cmd:?}` failed ({status}); its output is above"))
    }
}

/// Writes OUT_DIR/assets.rs: one `Asset` per file of `dist`, with a gzip copy when it helps.
fn write_table(dist: &Path, out: &Path) -> Result<(), String> {
    let mut files = Vec::new();
    walk(dist, &mut files).map_err(|e| format!("reading {}: {e}", dist.display()))?;
    // Sorted by their path under dist/: the router finds them by binary search.
    let mut files: Vec<(String, PathBuf)> = files
        .into_iter()
        .map(|f| {
            let rel = f
                .strip_prefix(dist)
                .unwrap_or(&f)
                .to_string_lossy()
                .replace('\\', "/");
            (rel, f)
        })
        .collect();
    files.sort();
    let gz_dir = out.join("gz");
    fs::create_dir_all(&gz_dir).map_err(|e| format!("{}: {e}", gz_dir.display()))?;
    let mut table = String::from("&[\n");
    for (i, (rel, file)) in files.iter().enumerate() {
        let body = fs::read(file).map_err(|e| format!("{}: {e}", file.display()))?;
        let content_type = content_type(rel)
            .ok_or_else(|| format!("no content type known for the built file {rel}"))?;
        let gzip = match compress(&body) {
            Some(gz) if content_type != "image/png" => {
                let p = gz_dir.join(format!("{i}.gz"));
                fs::write(&p, gz).map_err(|e| format!("{}: {e}", p.display()))?;
                format!("Some(include_bytes!({:?}))", p.display().to_string())
            }
            _ => "None".to_string(),
        };
        table.push_str(&format!(
            "    Asset {{ path: {rel:?}, content_type: {content_type:?}, etag: \"\\\"{:016x}\\\"\", \
             body: include_bytes!({:?}), gzip: {gzip} }},\n",
            fnv1a(&body),
            file.display().to_string(),
        ));
    }
    table.push(']');
    let dest = out.join("assets.rs");
    let mut f = File::create(&dest).map_err(|e| format!("{}: {e}", dest.display()))?;
    f.write_all(table.as_bytes())
        .map_err(|e| format!("{}: {e}", dest.display()))
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            walk(&path, files)?;
        } else {
            files.push(path);
        }
    }
    Ok(())
}

fn content_type(path: &str) -> Option<&'static str> {
    let ext = path.rsplit_once('.')?.1;
    Some(match ext {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "txt" => "text/plain; charset=utf-8",
        "woff2" => "font/woff2",
        _ => return None,
    })
}

/// The gzip of `body`, when it is meaningfully smaller.
fn compress(body: &[u8]) -> Option<Vec<u8>> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(body).ok()?;
    let gz = enc.finish().ok()?;
    (gz.len() + 64 < body.len()).then_some(gz)
}

/// FNV-1a, 64 bits: a content hash for ETags (stable across builds, no dependency).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}
