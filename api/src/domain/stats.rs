//! The numbers a campaign lives by: signatures over time and by country, RSVPs by status, and
//! the campaign's totals. Each is counted in groups by the builder `aggregate` and
//! `groupedAggregates` use (`grouping`), never by loading rows, and every count of signatures is
//! the maintained counter with its slots. Aggregates only: no signer is named, private or not.

pub(crate) mod grouping;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use entity::enums::{PetitionStatus, QuoteStatus, RsvpStatus};
use entity::{event, film, person, petition, quote, rsvp, signature, user};
use sea_orm::sea_query::{Alias, Expr, Query, SelectStatement};
use sea_orm::{
    ActiveEnum, ColumnTrait, ConnectionTrait, DatabaseBackend, EntityTrait, QueryFilter, QueryOrder, QueryResult,
    QuerySelect, QueryTrait, Select,
};

use super::{DomainError, DomainResult, events, petitions};
use grouping::{COUNT, CountBounds, GroupOrder, Grouping, Keep, KeyOf, PARENT, key_column, value_column};

/// The width of a time bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Bucket {
    Hour,
    Day,
    Week,
}

/// The most buckets one series returns (the most recent ones).
pub(crate) const MAX_BUCKETS: u64 = 1000;

/// The name the grouped rows go by inside a grouping.
const ROWS: &str = "s";

/// The groups `grouping` makes of the rows `source` selects, as rows.
async fn groups<D: ConnectionTrait>(
    db: &D,
    grouping: &Grouping<'_>,
    source: SelectStatement,
) -> DomainResult<Vec<QueryResult>> {
    let select = grouping.select(db.get_database_backend(), source, ROWS);
    Ok(db.query_all(&select).await?)
}

fn internal(what: &'static str) -> impl Fn(sea_orm::DbErr) -> DomainError {
    move |error| DomainError::Internal(format!("{what}: {error}"))
}

/// A group's parent, first key and count.
fn parent_key_count(row: &QueryResult, what: &'static str) -> DomainResult<(i64, Option<String>, i64)> {
    let parent: i64 = row.try_get("", PARENT).map_err(internal(what))?;
    let key: Option<String> = row.try_get("", &key_column(0)).map_err(internal(what))?;
    let count: i64 = row.try_get("", COUNT).map_err(internal(what))?;
    Ok((parent, key, count))
}

/// The instant a bucket's key (`YYYY-MM-DD`, or `YYYY-MM-DDTHH` for hours) starts at.
fn bucket_start(key: &str) -> DomainResult<DateTime<Utc>> {
    let start = match NaiveDateTime::parse_from_str(&format!("{key}:00:00"), "%Y-%m-%dT%H:%M:%S") {
        Ok(start) => start,
        Err(_) => NaiveDate::parse_from_str(key, "%Y-%m-%d")
            .map_err(|error| DomainError::Internal(format!("bucket {key}: {error}")))?
            .and_time(chrono::NaiveTime::MIN),
    };
    Ok(start.and_utc())
}

/// Signatures per bucket for each of `petition_ids`: `(petition, bucket start, count)`, the
/// latest `MAX_BUCKETS` per petition, oldest first. Every signer counts, public or not: the
/// groups of `Signature`'s `DAY` and `WEEK` keys over all of a petition's signatures.
pub(crate) async fn signatures_over_time<D: ConnectionTrait>(
    db: &D,
    petition_ids: &[i64],
    bucket: Bucket,
) -> DomainResult<Vec<(i64, DateTime<Utc>, i64)>> {
    if petition_ids.is_empty() {
        return Ok(Vec::new());
    }
    let key = match bucket {
        Bucket::Hour => KeyOf::Hour("created_at"),
        Bucket::Day => KeyOf::Day("created_at"),
        Bucket::Week => KeyOf::Week("created_at"),
    };
    let grouping = Grouping {
        per: Some("petition_id"),
        keys: &[key],
        values: &[],
        having: CountBounds::default(),
        order: GroupOrder::Keys,
        limit: Some((MAX_BUCKETS, Keep::Last)),
    };
    let source = signature::Entity::find()
        .select_only()
        .columns([signature::Column::PetitionId, signature::Column::CreatedAt])
        .filter(signature::Column::PetitionId.is_in(petition_ids.iter().copied()))
        .into_query();
    let mut series = Vec::new();
    for row in groups(db, &grouping, source).await? {
        let (petition, key, count) = parent_key_count(&row, "signatures over time")?;
        let key = key.ok_or_else(|| DomainError::Internal("a signature without a time".into()))?;
        series.push((petition, bucket_start(&key)?, count));
    }
    Ok(series)
}

