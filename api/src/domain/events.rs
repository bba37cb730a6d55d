//! Events: what the event lists filter and sort by, and when an event counts as upcoming or live.

use chrono::{DateTime, Duration, Utc};
use entity::enums::{EventKind, RsvpStatus};
use entity::{event, rsvp};
use sea_orm::DatabaseBackend;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait, IntoActiveModel,
    QueryFilter, Set,
};

use super::counters::GOING;
use super::notify::{Hold, Notifier};
use super::paging::{Direction, Sort};
use super::text::equals_ignoring_case;
use super::validate::{self, Patch};
use super::write::{self, patch, set_if};
use super::{DomainError, DomainResult};

/// How long an event without an end time is taken to last.
pub(crate) const DEFAULT_DURATION: Duration = Duration::hours(1);

/// What an event list may be narrowed to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub(crate) struct EventFilter {
    pub(crate) kind: Option<EventKind>,
    pub(crate) film_id: Option<i64>,
    pub(crate) city: Option<String>,
    pub(crate) country: Option<String>,
    pub(crate) hashtag: Option<String>,
    pub(crate) starts_after: Option<DateTime<Utc>>,
    pub(crate) starts_before: Option<DateTime<Utc>>,
    /// `true`: events not yet over at `now`; `false`: events already over.
    pub(crate) upcoming: Option<bool>,
}

/// A hashtag compared without its `#` and without case.
fn bare_hashtag(hashtag: &str) -> String {
    hashtag.trim().trim_start_matches('#').to_lowercase()
}

