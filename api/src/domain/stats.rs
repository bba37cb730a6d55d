//! The numbers a campaign lives by, all computed by the database with GROUP BY or read from the
//! maintained counters, never by loading rows: signatures over time, RSVPs by status, and the
//! campaign's totals. Aggregates only: no signer is named, private or not.

use chrono::{DateTime, Utc};
use entity::enums::{PetitionStatus, QuoteStatus, RsvpStatus};
use entity::{event, petition, rsvp};
use sea_orm::sea_query::{Expr, Func};
use sea_orm::{
    ActiveEnum, ColumnTrait, ConnectionTrait, DatabaseBackend, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    Statement,
};

use super::{DomainError, DomainResult};

/// The width of a time bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Bucket {
    Hour,
    Day,
    Week,
}

/// The most buckets one series returns (the most recent ones).
pub const MAX_BUCKETS: i64 = 1000;

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
pub async fn signatures_over_time<D: ConnectionTrait>(
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
pub async fn rsvps_by_status<D: ConnectionTrait>(
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
pub struct Totals {
    pub films: i64,
    pub people: i64,
    pub published_quotes: i64,
    pub events: i64,
    pub upcoming_events: i64,
    pub petitions: i64,
    pub open_petitions: i64,
    pub signatures: i64,
    pub fans: i64,
}

/// Every total in one statement; signatures come from the petitions' maintained counters.
pub async fn totals<D: ConnectionTrait>(db: &D) -> DomainResult<Totals> {
    let backend = db.get_database_backend();
    let (now, published, open) = match backend {
        DatabaseBackend::Postgres => ("$1", "$2", "$3"),
        _ => ("?1", "?2", "?3"),
    };
    let sql = format!(
        "SELECT (SELECT COUNT(*) FROM films) AS films, (SELECT COUNT(*) FROM people) AS people, \
         (SELECT COUNT(*) FROM quotes WHERE status = {published}) AS published_quotes, \
         (SELECT COUNT(*) FROM events) AS events, \
         (SELECT COUNT(*) FROM events WHERE starts_at > {now}) AS upcoming_events, \
         (SELECT COUNT(*) FROM petitions) AS petitions, \
         (SELECT COUNT(*) FROM petitions WHERE status = {open}) AS open_petitions, \
         (SELECT CAST(COALESCE(SUM(signature_count), 0) AS BIGINT) FROM petitions) AS signatures, \
         (SELECT COUNT(*) FROM users) AS fans"
    );
    let values: Vec<sea_orm::Value> =
        vec![super::now().into(), QuoteStatus::Published.to_value().into(), PetitionStatus::Open.to_value().into()];
    let row = db
        .query_one_raw(Statement::from_sql_and_values(backend, sql, values))
        .await?
        .ok_or_else(|| DomainError::Internal("totals: no row".into()))?;
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

/// The open petitions with the most signatures.
pub async fn top_petitions<D: ConnectionTrait>(db: &D, limit: u64) -> DomainResult<Vec<petition::Model>> {
    Ok(petition::Entity::find()
        .filter(petition::Column::Status.eq(PetitionStatus::Open))
        .order_by_desc(petition::Column::SignatureCount)
        .order_by_asc(petition::Column::Id)
        .limit(limit)
        .all(db)
        .await?)
}

/// The next events to start.
pub async fn upcoming_events<D: ConnectionTrait>(db: &D, limit: u64) -> DomainResult<Vec<event::Model>> {
    Ok(event::Entity::find()
        .filter(event::Column::StartsAt.gt(super::now()))
        .order_by_asc(event::Column::StartsAt)
        .order_by_asc(event::Column::Id)
        .limit(limit)
        .all(db)
        .await?)
}
