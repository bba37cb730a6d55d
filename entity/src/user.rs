//! `users`: an account; `email` is stored trimmed and lower-cased, `password_hash` is an argon2id PHC string.

use sea_orm::entity::prelude::*;

use crate::enums::Role;

/// One row of `users`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub email: String,
    pub display_name: String,
    pub password_hash: String,
    pub role: Role,
    /// Whether the address was proven to be the user's (a verification or reset link was followed).
    pub email_verified: bool,
    /// The last successful login, if any.
    pub last_login_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

/// `users` has no foreign keys of its own.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