/// Signatures per country of each petition, most first (then by country); public and private
/// signers alike, since a total reveals no one. Signers who gave no country are left out: the
/// groups of `Signature`'s `COUNTRY` key over all of a petition's signatures, its null group
/// aside.
pub(crate) async fn signatures_by_country<D: ConnectionTrait>(
    db: &D,
    petition_ids: &[i64],
) -> DomainResult<Vec<(i64, String, i64)>> {
    if petition_ids.is_empty() {
        return Ok(Vec::new());
    }
    let grouping = Grouping {
        per: Some("petition_id"),
        keys: &[KeyOf::Column("country")],
        values: &[],
        having: CountBounds::default(),
        order: GroupOrder::MostFirst,
        limit: None,
    };
    let source = signature::Entity::find()
        .select_only()
        .columns([signature::Column::PetitionId, signature::Column::Country])
        .filter(signature::Column::PetitionId.is_in(petition_ids.iter().copied()))
        .filter(signature::Column::Country.is_not_null())
        .into_query();
    let mut counts = Vec::new();
    for row in groups(db, &grouping, source).await? {
        if let (petition, Some(country), count) = parent_key_count(&row, "signatures by country")? {
            counts.push((petition, country, count));
        }
    }
    Ok(counts)
}

/// RSVPs per status for each of `event_ids`: `(event, status, count)`, in status order (the
/// groups of `Rsvp`'s `STATUS` key).
pub(crate) async fn rsvps_by_status<D: ConnectionTrait>(
    db: &D,
    event_ids: &[i64],
) -> DomainResult<Vec<(i64, RsvpStatus, i64)>> {
    if event_ids.is_empty() {
        return Ok(Vec::new());
    }
    let grouping = Grouping {
        per: Some("event_id"),
        keys: &[KeyOf::Column("status")],
        values: &[],
        having: CountBounds::default(),
        order: GroupOrder::Keys,
        limit: None,
    };
    let source = rsvp::Entity::find()
        .select_only()
        .columns([rsvp::Column::EventId, rsvp::Column::Status])
        .filter(rsvp::Column::EventId.is_in(event_ids.iter().copied()))
        .into_query();
    let mut counts = Vec::new();
    for row in groups(db, &grouping, source).await? {
        let (event, status, count) = parent_key_count(&row, "RSVPs by status")?;
        let status = status.unwrap_or_default();
        let status = RsvpStatus::try_from_value(&status)
            .map_err(|error| DomainError::Internal(format!("RSVP status {status}: {error}")))?;
        counts.push((event, status, count));
    }
    Ok(counts)
}

/// The campaign's totals.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Totals {
    pub(crate) films: i64,
    pub(crate) people: i64,
    pub(crate) published_quotes: i64,
    pub(crate) events: i64,
    pub(crate) upcoming_events: i64,
    pub(crate) petitions: i64,
    pub(crate) open_petitions: i64,
    pub(crate) signatures: i64,
    pub(crate) fans: i64,
}

