//! fandb: a GraphQL fan-database API. Layers, one way: `http` -> `graphql` -> `domain` -> `entity`,
//! with `loaders` for batched reads and `auth` for who is asking.

pub mod auth;
pub mod backup;
pub mod cli;
pub mod config;
pub mod db;
pub mod domain;
pub mod graphql;
pub mod http;
pub mod import;
pub mod listen;
pub mod loaders;
pub mod mail;
pub mod records;
pub mod replica;
pub mod seed;
pub mod shared_state;
pub mod startup;
pub mod synthetic;
pub mod telemetry;
