//! fandb: a GraphQL fan-database API. Layers, one way (docs/ARCHITECTURE.md has the table the
//! layer test holds the code to): `cli` and `startup` wire, `http` serves, `graphql` resolves,
//! `loaders` batch reads, `domain` holds the rules, `auth` and `limits` guard, `infra` adapts to
//! the database, Redis and SMTP, `config` settles the settings.
//!
//! Everything is crate-private unless the binary (`src/main.rs`), the integration tests or the
//! benches use it: those paths are the only `pub` ones, so the dead-code lint sees the rest.

pub mod auth;
pub mod cli;
mod code;
pub mod commands;
pub mod config;
pub mod domain;
pub mod graphql;
mod http;
pub mod infra;
pub mod limits;
mod loaders;
pub mod startup;
mod telemetry;
