//! `people`: someone who made a film or spoke about it (a company such as an effects house counts too).

use sea_orm::entity::prelude::*;

/// One row of `people`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "people")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub slug: String,
    pub name: String,
    pub bio: Option<String>,
    pub birth_date: Option<Date>,
    /// The articles the record draws on, as a JSON list of `{publication, headline}`.
    pub source_articles: Option<String>,
    /// An https image URL (at most 2,048 characters), shown with the record's name as its `alt` text.
    pub photo_url: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

/// `people` has no foreign keys of its own.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