/// The one group of every row `source` selects (a grouping by no key: one group even of no
/// rows), as a scalar subquery: its row count, or with `value` that aggregate over the rows.
fn whole(backend: DatabaseBackend, source: SelectStatement, value: Option<String>) -> Expr {
    let values: Vec<String> = value.into_iter().collect();
    let grouping = Grouping {
        per: None,
        keys: &[],
        values: &values,
        having: CountBounds::default(),
        order: GroupOrder::Keys,
        limit: None,
    };
    let column = if values.is_empty() { COUNT.to_owned() } else { value_column(0) };
    let select = Query::select()
        .column(Alias::new(column))
        .from_subquery(grouping.select(backend, source, ROWS), Alias::new("g"))
        .to_owned();
    Expr::SubQuery(None, Box::new(select.into()))
}

/// The row count of what `select` finds, as `aggregate { count }` counts a list's rows.
fn count_of<E: EntityTrait>(backend: DatabaseBackend, select: Select<E>) -> Expr {
    whole(backend, select.select_only().expr_as(Expr::cust("1"), "one").into_query(), None)
}

/// Every total in one statement, each the count of a grouping by no key; signatures are the
/// sum of the petitions' maintained counters with their slots (`row_counts`). Open petitions and
/// upcoming events are counted by the conditions the lists use, at one `now`.
pub(crate) async fn totals<D: ConnectionTrait>(db: &D) -> DomainResult<Totals> {
    let now = super::now();
    let backend = db.get_database_backend();
    let counted = petition::Entity::find()
        .select_only()
        .expr_as(super::row_counts::petition_signature_count(), "signature_count")
        .into_query();
    let signatures =
        whole(backend, counted, Some(format!("CAST(COALESCE(SUM(\"{ROWS}\".\"signature_count\"), 0) AS BIGINT)")));
    let quotes = quote::Entity::find().filter(quote::Column::Status.eq(QuoteStatus::Published));
    let upcoming = event::Entity::find().filter(events::upcoming_at(now));
    let open = petition::Entity::find().filter(petitions::reads_as(PetitionStatus::Open, now));
    let query = Query::select()
        .expr_as(count_of(backend, film::Entity::find()), "films")
        .expr_as(count_of(backend, person::Entity::find()), "people")
        .expr_as(count_of(backend, quotes), "published_quotes")
        .expr_as(count_of(backend, event::Entity::find()), "events")
        .expr_as(count_of(backend, upcoming), "upcoming_events")
        .expr_as(count_of(backend, petition::Entity::find()), "petitions")
        .expr_as(count_of(backend, open), "open_petitions")
        .expr_as(signatures, "signatures")
        .expr_as(count_of(backend, user::Entity::find()), "fans")
        .to_owned();
    let row = db.query_one(&query).await?.ok_or_else(|| DomainError::Internal("totals: no row".into()))?;
    let get = |name: &str| -> DomainResult<i64> {
        row.try_get("", name).map_err(|error| DomainError::Internal(format!("totals {name}: {error}")))
    };
    Ok(Totals {
        films: get("films")?,
        people: get("people")?,
        published_quotes: get("published_quotes")?,
        events: get("events")?,
        upcoming_events: get("upcoming_events")?,
        petitions: get("petitions")?,
        open_petitions: get("open_petitions")?,
        signatures: get("signatures")?,
        fans: get("fans")?,
    })
}

/// The petitions that read as open, with the most signatures.
pub(crate) async fn top_petitions<D: ConnectionTrait>(db: &D, limit: u64) -> DomainResult<Vec<petition::Model>> {
    Ok(petition::Entity::find()
        .filter(petitions::reads_as(PetitionStatus::Open, super::now()))
        .order_by_desc(Expr::cust(super::counters::SIGNATURES.total_sql("petitions")))
        .order_by_asc(petition::Column::Id)
        .limit(limit)
        .all(db)
        .await?)
}

/// The upcoming events (those under way included), soonest start first.
pub(crate) async fn upcoming_events<D: ConnectionTrait>(db: &D, limit: u64) -> DomainResult<Vec<event::Model>> {
    Ok(event::Entity::find()
        .filter(events::upcoming_at(super::now()))
        .order_by_asc(event::Column::StartsAt)
        .order_by_asc(event::Column::Id)
        .limit(limit)
        .all(db)
        .await?)
}
