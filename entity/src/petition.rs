//! `petitions`: a campaign's ask of a target (the studio), with a signature goal.

use sea_orm::entity::prelude::*;

use crate::enums::PetitionStatus;

/// One row of `petitions`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "petitions")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub slug: String,
    pub title: String,
    pub body: String,
    pub target: String,
    pub goal: i64,
    pub status: PetitionStatus,
    pub film_id: Option<i64>,
    pub closes_at: Option<DateTimeUtc>,
    /// Maintained count of signatures.
    pub signature_count: i64,
    /// Grows with every change of the count; orders live notices.
    pub count_version: i64,
    /// The articles the record draws on, as a JSON list of `{publication, headline}`.
    pub source_articles: Option<String>,
    /// An https image URL (at most 2,048 characters), shown with the record's name as its `alt` text.
    pub image_url: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

/// Foreign keys of `petitions`.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::film::Entity",
        from = "Column::FilmId",
        to = "super::film::Column::Id",
        on_delete = "SetNull"
    )]
    Film,
}

impl ActiveModelBehavior for ActiveModel {}
