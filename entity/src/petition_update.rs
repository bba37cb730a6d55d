//! `petition_updates`: news an organiser posts to a petition's signers. The Markdown is kept as
//! written and rendered once, sanitized, into `body_html` when it is written.

use sea_orm::entity::prelude::*;

/// One row of `petition_updates`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "petition_updates")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub petition_id: i64,
    pub title: String,
    /// The body as the author wrote it (Markdown).
    pub body_markdown: String,
    /// The body rendered to HTML and sanitized: safe to insert into a page as it is.
    pub body_html: String,
    /// Who posted it; null once that account is deleted.
    pub author_id: Option<i64>,
    /// When fans may see it; a later time keeps it from them until then.
    pub published_at: DateTimeUtc,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

/// Foreign keys of `petition_updates`.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::petition::Entity",
        from = "Column::PetitionId",
        to = "super::petition::Column::Id",
        on_delete = "Cascade"
    )]
    Petition,
    #[sea_orm(
        belongs_to = "super::user::Entity",
        from = "Column::AuthorId",
        to = "super::user::Column::Id",
        on_delete = "SetNull"
    )]
    Author,
}

impl ActiveModelBehavior for ActiveModel {}
