//! `audit_events`: one admin or moderator change, sign-in, role change or account deletion; the
//! changed fields are JSON text with secrets already stripped.

use sea_orm::entity::prelude::*;

/// One row of `audit_events`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_events")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Who did it; null once their account is deleted (or for a change made outside the API).
    pub actor_id: Option<i64>,
    /// The mutation's name, e.g. `updateFilm`.
    pub action: String,
    /// The changed entity's GraphQL type, e.g. `Film`.
    pub entity_type: String,
    pub entity_id: Option<i64>,
    /// The changed fields as they were (a JSON object); the whole row for a deletion.
    #[sea_orm(column_type = "Text", nullable)]
    pub before: Option<String>,
    /// The changed fields as they are now (a JSON object); the whole row for a creation.
    #[sea_orm(column_type = "Text", nullable)]
    pub after: Option<String>,
    /// The request's id (`X-Request-Id`), when the change came through HTTP.
    pub request_id: Option<String>,
    pub created_at: DateTimeUtc,
}

/// Foreign keys of `audit_events`.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::user::Entity",
        from = "Column::ActorId",
        to = "super::user::Column::Id",
        on_delete = "SetNull"
    )]
    Actor,
}

impl ActiveModelBehavior for ActiveModel {}
