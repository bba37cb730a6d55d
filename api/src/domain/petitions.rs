//! Petitions and signatures: what the petition lists filter and sort by, what of a signature is
//! public, and the counts a campaign page shows.

use entity::enums::PetitionStatus;
use entity::{petition, signature};
use sea_orm::sea_query::{Expr, Func};
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::DomainResult;
use super::paging::{Direction, Sort};

/// What a petition list may be narrowed to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct PetitionFilter {
    pub status: Option<PetitionStatus>,
    pub film_id: Option<i64>,
}

impl PetitionFilter {
    /// The filter as a WHERE condition.
    pub fn condition(&self) -> Condition {
        let mut condition = Condition::all();
        if let Some(status) = self.status {
            condition = condition.add(petition::Column::Status.eq(status));
        }
        if let Some(film_id) = self.film_id {
            condition = condition.add(petition::Column::FilmId.eq(film_id));
        }
        condition
    }
}

/// The keys a petition list can be sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PetitionOrderField {
    CreatedAt,
    Title,
    ClosesAt,
    Goal,
}

/// The sort of a petition list.
pub fn sort(field: PetitionOrderField, direction: Direction) -> Sort<petition::Column> {
    let (column, nullable) = match field {
        PetitionOrderField::CreatedAt => (petition::Column::CreatedAt, false),
        PetitionOrderField::Title => (petition::Column::Title, false),
        PetitionOrderField::ClosesAt => (petition::Column::ClosesAt, true),
        PetitionOrderField::Goal => (petition::Column::Goal, false),
    };
    Sort {
        column,
        direction,
        nullable,
    }
}

/// Petitions under a film are listed in the order they were started.
pub const RELATION_SORT: Sort<petition::Column> = Sort {
    column: petition::Column::CreatedAt,
    direction: Direction::Asc,
    nullable: false,
};

/// Signatures are listed newest first.
pub const SIGNATURE_SORT: Sort<signature::Column> = Sort {
    column: signature::Column::CreatedAt,
    direction: Direction::Desc,
    nullable: false,
};

/// Only the signatures whose signers chose to be shown.
pub fn public_signatures() -> Condition {
    Condition::all().add(signature::Column::Public.eq(true))
}

/// The petition with this slug, if any.
pub async fn by_slug<D: ConnectionTrait>(db: &D, slug: &str) -> DomainResult<Option<petition::Model>> {
    Ok(petition::Entity::find()
        .filter(petition::Column::Slug.eq(slug))
        .one(db)
        .await?)
}

/// How far a petition is towards its goal (1.0 is the goal reached; more when exceeded).
pub fn progress(signature_count: u64, goal: i64) -> f64 {
    if goal <= 0 {
        return 0.0;
    }
    // Counts stay far below 2^52, so the conversions are exact.
    signature_count as f64 / goal as f64
}

/// Signatures per country, most first; public and private signers alike, since a total reveals
/// no one. Signers who gave no country are left out.
pub async fn signatures_by_country<D: ConnectionTrait>(db: &D, petition_id: i64) -> DomainResult<Vec<(String, i64)>> {
    let count = Expr::from(Func::count(signature::Column::Id.into_expr()));
    Ok(signature::Entity::find()
        .select_only()
        .column(signature::Column::Country)
        .column_as(count.clone(), "signatures")
        .filter(signature::Column::PetitionId.eq(petition_id))
        .filter(signature::Column::Country.is_not_null())
        .group_by(signature::Column::Country)
        .order_by_desc(count)
        .order_by_asc(signature::Column::Country)
        .into_tuple::<(String, i64)>()
        .all(db)
        .await?)
}

/// Whether `user_id` has signed the petition.
pub async fn has_signed<D: ConnectionTrait>(db: &D, petition_id: i64, user_id: i64) -> DomainResult<bool> {
    Ok(signature::Entity::find()
        .filter(signature::Column::PetitionId.eq(petition_id))
        .filter(signature::Column::UserId.eq(user_id))
        .one(db)
        .await?
        .is_some())
}
