//! Films and their credits: what the film lists filter and sort by, and the per-film relations.

use chrono::NaiveDate;
use entity::enums::{CreditRole, FilmStatus};
use entity::{credit, film};
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter};

use super::DomainResult;
use super::paging::{Direction, Sort};
use super::text::contains_ignoring_case;

/// What a film list may be narrowed to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct FilmFilter {
    pub title_contains: Option<String>,
    pub status: Option<FilmStatus>,
    pub released_after: Option<NaiveDate>,
    pub released_before: Option<NaiveDate>,
}

impl FilmFilter {
    /// The filter as a WHERE condition.
    pub fn condition(&self) -> Condition {
        let mut condition = Condition::all();
        if let Some(title) = &self.title_contains {
            condition = condition.add(contains_ignoring_case(film::Column::Title, title));
        }
        if let Some(status) = self.status {
            condition = condition.add(film::Column::Status.eq(status));
        }
        if let Some(date) = self.released_after {
            condition = condition.add(film::Column::ReleaseDate.gt(date));
        }
        if let Some(date) = self.released_before {
            condition = condition.add(film::Column::ReleaseDate.lt(date));
        }
        condition
    }
}

/// The keys a film list can be sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FilmOrderField {
    Title,
    ReleaseDate,
    CreatedAt,
}

/// The sort of a film list.
pub fn sort(field: FilmOrderField, direction: Direction) -> Sort<film::Column> {
    let (column, nullable) = match field {
        FilmOrderField::Title => (film::Column::Title, false),
        FilmOrderField::ReleaseDate => (film::Column::ReleaseDate, true),
        FilmOrderField::CreatedAt => (film::Column::CreatedAt, false),
    };
    Sort {
        column,
        direction,
        nullable,
    }
}

/// The film with this slug, if any.
pub async fn by_slug<D: ConnectionTrait>(db: &D, slug: &str) -> DomainResult<Option<film::Model>> {
    Ok(film::Entity::find().filter(film::Column::Slug.eq(slug)).one(db).await?)
}

/// Sequels are listed oldest first, films without a date last.
pub const SEQUEL_SORT: Sort<film::Column> = Sort {
    column: film::Column::ReleaseDate,
    direction: Direction::Asc,
    nullable: true,
};

/// Credits are listed in billing order; credits without one come last.
pub const CREDIT_SORT: Sort<credit::Column> = Sort {
    column: credit::Column::BillingOrder,
    direction: Direction::Asc,
    nullable: true,
};

/// The credits a film's or person's credit list may be narrowed to.
pub fn credit_condition(role: Option<CreditRole>) -> Condition {
    let mut condition = Condition::all();
    if let Some(role) = role {
        condition = condition.add(credit::Column::Role.eq(role));
    }
    condition
}
