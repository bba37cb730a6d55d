//! Logging with `tracing`: `RUST_LOG` decides the level (info by default); `FANDB_LOG_FORMAT=json`
//! writes one JSON object per line (with the request's span, so every line carries its request
//! id), anything else human-readable text. Lines go to standard output, in colour only when it is
//! a terminal and `NO_COLOR` is unset or empty (<https://no-color.org>): a log file or a pipe to a
//! log collector gets no escape codes.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use tracing_subscriber::EnvFilter;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub(crate) enum LogFormat {
    #[default]
    Text,
    Json,
}

/// Installs the global subscriber once; later calls do nothing.
pub(crate) fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_target(false).with_ansi(colour());
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().with_current_span(true).with_span_list(false).try_init(),
    };
}

/// Whether log lines may be coloured: standard output (where `fmt` writes) is a terminal and
/// `NO_COLOR` does not ask otherwise.
fn colour() -> bool {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|value| !value.is_empty());
    !no_color && std::io::stdout().is_terminal()
}

/// A short id, unique within the process and ordered by time, for requests and logged errors.
pub(crate) fn new_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|elapsed| elapsed.as_nanos()).unwrap_or_default();
    let sequence = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{:012x}{:04x}", (nanos as u64) & 0xffff_ffff_ffff, sequence & 0xffff)
}
