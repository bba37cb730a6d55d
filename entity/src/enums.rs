//! The closed sets of values stored as short strings (the same on SQLite and PostgreSQL; the
//! migrations hold each set in a CHECK constraint).

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// Where a film stands, from a fan request to a release.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FilmStatus {
    #[sea_orm(string_value = "RELEASED")]
    Released,
    #[sea_orm(string_value = "IN_PRODUCTION")]
    InProduction,
    #[sea_orm(string_value = "IN_DEVELOPMENT")]
    InDevelopment,
    #[sea_orm(string_value = "ANNOUNCED")]
    Announced,
    #[sea_orm(string_value = "REQUESTED_BY_FANS")]
    RequestedByFans,
}

/// What a person did on a film.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CreditRole {
    #[sea_orm(string_value = "DIRECTOR")]
    Director,
    #[sea_orm(string_value = "PRODUCER")]
    Producer,
    #[sea_orm(string_value = "WRITER")]
    Writer,
    #[sea_orm(string_value = "CAST")]
    Cast,
    #[sea_orm(string_value = "CREW")]
    Crew,
    #[sea_orm(string_value = "VISUAL_EFFECTS")]
    VisualEffects,
}

/// Moderation state of a quote; only published quotes are public.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum QuoteStatus {
    #[sea_orm(string_value = "PENDING")]
    Pending,
    #[sea_orm(string_value = "PUBLISHED")]
    Published,
    #[sea_orm(string_value = "REJECTED")]
    Rejected,
}

/// The kind of a fan event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EventKind {
    #[sea_orm(string_value = "SCREENING")]
    Screening,
    #[sea_orm(string_value = "HASHTAG_CAMPAIGN")]
    HashtagCampaign,
    #[sea_orm(string_value = "WATCH_PARTY")]
    WatchParty,
    #[sea_orm(string_value = "PANEL")]
    Panel,
    #[sea_orm(string_value = "MEETUP")]
    Meetup,
}

/// The state of a petition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PetitionStatus {
    #[sea_orm(string_value = "OPEN")]
    Open,
    #[sea_orm(string_value = "CLOSED")]
    Closed,
    #[sea_orm(string_value = "VICTORY")]
    Victory,
}

/// A fan's answer to an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RsvpStatus {
    #[sea_orm(string_value = "GOING")]
    Going,
    #[sea_orm(string_value = "INTERESTED")]
    Interested,
}

/// What an account may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Role {
    #[sea_orm(string_value = "FAN")]
    Fan,
    #[sea_orm(string_value = "MODERATOR")]
    Moderator,
    #[sea_orm(string_value = "ADMIN")]
    Admin,
}

/// What a mailed account token proves when it comes back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TokenPurpose {
    /// The user can read mail at their address.
    #[sea_orm(string_value = "VERIFY_EMAIL")]
    VerifyEmail,
    /// The user may choose a new password.
    #[sea_orm(string_value = "RESET_PASSWORD")]
    ResetPassword,
}
