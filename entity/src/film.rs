//! `films`: a film of the fandom, released or only hoped for; `sequel_of_id` points at the film it follows.

use sea_orm::entity::prelude::*;

use crate::enums::FilmStatus;

/// One row of `films`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "films")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub slug: String,
    pub title: String,
    pub tagline: Option<String>,
    pub synopsis: Option<String>,
    pub release_date: Option<Date>,
    pub runtime_minutes: Option<i32>,
    pub status: FilmStatus,
    pub budget_usd: Option<i64>,
    pub box_office_usd: Option<i64>,
    pub distributor: Option<String>,
    pub sequel_of_id: Option<i64>,
    /// The articles the record draws on, as a JSON list of `{publication, headline}`.
    pub source_articles: Option<String>,
    /// An https image URL (at most 2,048 characters), shown with the record's name as its `alt` text.
    pub poster_url: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

/// Foreign keys of `films`.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(belongs_to = "Entity", from = "Column::SequelOfId", to = "Column::Id", on_delete = "SetNull")]
    SequelOf,
}

impl ActiveModelBehavior for ActiveModel {}
