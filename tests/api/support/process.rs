//! The real `fandb` binary as a child process, for what only a process shows: its log lines,
//! signals, and its exit code.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::TEST_JWT_SECRET;

/// A running `fandb serve` and every line it has written to stdout so far.
pub struct ServerProcess {
    pub child: Child,
    /// `http://127.0.0.1:PORT`.
    pub address: String,
    pub lines: Arc<Mutex<Vec<String>>>,
}

impl ServerProcess {
    /// Starts `fandb serve` on `database_url` with JSON logs and waits until it listens.
    pub fn start(database_url: &str, extra_env: &[(&str, &str)]) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_fandb"));
        command
            .args(["--database-url", database_url, "--listen", "127.0.0.1:0", "serve"])
            .env("FANDB_LOG_FORMAT", "json")
            .env("FANDB_JWT_SECRET", TEST_JWT_SECRET)
            .env("FANDB_RATE_LIMIT_PER_SECOND", "100000")
            .env("FANDB_RATE_LIMIT_BURST", "100000")
            .env("FANDB_SIGN_INS_PER_MINUTE", "100000")
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (name, value) in extra_env {
            command.env(name, value);
        }
        let mut child = command.spawn().expect("start the fandb binary");
        let lines = Arc::new(Mutex::new(Vec::new()));
        for stream in [
            child.stdout.take().map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
            child.stderr.take().map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let lines = lines.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    lines.lock().unwrap().push(line);
                }
            });
        }
        let started = Instant::now();
        let address = loop {
            let found = lines.lock().unwrap().iter().find_map(|line| {
                let start = line.find("serving GraphQL at http://127.0.0.1:")? + "serving GraphQL at ".len();
                let rest = &line[start..];
                let end = rest.find("/graphql")?;
                Some(rest[..end].to_owned())
            });
            if let Some(address) = found {
                break address;
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!("fandb exited early ({status}): {:?}", lines.lock().unwrap());
            }
            assert!(started.elapsed() < Duration::from_secs(60), "fandb did not start: {:?}", lines.lock().unwrap());
            std::thread::sleep(Duration::from_millis(20));
        };
        Self { child, address, lines }
    }

    /// Sends SIGTERM.
    pub fn terminate(&self) {
        let status = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().expect("run kill");
        assert!(status.success());
    }

    /// Waits for the process to exit, at most `limit`; its exit code.
    pub fn wait(&mut self, limit: Duration) -> Option<i32> {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status.code();
            }
            if started.elapsed() > limit {
                let _ = self.child.kill();
                panic!("fandb did not exit within {limit:?}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Every line written so far.
    pub fn output(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

/// Whether util-linux `script` is installed, which runs a command on a terminal (a pty) of its
/// own; without it, a test that needs a terminal says `skipped:` (and fails under `CI=true`).
pub fn script_available() -> bool {
    if Command::new("script").arg("--version").stdout(Stdio::null()).status().is_ok() {
        return true;
    }
    assert!(std::env::var("CI").is_err(), "CI is set but `script` (Debian package bsdutils) is not installed");
    eprintln!("skipped: `script` (util-linux, Debian package bsdutils) is not installed");
    false
}
