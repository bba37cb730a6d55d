//! Users as admins and the users themselves see them: what the admins' user list filters and
//! sorts by, and the order of the viewer's own lists.

use chrono::{DateTime, Utc};
use entity::enums::Role;
use entity::{quote, rsvp, signature, user};
use sea_orm::{ColumnTrait, Condition};

use super::paging::{Direction, Sort};
use super::text::contains_ignoring_case;

/// The longest email address, and so the longest `emailContains` filter.
pub const EMAIL_MAX: usize = 254;

/// What the admins' user list may be narrowed to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct UserFilter {
    pub role: Option<Role>,
    pub email_contains: Option<String>,
    pub created_after: Option<DateTime<Utc>>,
}

impl UserFilter {
    /// The filter as a WHERE condition.
    pub fn condition(&self) -> Condition {
        let mut condition = Condition::all();
        if let Some(role) = self.role {
            condition = condition.add(user::Column::Role.eq(role));
        }
        if let Some(email) = &self.email_contains {
            condition = condition.add(contains_ignoring_case(user::Column::Email, email));
        }
        if let Some(after) = self.created_after {
            condition = condition.add(user::Column::CreatedAt.gt(after));
        }
        condition
    }
}

/// The keys the user list can be sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UserOrderField {
    CreatedAt,
    Email,
    DisplayName,
    LastLoginAt,
}

/// The sort of the user list; users who never logged in come last by `LAST_LOGIN_AT`.
pub fn sort(field: UserOrderField, direction: Direction) -> Sort<user::Column> {
    let (column, nullable) = match field {
        UserOrderField::CreatedAt => (user::Column::CreatedAt, false),
        UserOrderField::Email => (user::Column::Email, false),
        UserOrderField::DisplayName => (user::Column::DisplayName, false),
        UserOrderField::LastLoginAt => (user::Column::LastLoginAt, true),
    };
    Sort { column, direction, nullable }
}

/// A user's own signatures, newest first.
pub const OWN_SIGNATURE_SORT: Sort<signature::Column> =
    Sort { column: signature::Column::CreatedAt, direction: Direction::Desc, nullable: false };

/// A user's own RSVPs, newest first.
pub const OWN_RSVP_SORT: Sort<rsvp::Column> =
    Sort { column: rsvp::Column::CreatedAt, direction: Direction::Desc, nullable: false };

/// A user's submitted quotes, newest first.
pub const OWN_QUOTE_SORT: Sort<quote::Column> =
    Sort { column: quote::Column::CreatedAt, direction: Direction::Desc, nullable: false };
