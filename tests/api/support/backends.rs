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

/// Runs one test body against a freshly spawned application on `backend`.
pub fn run<F, Fut>(backend: Backend, test: F)
where
    F: FnOnce(TestApp) -> Fut,
    Fut: Future<Output = ()>,
{
    actix_web::rt::System::new().block_on(async move {
        let Some(url) = fresh_database(backend).await else {
            return;
        };
        let app = TestApp::spawn(&url).await;
        test(app).await;
    });
}
