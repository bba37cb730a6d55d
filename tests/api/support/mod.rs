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

/// Declares tests that run once on SQLite and once on PostgreSQL:
/// `db_tests! { async fn name(app) { ... } }` makes `name::sqlite` and `name::postgres`.
macro_rules! db_tests {
    ($($(#[$meta:meta])* async fn $name:ident($app:ident) $body:block)*) => {
        $(
            $(#[$meta])*
            mod $name {
                #[allow(unused_imports)]
                use super::*;

                async fn body($app: $crate::support::TestApp) $body

                #[test]
                fn sqlite() {
                    $crate::support::backends::run($crate::support::Backend::Sqlite, body);
                }

                #[test]
                fn postgres() {
                    $crate::support::backends::run($crate::support::Backend::Postgres, body);
                }
            }
        )*
    };
}
