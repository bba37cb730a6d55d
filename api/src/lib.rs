//! fandb: a GraphQL fan-database API. Layers, one way (docs/ARCHITECTURE.md has the table the
//! layer test holds the code to): `cli` and `startup` wire, `http` serves, `graphql` resolves,
//! `loaders` batch reads, `domain` holds the rules, `auth` and `limits` guard, `infra` adapts to
//! the database, Redis and SMTP, `config` settles the settings.

pub mod auth;
pub mod cli;
pub mod code;
pub mod commands;
pub mod config;
pub mod domain;
pub mod graphql;
pub mod http;
pub mod infra;
pub mod limits;
pub mod loaders;
pub mod startup;
pub mod telemetry;
