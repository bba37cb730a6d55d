//! The one integration-test binary: every test starts the real server on a free port against a
//! fresh database and talks to it over HTTP. Database tests run on SQLite and, when
//! `FANDB_TEST_POSTGRES_URL` is set (always in CI), on PostgreSQL.

#![expect(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "a failing test should fail loudly")]

#[macro_use]
mod support;

mod account_mail;
mod accounts;
mod admin;
mod aggregates;
mod audit;
mod backup;
mod browser;
mod campaign_page;
mod consistency;
mod credentials;
mod curation;
mod deletion_races;
mod differential;
mod docs;
mod events;
mod exact_answers;
mod fan_actions;
mod films;
mod hashing;
mod hostile;
mod hostile_inputs;
mod hostile_ws;
mod http_surface;
mod images;
mod import;
mod layers;
mod limits;
mod listen_recovery;
mod lockout;
mod n_plus_one;
mod node;
mod observability;
mod oracle;
mod outage;
mod pagination;
mod people;
mod permissions;
mod persisted;
mod petition_updates;
mod petitions;
mod plan_cache;
mod pooler_and_replica;
mod process;
mod production;
mod properties;
mod proxies;
mod quotes;
mod rate_limits;
mod request_cost;
mod response_cache;
mod schema_file;
mod search;
mod seed;
mod session_races;
mod sessions;
mod shared_limits;
mod sorting;
mod stats;
mod stored_urls;
mod subscriptions;
mod synthetic;
mod tokens;
mod users;
mod where_filters;
