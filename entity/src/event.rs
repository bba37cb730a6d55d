//! `events`: screenings, hashtag hours, watch parties, panels and meetups organised by fans.

use sea_orm::entity::prelude::*;

use crate::enums::EventKind;

/// One row of `events`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "events")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub slug: String,
    pub kind: EventKind,
    pub title: String,
    pub description: Option<String>,
    pub film_id: Option<i64>,
    pub starts_at: DateTimeUtc,
    pub ends_at: Option<DateTimeUtc>,
    pub time_zone: String,
    pub venue: Option<String>,
    pub city: Option<String>,
    pub country: Option<String>,
    pub online_url: Option<String>,
    pub hashtag: Option<String>,
    pub capacity: Option<i32>,
    pub created_by_id: Option<i64>,
    /// Maintained count of RSVPs going.
    pub going_count: i64,
    /// Grows with every change of the count; orders live notices.
    pub count_version: i64,
    /// The articles the record draws on, as a JSON list of `{publication, headline}`.
    pub source_articles: Option<String>,
    /// An https image URL (at most 2,048 characters), shown with the record's name as its `alt` text.
    pub image_url: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

/// Foreign keys of `events`.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::film::Entity",
        from = "Column::FilmId",
        to = "super::film::Column::Id",
        on_delete = "SetNull"
    )]
    Film,
    #[sea_orm(
        belongs_to = "super::user::Entity",
        from = "Column::CreatedById",
        to = "super::user::Column::Id",
        on_delete = "SetNull"
    )]
    CreatedBy,
}

impl ActiveModelBehavior for ActiveModel {}
