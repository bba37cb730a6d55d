//! SeaORM entities of the fandb tables: one module per table, singular names over plural tables.
//! Nothing here knows about GraphQL or HTTP; the API wraps these models in types of its own.

pub mod account_token;
pub mod audit_event;
pub mod credit;
pub mod enums;
pub mod event;
pub mod film;
pub mod person;
pub mod petition;
pub mod petition_update;
pub mod prelude;
pub mod quote;
pub mod refresh_token;
pub mod rsvp;
pub mod signature;
pub mod user;