impl EventFilter {
    /// The filter as a WHERE condition on `backend`, with `now` deciding what is upcoming.
    pub(crate) fn condition(&self, now: DateTime<Utc>, backend: DatabaseBackend) -> Condition {
        let mut condition = Condition::all();
        if let Some(kind) = self.kind {
            condition = condition.add(event::Column::Kind.eq(kind));
        }
        if let Some(film_id) = self.film_id {
            condition = condition.add(event::Column::FilmId.eq(film_id));
        }
        if let Some(city) = &self.city {
            condition = condition.add(equals_ignoring_case(backend, event::Column::City, city.trim()));
        }
        if let Some(country) = &self.country {
            condition = condition.add(event::Column::Country.eq(country.trim().to_uppercase()));
        }
        if let Some(hashtag) = &self.hashtag {
            condition = condition.add(equals_ignoring_case(
                backend,
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
            condition = condition.add(if upcoming { upcoming_at(now) } else { upcoming_at(now).not() });
        }
        condition
    }
}

/// The keys an event list can be sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum EventOrderField {
    StartsAt,
    Title,
    CreatedAt,
    /// The RSVPs going.
    GoingCount,
}

/// A key of an event list's sort.
pub(crate) fn sort(field: EventOrderField, direction: Direction) -> super::paging::SortKey {
    use super::paging::SortKey;
    match field {
        EventOrderField::StartsAt => SortKey::column(event::Column::StartsAt, direction, false),
        EventOrderField::Title => SortKey::column(event::Column::Title, direction, false),
        EventOrderField::CreatedAt => SortKey::column(event::Column::CreatedAt, direction, false),
        EventOrderField::GoingCount => {
            SortKey::count("events.#going", super::row_counts::event_going_count(), direction)
        }
    }
}

/// Events under a film are listed soonest first.
pub(crate) const RELATION_SORT: Sort<event::Column> =
    Sort { column: event::Column::StartsAt, direction: Direction::Asc, nullable: false };

/// When the event is over: its end, or an hour after its start.
pub(crate) fn ends_at(event: &event::Model) -> DateTime<Utc> {
    event.ends_at.unwrap_or(event.starts_at + DEFAULT_DURATION)
}

/// The events upcoming at `now`, as a WHERE condition: not over yet (`ends_at` is after `now`), so
/// an event under way (`is_live`) still is. The event lists' `upcoming` filter and the campaign's
/// upcoming events and their count all go by it.
pub(crate) fn upcoming_at(now: DateTime<Utc>) -> Condition {
    Condition::any().add(event::Column::EndsAt.gt(now)).add(
        Condition::all().add(event::Column::EndsAt.is_null()).add(event::Column::StartsAt.gt(now - DEFAULT_DURATION)),
    )
}

/// Whether the event is under way at `now`.
pub(crate) fn is_live(event: &event::Model, now: DateTime<Utc>) -> bool {
    event.starts_at <= now && now < ends_at(event)
}

/// The RSVPs that take a seat.
pub(crate) fn seat_condition() -> Condition {
    Condition::all().add(rsvp::Column::Status.eq(RsvpStatus::Going))
}

/// The event with this slug, if any.
pub(crate) async fn by_slug<D: ConnectionTrait>(db: &D, slug: &str) -> DomainResult<Option<event::Model>> {
    Ok(event::Entity::find().filter(event::Column::Slug.eq(slug)).one(db).await?)
}

/// The viewer's RSVP to an event, if any.
pub(crate) async fn rsvp_of<D: ConnectionTrait>(
    db: &D,
    event_id: i64,
    user_id: i64,
) -> DomainResult<Option<rsvp::Model>> {
    Ok(rsvp::Entity::find()
        .filter(rsvp::Column::EventId.eq(event_id))
        .filter(rsvp::Column::UserId.eq(user_id))
        .one(db)
        .await?)
}

/// An RSVP by id, only if it belongs to `user_id` (RSVPs are private to their fan).
pub(crate) async fn rsvp_by_id<D: ConnectionTrait>(
    db: &D,
    rsvp_id: i64,
    user_id: i64,
) -> DomainResult<Option<rsvp::Model>> {
    Ok(rsvp::Entity::find_by_id(rsvp_id).filter(rsvp::Column::UserId.eq(user_id)).one(db).await?)
}

/// A change to an event. On create, `kind`, `title`, `starts_at` and `time_zone` are required.
#[derive(Debug, Default)]
pub(crate) struct EventChanges {
    pub(crate) slug: Option<String>,
    pub(crate) kind: Option<EventKind>,
    pub(crate) title: Option<String>,
    pub(crate) description: Patch<String>,
    pub(crate) film_id: Patch<i64>,
    pub(crate) starts_at: Option<DateTime<Utc>>,
    pub(crate) ends_at: Patch<DateTime<Utc>>,
    pub(crate) time_zone: Option<String>,
    pub(crate) venue: Patch<String>,
    pub(crate) city: Patch<String>,
    pub(crate) country: Patch<String>,
    pub(crate) online_url: Patch<String>,
    pub(crate) hashtag: Patch<String>,
    pub(crate) capacity: Patch<i32>,
    /// An https image URL.
    pub(crate) image_url: Patch<String>,
}

/// Validates and applies everything but slug and title; `current` holds the stored times on update.
async fn apply<C: ConnectionTrait>(
    db: &C,
    model: &mut event::ActiveModel,
    changes: EventChanges,
    current: Option<(DateTime<Utc>, Option<DateTime<Utc>>)>,
) -> DomainResult<()> {
    set_if(&mut model.kind, changes.kind);
    patch(&mut model.description, validate::patch_text("input.description", changes.description, 10_000)?);
    if let Patch::Set(film_id) = changes.film_id {
        write::ensure_exists::<entity::film::Entity, _>(db, entity::film::Column::Id, film_id, "input.filmId", "film")
            .await?;
    }
    patch(&mut model.film_id, changes.film_id);
    let starts_at = changes.starts_at.or(current.map(|(starts, _)| starts));
    let ends_at = match &changes.ends_at {
        Patch::Keep => current.and_then(|(_, ends)| ends),
        Patch::Clear => None,
        Patch::Set(ends) => Some(*ends),
    };
    if let (Some(starts), Some(ends)) = (starts_at, ends_at)
        && ends <= starts
    {
        return Err(DomainError::invalid("input.endsAt", "must be after startsAt"));
    }
    set_if(&mut model.starts_at, changes.starts_at);
    patch(&mut model.ends_at, changes.ends_at);
    if let Some(zone) = &changes.time_zone {
        model.time_zone = Set(validate::time_zone("input.timeZone", zone)?.name().to_owned());
    }
    patch(&mut model.venue, validate::patch_text("input.venue", changes.venue, 200)?);
    patch(&mut model.city, validate::patch_text("input.city", changes.city, 100)?);
    patch(&mut model.country, changes.country.try_map(|code| validate::country("input.country", &code))?);
    patch(&mut model.online_url, changes.online_url.try_map(|url| validate::url("input.onlineUrl", &url))?);
    patch(&mut model.hashtag, changes.hashtag.try_map(|tag| validate::hashtag("input.hashtag", &tag))?);
    patch(
        &mut model.capacity,
        changes.capacity.try_map(|seats| validate::range("input.capacity", seats, 0, 10_000_000))?,
    );
    patch(&mut model.image_url, validate::patch_image_url("input.imageUrl", changes.image_url)?);
    Ok(())
}

impl EventChanges {
    /// Refuses a new event (created or upserted) without what every event has.
    fn require_new(&self) -> DomainResult<()> {
        validate::required("input.kind", self.kind)?;
        validate::required("input.startsAt", self.starts_at)?;
        validate::required("input.timeZone", self.time_zone.as_ref())?;
        Ok(())
    }
}

/// Creates an event, in the caller's transaction (see `write::transaction`; an import runs
/// many in one).
pub(crate) async fn create(
    txn: &impl ConnectionTrait,
    changes: EventChanges,
    by: Option<i64>,
) -> DomainResult<event::Model> {
    let (title, slug) = (changes.title.as_deref(), changes.slug.as_deref());
    let mut model = write::create::<event::Entity, _>(txn, title, slug).await?;
    changes.require_new()?;
    model.created_by_id = Set(by);
    apply(txn, &mut model, changes, None).await?;
    Ok(model.insert(txn).await?)
}

/// Creates the event with this slug (made from the title when not given) or, when there is one,
/// makes it what `changes` says: validated like `create`, written in one statement, and an
/// optional field left out is cleared. A stored event keeps its creator, and refuses fewer seats
/// than its fans already hold, as on update.
pub(crate) async fn upsert(
    txn: &impl ConnectionTrait,
    changes: EventChanges,
    by: Option<i64>,
) -> DomainResult<write::Upserted<event::Model>> {
    use write::stated;
    let changes = EventChanges {
        description: stated(changes.description),
        film_id: stated(changes.film_id),
        ends_at: stated(changes.ends_at),
        venue: stated(changes.venue),
        city: stated(changes.city),
        country: stated(changes.country),
        online_url: stated(changes.online_url),
        hashtag: stated(changes.hashtag),
        capacity: stated(changes.capacity),
        image_url: stated(changes.image_url),
        ..changes
    };
    let (mut model, _) = write::fresh::<event::Entity>(changes.title.as_deref(), changes.slug.as_deref())?;
    changes.require_new()?;
    model.created_by_id = Set(by);
    apply(txn, &mut model, changes, None).await?;
    use sea_orm::sea_query::{Expr, ExprTrait};
    let new_capacity = || Expr::cust("excluded.capacity");
    // `write::upsert` locks a stored row before this runs, so no seat is taken meanwhile.
    let seats_kept = new_capacity().is_null().or(new_capacity().gte(Expr::cust(GOING.total_sql("events"))));
    let refused = DomainError::invalid("input.capacity", "must be at least the number of fans already going");
    write::upsert::<event::Entity, _>(txn, model, &[event::Column::CreatedById], Some((seats_kept, refused))).await
}

/// Changes the given fields of event `id`, in the caller's transaction.
pub(crate) async fn update(txn: &impl ConnectionTrait, id: i64, changes: EventChanges) -> DomainResult<event::Model> {
    // Under the row lock an RSVP takes, so no seat is taken between the check and the change.
    let existing = write::lock::<event::Entity, _>(txn, id, "event").await?;
    if let Patch::Set(capacity) = changes.capacity {
        let going = GOING.total(txn, id).await?.unwrap_or(0);
        if i64::from(capacity) < going {
            return Err(DomainError::invalid(
                "input.capacity",
                format!("must be at least {going}, the number of fans already going"),
            ));
        }
    }
    let current = Some((existing.starts_at, existing.ends_at));
    let (title, slug) = (changes.title.as_deref(), changes.slug.as_deref());
    let mut model = write::rename::<event::Entity, _>(txn, id, existing, title, slug).await?;
    apply(txn, &mut model, changes, current).await?;
    write::save::<event::Entity, _>(txn, model).await
}

/// Deletes event `id` with its RSVPs.
pub(crate) async fn delete(db: &impl write::Db, id: i64) -> DomainResult<()> {
    write::delete::<event::Entity>(db, id, "event").await
}

/// Answers an event as `user_id`: `GOING` takes a seat if one is left (the last seat goes to
/// exactly one of many concurrent fans; the others get `CONFLICT`), `INTERESTED` takes none.
/// Answering the same again changes nothing and returns the RSVP as it is.
pub(crate) async fn rsvp(
    db: &DatabaseConnection,
    notifier: &Notifier,
    user_id: i64,
    event_id: i64,
    status: RsvpStatus,
) -> DomainResult<rsvp::Model> {
    super::retrying(|| rsvp_once(db, notifier, user_id, event_id, status)).await
}

/// One attempt of `rsvp`: a state machine holding the event's row (every RSVP change to one event
/// holds it). The fan's current answer is read under it, only a real transition writes, and the
/// seat count moves exactly once per transition. Answers run side by side (the row held in share
/// mode), except `GOING` to an event with a capacity: that holds the row alone, so the count it
/// checks against the capacity cannot move until it commits.
async fn rsvp_once(
    db: &DatabaseConnection,
    notifier: &Notifier,
    user_id: i64,
    event_id: i64,
    status: RsvpStatus,
) -> DomainResult<rsvp::Model> {
    // Read without a lock to choose the hold; checked again under it.
    let capped = status == RsvpStatus::Going
        && event::Entity::find_by_id(event_id).one(db).await?.is_some_and(|event| event.capacity.is_some());
    let hold = if capped { Hold::Exclusive } else { Hold::Share };
    notifier
        .counted::<event::Entity, _>(db, user_id, (GOING, event_id), ("event", hold), async |txn, event| {
            if hold == Hold::Share {
                // Held alone, the row already runs one answer at a time.
                one_answer_at_a_time(txn, event_id, user_id).await?;
            }
            let now = super::now();
            if ends_at(&event) <= now {
                return Err(DomainError::conflict("eventId", "this event is over"));
            }
            let existing = rsvp_of(txn, event_id, user_id).await?;
            if let Some(existing) = existing.as_ref().filter(|existing| existing.status == status) {
                return Ok((existing.clone(), 0));
            }
            let was_going = existing.as_ref().is_some_and(|rsvp| rsvp.status == RsvpStatus::Going);
            let delta = match (was_going, status == RsvpStatus::Going) {
                (false, true) => {
                    if let Some(capacity) = event.capacity {
                        if hold != Hold::Exclusive {
                            // A capacity was set since the read above: again, holding the row alone.
                            return Err(DomainError::Contention);
                        }
                        let going = GOING.total(txn, event_id).await?.unwrap_or(0);
                        if going >= i64::from(capacity) {
                            return Err(DomainError::conflict("eventId", "this event is full"));
                        }
                    }
                    1
                }
                (true, false) => -1,
                _ => 0,
            };
            let saved = match existing {
                Some(existing) => {
                    let mut model = existing.into_active_model();
                    model.status = Set(status);
                    model.updated_at = Set(now);
                    model.update(txn).await?
                }
                None => {
                    rsvp::ActiveModel {
                        event_id: Set(event_id),
                        user_id: Set(user_id),
                        status: Set(status),
                        created_at: Set(now),
                        updated_at: Set(now),
                        ..Default::default()
                    }
                    .insert(txn)
                    .await?
                }
            };
            Ok((saved, delta))
        })
        .await
}

/// Holds the pair (`event_id`, `user_id`) until the transaction ends (a PostgreSQL advisory lock;
/// SQLite's write gate already runs one change at a time). Answers to one event share its row, so
/// one fan's concurrent answers would otherwise both read the same current answer and both move
/// the count; other fans' answers are not held up. Ids that collide in 32 bits only wait longer.
async fn one_answer_at_a_time<C: ConnectionTrait>(txn: &C, event_id: i64, user_id: i64) -> DomainResult<()> {
    if txn.get_database_backend() == DatabaseBackend::Postgres {
        // Truncation to the lock's two 32-bit keys is wanted: collisions cost a wait, never a count.
        let keys = [(event_id as i32).into(), (user_id as i32).into()];
        let lock = sea_orm::Statement::from_sql_and_values(
            DatabaseBackend::Postgres,
            "SELECT pg_advisory_xact_lock($1, $2)",
            keys,
        );
        txn.execute_raw(lock).await?;
    }
    Ok(())
}

/// Cancels `user_id`'s RSVP, freeing the seat; `false` when there was none. Holds the event's row
/// in share mode like `rsvp`, again from scratch when the database aborted it (`retrying`).
pub(crate) async fn cancel_rsvp(
    db: &DatabaseConnection,
    notifier: &Notifier,
    user_id: i64,
    event_id: i64,
) -> DomainResult<bool> {
    super::retrying(move || {
        let counter = (GOING, event_id);
        notifier.counted::<event::Entity, _>(db, user_id, counter, ("event", Hold::Share), async move |txn, _| {
            one_answer_at_a_time(txn, event_id, user_id).await?;
            let Some(existing) = rsvp_of(txn, event_id, user_id).await? else { return Ok((false, 0)) };
            rsvp::Entity::delete_by_id(existing.id).exec(txn).await?;
            Ok((true, if existing.status == RsvpStatus::Going { -1 } else { 0 }))
        })
    })
    .await
}

/// The instant of `event`'s start as seen in `time_zone`, RFC 3339 with that zone's offset.
pub(crate) fn starts_at_local(event: &event::Model, time_zone: &str) -> DomainResult<String> {
    let zone = validate::time_zone("timeZone", time_zone)?;
    Ok(event.starts_at.with_timezone(&zone).to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
}

/// The event and its current RSVP count and version (with the count's slots, see `counters`).
pub(crate) async fn counter<C: ConnectionTrait>(db: &C, event_id: i64) -> DomainResult<(event::Model, i64, i64)> {
    let event = event::Entity::find_by_id(event_id).one(db).await?.ok_or(DomainError::NotFound("event"))?;
    let (count, version) =
        GOING.totals(db, &[event_id]).await?.remove(&event_id).ok_or(DomainError::NotFound("event"))?;
    Ok((event, count, version))
}
