//! Events: what the event lists filter and sort by, and when an event counts as upcoming or live.

use chrono::{DateTime, Duration, Utc};
use entity::enums::{EventKind, RsvpStatus};
use entity::{event, rsvp};
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter};

use super::DomainResult;
use super::paging::{Direction, Sort};
use super::text::equals_ignoring_case;

/// How long an event without an end time is taken to last.
pub const DEFAULT_DURATION: Duration = Duration::hours(1);

/// What an event list may be narrowed to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct EventFilter {
    pub kind: Option<EventKind>,
    pub film_id: Option<i64>,
    pub city: Option<String>,
    pub country: Option<String>,
    pub hashtag: Option<String>,
    pub starts_after: Option<DateTime<Utc>>,
    pub starts_before: Option<DateTime<Utc>>,
    /// `true`: events not yet over at `now`; `false`: events already over.
    pub upcoming: Option<bool>,
}

/// A hashtag compared without its `#` and without case.
fn bare_hashtag(hashtag: &str) -> String {
    hashtag.trim().trim_start_matches('#').to_lowercase()
}

impl EventFilter {
    /// The filter as a WHERE condition, with `now` deciding what is upcoming.
    pub fn condition(&self, now: DateTime<Utc>) -> Condition {
        let mut condition = Condition::all();
        if let Some(kind) = self.kind {
            condition = condition.add(event::Column::Kind.eq(kind));
        }
        if let Some(film_id) = self.film_id {
            condition = condition.add(event::Column::FilmId.eq(film_id));
        }
        if let Some(city) = &self.city {
            condition = condition.add(equals_ignoring_case(event::Column::City, city.trim()));
        }
        if let Some(country) = &self.country {
            condition = condition.add(event::Column::Country.eq(country.trim().to_uppercase()));
        }
        if let Some(hashtag) = &self.hashtag {
            condition = condition.add(equals_ignoring_case(
                event::Column::Hashtag,
                &format!("#{}", bare_hashtag(hashtag)),
            ));
        }
        if let Some(after) = self.starts_after {
            condition = condition.add(event::Column::StartsAt.gt(after));
        }
        if let Some(before) = self.starts_before {
            condition = condition.add(event::Column::StartsAt.lt(before));
        }
        if let Some(upcoming) = self.upcoming {
            let not_over = Condition::any().add(event::Column::EndsAt.gt(now)).add(
                Condition::all()
                    .add(event::Column::EndsAt.is_null())
                    .add(event::Column::StartsAt.gt(now - DEFAULT_DURATION)),
            );
            condition = condition.add(if upcoming { not_over } else { not_over.not() });
        }
        condition
    }
}

/// The keys an event list can be sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventOrderField {
    StartsAt,
    Title,
    CreatedAt,
}

/// The sort of an event list.
pub fn sort(field: EventOrderField, direction: Direction) -> Sort<event::Column> {
    let column = match field {
        EventOrderField::StartsAt => event::Column::StartsAt,
        EventOrderField::Title => event::Column::Title,
        EventOrderField::CreatedAt => event::Column::CreatedAt,
    };
    Sort {
        column,
        direction,
        nullable: false,
    }
}

/// Events under a film are listed soonest first.
pub const RELATION_SORT: Sort<event::Column> = Sort {
    column: event::Column::StartsAt,
    direction: Direction::Asc,
    nullable: false,
};

/// When the event is over: its end, or an hour after its start.
pub fn ends_at(event: &event::Model) -> DateTime<Utc> {
    event.ends_at.unwrap_or(event.starts_at + DEFAULT_DURATION)
}

/// Whether the event is under way at `now`.
pub fn is_live(event: &event::Model, now: DateTime<Utc>) -> bool {
    event.starts_at <= now && now < ends_at(event)
}

/// The RSVPs that take a seat.
pub fn seat_condition() -> Condition {
    Condition::all().add(rsvp::Column::Status.eq(RsvpStatus::Going))
}

/// The event with this slug, if any.
pub async fn by_slug<D: ConnectionTrait>(db: &D, slug: &str) -> DomainResult<Option<event::Model>> {
    Ok(event::Entity::find()
        .filter(event::Column::Slug.eq(slug))
        .one(db)
        .await?)
}

/// The viewer's RSVP to an event, if any.
pub async fn rsvp_of<D: ConnectionTrait>(db: &D, event_id: i64, user_id: i64) -> DomainResult<Option<rsvp::Model>> {
    Ok(rsvp::Entity::find()
        .filter(rsvp::Column::EventId.eq(event_id))
        .filter(rsvp::Column::UserId.eq(user_id))
        .one(db)
        .await?)
}

/// An RSVP by id, only if it belongs to `user_id` (RSVPs are private to their fan).
pub async fn rsvp_by_id<D: ConnectionTrait>(db: &D, rsvp_id: i64, user_id: i64) -> DomainResult<Option<rsvp::Model>> {
    Ok(rsvp::Entity::find_by_id(rsvp_id)
        .filter(rsvp::Column::UserId.eq(user_id))
        .one(db)
        .await?)
}
