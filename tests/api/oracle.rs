//! graphql-js, the reference implementation, judges fandb's execution: `tests/oracle/oracle.mjs`
//! sends its regression cases and seeded documents (fragments, nested type conditions,
//! `@skip`/`@include` with variables and defaults, aliases, repeated keys, arguments that raise
//! errors) to the running server on both read paths, and compares every answer with what
//! graphql-js executes for the same document over fandb's own data. `FANDB_ORACLE_SEED` and
//! `FANDB_ORACLE_COUNT` choose the documents (CI runs the fixed budget below); a failure prints
//! the seed and the document to run again with `--seed S --only N`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use crate::support::TestApp;

db_tests!(graphql_js_agrees_with_both_read_paths);

/// Documents per backend in a default run.
const DEFAULT_COUNT: u32 = 400;

fn oracle_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/oracle")
}

/// Whether node and the oracle's graphql-js are there, installing graphql-js from the lockfile
/// (`npm ci`) once when it is missing. Outside CI a machine without node skips the test, saying
/// so; in CI that fails.
fn oracle_ready() -> bool {
    static INSTALL: Mutex<Option<bool>> = Mutex::new(None);
    let mut installed = INSTALL.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(ready) = *installed {
        return ready;
    }
    let has = |program: &str| Command::new(program).arg("--version").output().is_ok_and(|out| out.status.success());
    let ready = if !has("node") || !has("npm") {
        assert!(std::env::var("CI").is_err(), "CI is set but node/npm are missing (apt-get install nodejs npm)");
        eprintln!("skipped: node and npm are not installed, so graphql-js cannot judge");
        false
    } else {
        if !oracle_dir().join("node_modules/graphql/package.json").exists() {
            let status = Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund"])
                .current_dir(oracle_dir())
                .status()
                .expect("run npm ci");
            assert!(status.success(), "npm ci in tests/oracle failed");
        }
        true
    };
    *installed = Some(ready);
    ready
}

async fn graphql_js_agrees_with_both_read_paths(app: TestApp) {
    if !tokio::task::spawn_blocking(oracle_ready).await.unwrap() {
        return;
    }
    let seed = std::env::var("FANDB_ORACLE_SEED").unwrap_or_else(|_| "1".to_owned());
    let count = std::env::var("FANDB_ORACLE_COUNT").unwrap_or_else(|_| DEFAULT_COUNT.to_string());
    let url = format!("{}/graphql", app.address);
    let schema = Path::new(env!("CARGO_MANIFEST_DIR")).join("schema.graphql");
    let output = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg(oracle_dir().join("oracle.mjs"))
            .args(["--url", &url, "--seed", &seed, "--count", &count, "--schema"])
            .arg(schema)
            .output()
            .expect("run node")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let summary = stdout.lines().rev().find(|line| line.starts_with("oracle: ")).unwrap_or("no summary");
    eprintln!("{summary}");
    assert!(output.status.success(), "graphql-js disagrees with fandb:\n{stdout}\n{stderr}");
    assert!(summary.ends_with(" 0 failed"), "{stdout}");
}
