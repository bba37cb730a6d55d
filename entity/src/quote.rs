//! `quotes`: something a person said, with where it was said; public only once published.

use sea_orm::entity::prelude::*;

use crate::enums::QuoteStatus;

/// One row of `quotes`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "quotes")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub text: String,
    pub person_id: i64,
    pub film_id: Option<i64>,
    pub source: String,
    pub source_url: Option<String>,
    pub said_on: Option<Date>,
    pub context: Option<String>,
    pub status: QuoteStatus,
    pub submitted_by_id: Option<i64>,
    /// The articles the record draws on, as a JSON list of `{publication, headline}`.
    pub source_articles: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

/// Foreign keys of `quotes`.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::person::Entity",
        from = "Column::PersonId",
        to = "super::person::Column::Id",
        on_delete = "Cascade"
    )]
    Person,
    #[sea_orm(
        belongs_to = "super::film::Entity",
        from = "Column::FilmId",
        to = "super::film::Column::Id",
        on_delete = "SetNull"
    )]
    Film,
    #[sea_orm(
        belongs_to = "super::user::Entity",
        from = "Column::SubmittedById",
        to = "super::user::Column::Id",
        on_delete = "SetNull"
    )]
    SubmittedBy,
}

impl ActiveModelBehavior for ActiveModel {}
