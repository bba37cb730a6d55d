//! Typed settings, read once from flags and environment by the command line.

use std::fmt;

/// Development (the default) or production.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Environment {
    Development,
    Production,
}

/// Everything the server needs to start.
#[derive(Clone)]
pub struct Settings {
    /// Where the database is (`sqlite://…` or `postgres://…`).
    pub database_url: String,
    /// The address to listen on, `host:port` (port 0 picks a free one).
    pub listen: String,
    /// Development or production.
    pub environment: Environment,
    /// Load the Alita data set when the database is empty.
    pub seed_when_empty: bool,
    /// HTTP worker threads; the number of cores when unset.
    pub workers: Option<usize>,
}

impl Settings {
    /// Settings for a local server on `database_url`.
    pub fn new(database_url: impl Into<String>) -> Self {
        Self {
            database_url: database_url.into(),
            listen: "127.0.0.1:8000".to_owned(),
            environment: Environment::Development,
            seed_when_empty: true,
            workers: None,
        }
    }
}

impl fmt::Debug for Settings {
    // The database URL may hold a password: show only its scheme.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = self.database_url.split(':').next().unwrap_or_default();
        f.debug_struct("Settings")
            .field("database", &scheme)
            .field("listen", &self.listen)
            .field("environment", &self.environment)
            .field("seed_when_empty", &self.seed_when_empty)
            .field("workers", &self.workers)
            .finish()
    }
}
