//! The two databases every test runs on, each test with a fresh database of its own.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use sea_orm::{ConnectionTrait, Database};

use super::TestApp;

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub fn unique_name() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or_default();
    format!("{}_{}_{}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed), nanos % 1_000_000_000)
}

/// A fresh database URL for one test, or `None` when PostgreSQL is not configured outside CI.
pub async fn fresh_database(backend: Backend) -> Option<String> {
    match backend {
        Backend::Sqlite => {
            let path = std::env::temp_dir().join(format!("fandb_test_{}.sqlite", unique_name()));
            Some(format!("sqlite://{}?mode=rwc", path.display()))
        }
        Backend::Postgres => {
            let Ok(admin_url) = std::env::var("FANDB_TEST_POSTGRES_URL") else {
                assert!(
                    std::env::var("CI").is_err(),
                    "CI is set but FANDB_TEST_POSTGRES_URL is not: the PostgreSQL tests must run in CI"
                );
                eprintln!("skipped: set FANDB_TEST_POSTGRES_URL to run the PostgreSQL variant");
                return None;
            };
            let name = format!("fandb_test_{}", unique_name());
            let admin = Database::connect(admin_url.as_str()).await.unwrap_or_else(|error| {
                panic!("FANDB_TEST_POSTGRES_URL is set but PostgreSQL is unreachable: {error}")
            });
            admin.execute_unprepared(&format!("CREATE DATABASE \"{name}\"")).await.expect("create a test database");
            admin.close().await.ok();
            Some(with_database(&admin_url, &name))
        }
    }
}

/// `admin_url` with its database name replaced by `name`.
fn with_database(admin_url: &str, name: &str) -> String {
    let (base, query) = match admin_url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (admin_url, None),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let host_part = match base[scheme_end..].find('/') {
        Some(slash) => &base[..scheme_end + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{host_part}/{name}?{query}"),
        None => format!("{host_part}/{name}"),
    }
}

/// Runs one test body against a freshly spawned application on `backend`; the test's database is
/// removed when it ends, passed or failed.
pub fn run<F, Fut>(backend: Backend, test: F)
where
    F: FnOnce(TestApp) -> Fut,
    Fut: Future<Output = ()>,
{
    let Some(url) = actix_web::rt::System::new().block_on(fresh_database(backend)) else {
        return;
    };
    let _removed_at_the_end = Scratch { backend, url: url.clone() };
    actix_web::rt::System::new().block_on(async move {
        let app = TestApp::spawn(&url).await;
        test(app).await;
    });
}

/// A test's database, removed when dropped (also while a failed test unwinds): the SQLite file
/// with its WAL and shared-memory files, or the PostgreSQL database (`WITH (FORCE)`: the test's
/// servers may still hold connections).
pub struct Scratch {
    pub backend: Backend,
    pub url: String,
}

impl Drop for Scratch {
    fn drop(&mut self) {
        match self.backend {
            Backend::Sqlite => {
                let path = self.url.trim_start_matches("sqlite://").split('?').next().unwrap_or_default();
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{path}{suffix}"));
                }
            }
            Backend::Postgres => {
                let url = self.url.clone();
                // A runtime of its own, on a thread of its own: this may run while a panic unwinds
                // out of the test's runtime.
                let dropped = std::thread::spawn(move || actix_web::rt::System::new().block_on(drop_database(&url)));
                if let Ok(Err(error)) = dropped.join() {
                    eprintln!("could not drop the test database: {error}");
                }
            }
        }
    }
}

async fn drop_database(url: &str) -> Result<(), sea_orm::DbErr> {
    let Ok(admin_url) = std::env::var("FANDB_TEST_POSTGRES_URL") else { return Ok(()) };
    let name = url.rsplit('/').next().unwrap_or_default().split('?').next().unwrap_or_default();
    if !name.starts_with("fandb_test_") {
        return Ok(());
    }
    let admin = Database::connect(admin_url.as_str()).await?;
    admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")).await?;
    admin.close().await
}
