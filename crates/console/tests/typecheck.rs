//! The console's TypeScript type-checks (`tsc --noEmit`, strict): esbuild only strips types,
//! so this is where a wrong field name or a missing case is caught.

use std::path::Path;
use std::process::Command;

#[test]
fn the_console_sources_type_check() {
    let web = Path::new(env!("CARGO_MANIFEST_DIR")).join("web");
    let tsc = web.join("node_modules/typescript/bin/tsc");
    assert!(
        tsc.exists(),
        "{} is missing: the build installs it (npm ci)",
        tsc.display()
    );
    let out = Command::new("node")
        .arg(&tsc)
        .args(["--noEmit", "-p", "."])
        .current_dir(&web)
        .output()
        .expect("run node");
    assert!(
        out.status.success(),
        "tsc found errors:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
