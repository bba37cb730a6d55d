//! Test support: the spawned application, the backends, the HTTP client and fixtures.

pub mod app;
pub mod backends;
pub mod browser;
pub mod fixtures;
pub mod pgbouncer;
pub mod process;
pub mod proxy;
pub mod redis;
pub mod smtp;
pub mod ws;

pub use app::{TEST_JWT_SECRET, TestApp};
pub use backends::Backend;

/// `db_tests!(name, …)` runs each named `async fn name(app: TestApp)` as `name::sqlite` and
/// `name::postgres`, each on a fresh database of its own (removed when the test ends). The
/// functions are plain items, so rustfmt formats them.
macro_rules! db_tests {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[test]
                fn sqlite() {
                    $crate::support::backends::run($crate::support::Backend::Sqlite, super::$name);
                }

                #[test]
                fn postgres() {
                    $crate::support::backends::run($crate::support::Backend::Postgres, super::$name);
                }
            }
        )*
    };
}
