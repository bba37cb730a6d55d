//! The numbers a campaign lives by, all computed by the database with GROUP BY or read from the
//! maintained counters, never by loading rows: signatures over time, RSVPs by status, and the
//! campaign's totals. Aggregates only: no signer is named, private or not.

use chrono::{DateTime, Utc};
use entity::enums::{PetitionStatus, QuoteStatus, RsvpStatus};
use entity::{event, film, person, petition, quote, rsvp, user};
use sea_orm::sea_query::{Expr, Func, Query, SelectStatement};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, EntityTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait,
    Select, Statement,
};

use super::{DomainError, DomainResult, events, petitions};

/// The width of a time bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Bucket {
    Hour,
    Day,
    Week,
}

/// The most buckets one series returns (the most recent ones).
pub(crate) const MAX_BUCKETS: i64 = 1000;

/// SQL for the start of `column`'s bucket as `YYYY-MM-DDTHH:MM:SSZ` text, the same on both
/// databases (weeks start on Monday, in UTC).
fn bucket_start(backend: DatabaseBackend, bucket: Bucket, column: &str) -> String {
    match backend {
        DatabaseBackend::Postgres => {
            let unit = match bucket {
                Bucket::Hour => "hour",
                Bucket::Day => "day",
                Bucket::Week => "week",
            };
            format!("to_char(date_trunc('{unit}', {column} AT TIME ZONE 'UTC'), 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')")
        }
        _ => match bucket {
            Bucket::Hour => format!("strftime('%Y-%m-%dT%H:00:00Z', {column})"),
            Bucket::Day => format!("strftime('%Y-%m-%dT00:00:00Z', {column})"),
            Bucket::Week => format!("strftime('%Y-%m-%dT00:00:00Z', {column}, 'weekday 0', '-6 days')"),
        },
    }
}

/// Signatures per bucket for each of `petition_ids`: `(petition, bucket start, count)`, the
/// latest `MAX_BUCKETS` per petition, oldest first.
pub(crate) async fn signatures_over_time<D: ConnectionTrait>(
    db: &D,
    petition_ids: &[i64],
    bucket: Bucket,
) -> DomainResult<Vec<(i64, DateTime<Utc>, i64)>> {
    if petition_ids.is_empty() {
        return Ok(Vec::new());
    }
    let backend = db.get_database_backend();
    let start = bucket_start(backend, bucket, "created_at");
    let placeholders = match backend {
        DatabaseBackend::Postgres => (1..=petition_ids.len()).map(|n| format!("${n}")).collect::<Vec<_>>(),
        _ => (1..=petition_ids.len()).map(|n| format!("?{n}")).collect(),
    }
    .join(", ");
    let sql = format!(
        "SELECT petition_id, bucket, signatures FROM ( \
           SELECT petition_id, bucket, signatures, \
                  ROW_NUMBER() OVER (PARTITION BY petition_id ORDER BY bucket DESC) AS recent \
           FROM (SELECT petition_id, {start} AS bucket, COUNT(*) AS signatures FROM signatures \
                 WHERE petition_id IN ({placeholders}) GROUP BY petition_id, {start}) grouped \
         ) ranked WHERE recent <= {MAX_BUCKETS} ORDER BY petition_id, bucket"
    );
    let values = petition_ids.iter().map(|id| (*id).into()).collect::<Vec<sea_orm::Value>>();
    let rows = db.query_all_raw(Statement::from_sql_and_values(backend, sql, values)).await?;
    rows.iter()
        .map(|row| {
            let column = |error: sea_orm::DbErr| DomainError::Internal(format!("signatures over time: {error}"));
            let petition: i64 = row.try_get("", "petition_id").map_err(column)?;
            let start: String = row.try_get("", "bucket").map_err(column)?;
            let count: i64 = row.try_get("", "signatures").map_err(column)?;
            let start = DateTime::parse_from_rfc3339(&start)
                .map_err(|error| DomainError::Internal(format!("bucket start {start}: {error}")))?
                .with_timezone(&Utc);
            Ok((petition, start, count))
        })
        .collect()
}

/// RSVPs per status for each of `event_ids`: `(event, status, count)`.
pub(crate) async fn rsvps_by_status<D: ConnectionTrait>(
    db: &D,
    event_ids: &[i64],
) -> DomainResult<Vec<(i64, RsvpStatus, i64)>> {
    let count = Expr::from(Func::count(rsvp::Column::Id.into_expr()));
    Ok(rsvp::Entity::find()
        .select_only()
        .column(rsvp::Column::EventId)
        .column(rsvp::Column::Status)
        .column_as(count, "rsvps")
        .filter(rsvp::Column::EventId.is_in(event_ids.iter().copied()))
        .group_by(rsvp::Column::EventId)
        .group_by(rsvp::Column::Status)
        .order_by_asc(rsvp::Column::EventId)
        .order_by_asc(rsvp::Column::Status)
        .into_tuple::<(i64, RsvpStatus, i64)>()
        .all(db)
        .await?)
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

/// `COUNT(*)` of the rows `select` finds, as a scalar subquery.
fn count_of<E: EntityTrait>(select: Select<E>) -> Expr {
    subquery(select.select_only().expr(Expr::cust("COUNT(*)")).into_query())
}

/// `select` as a scalar subquery, one value of the totals' row.
fn subquery(select: SelectStatement) -> Expr {
    Expr::SubQuery(None, Box::new(select.into()))
}

/// Every total in one statement; signatures come from the petitions' maintained counters and their
/// slots (see `counters`). Open
/// petitions and upcoming events are counted by the conditions the lists use, at one `now`.
pub(crate) async fn totals<D: ConnectionTrait>(db: &D) -> DomainResult<Totals> {
    let now = super::now();
    let signatures = petition::Entity::find()
        .select_only()
        .expr(Expr::cust(
            "CAST(COALESCE(SUM(signature_count), 0) + \
             COALESCE((SELECT SUM(delta) FROM petition_count_slots), 0) AS BIGINT)",
        ))
        .into_query();
    let query = Query::select()
        .expr_as(count_of(film::Entity::find()), "films")
        .expr_as(count_of(person::Entity::find()), "people")
        .expr_as(
            count_of(quote::Entity::find().filter(quote::Column::Status.eq(QuoteStatus::Published))),
            "published_quotes",
        )
        .expr_as(count_of(event::Entity::find()), "events")
        .expr_as(count_of(event::Entity::find().filter(events::upcoming_at(now))), "upcoming_events")
        .expr_as(count_of(petition::Entity::find()), "petitions")
        .expr_as(
            count_of(petition::Entity::find().filter(petitions::reads_as(PetitionStatus::Open, now))),
            "open_petitions",
        )
        .expr_as(subquery(signatures), "signatures")
        .expr_as(count_of(user::Entity::find()), "fans")
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
