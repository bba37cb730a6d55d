//! Quotes: who may see which (only published ones are public; a submitter sees its own; moderators
//! see all), and what the quote lists filter and sort by.

use entity::enums::QuoteStatus;
use entity::quote;
use sea_orm::{ColumnTrait, Condition};

use super::paging::{Direction, Sort};
use super::text::contains_ignoring_case;
use crate::auth::Viewer;

/// The quotes `viewer` may see, as a WHERE condition. Every path to a quote goes through this.
pub fn visible_to(viewer: &Viewer) -> Condition {
    if viewer.is_moderator() {
        return Condition::all();
    }
    let mut condition = Condition::any().add(quote::Column::Status.eq(QuoteStatus::Published));
    if let Some(user_id) = viewer.user_id {
        condition = condition.add(quote::Column::SubmittedById.eq(user_id));
    }
    condition
}

/// What a quote list may be narrowed to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct QuoteFilter {
    pub person_id: Option<i64>,
    pub film_id: Option<i64>,
    pub text_contains: Option<String>,
    pub status: Option<QuoteStatus>,
}

impl QuoteFilter {
    /// The filter as a WHERE condition, within what `viewer` may see.
    pub fn condition(&self, viewer: &Viewer) -> Condition {
        let mut condition = Condition::all().add(visible_to(viewer));
        if let Some(person_id) = self.person_id {
            condition = condition.add(quote::Column::PersonId.eq(person_id));
        }
        if let Some(film_id) = self.film_id {
            condition = condition.add(quote::Column::FilmId.eq(film_id));
        }
        if let Some(text) = &self.text_contains {
            condition = condition.add(contains_ignoring_case(quote::Column::Text, text));
        }
        if let Some(status) = self.status {
            condition = condition.add(quote::Column::Status.eq(status));
        }
        condition
    }
}

/// The keys a quote list can be sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QuoteOrderField {
    CreatedAt,
    SaidOn,
}

/// The sort of a quote list.
pub fn sort(field: QuoteOrderField, direction: Direction) -> Sort<quote::Column> {
    match field {
        QuoteOrderField::CreatedAt => Sort {
            column: quote::Column::CreatedAt,
            direction,
            nullable: false,
        },
        QuoteOrderField::SaidOn => Sort {
            column: quote::Column::SaidOn,
            direction,
            nullable: true,
        },
    }
}

/// Quotes under a film or a person are listed in the order they were added.
pub const RELATION_SORT: Sort<quote::Column> = Sort {
    column: quote::Column::CreatedAt,
    direction: Direction::Asc,
    nullable: false,
};
