//! The audit trail: who changed what, written by every admin or moderator mutation, sign-in, role
//! change and account deletion INSIDE the change's own transaction, so a change that rolls back
//! leaves no row and a row always means the change happened.
//!
//! How a mutation records itself (each call site one line inside its `write::transaction`):
//! - a creation: `audit::created(txn, actor, "createFilm", films::create(txn, changes).await?)`
//! - a change: `audit::updating::<film::Entity, _>(txn, actor, "updateFilm", id, films::update(txn, id, changes))`
//!   (the row is read before the change future runs, and only the fields that differ are kept);
//! - a deletion: `audit::deleting::<film::Entity, _>(txn, actor, "deleteFilm", id, films::delete(txn, id))`;
//! - anything else: `audit::record` with the row before and after, or `audit::record_raw`.
//!
//! A new table joins the trail by one line in the `audited!` list below. Rows are stored as JSON
//! objects keyed by the API's camelCase field names; any key naming a password, hash, token or
//! secret is dropped from every row, whatever the table (see `SECRET_MARKERS`).

use std::future::Future;

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use entity::audit_event;
use sea_orm::sea_query::{ValueType, sea_value_to_json_value};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, IdenStatic, Iterable, ModelTrait,
    PrimaryKeyTrait, QueryFilter, QuerySelect, Set, Value,
};
use serde_json::{Map, Value as Json};

use super::paging::{Direction, Sort};
use super::{DomainError, DomainResult};

/// The id of the HTTP request a change came through (the client's `X-Request-Id` or a new one),
/// handed from the HTTP layer to the GraphQL context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RequestId(pub String);

/// Who makes a change, and in which request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Actor {
    /// The signed-in user; `None` for a change made outside a session.
    pub user_id: Option<i64>,
    /// The request's id, when the change came through HTTP.
    pub request_id: Option<String>,
}

impl Actor {
    /// The same request acting as `user_id` (a sign-in: the user is known only once it succeeds).
    pub(crate) fn as_user(&self, user_id: i64) -> Self {
        Self { user_id: Some(user_id), request_id: self.request_id.clone() }
    }
}

/// A table whose rows the trail records: its entity type (the GraphQL type name, which is also the
/// prefix of its global IDs) and its id column.
pub trait Audited: EntityTrait {
    /// The GraphQL type name, e.g. `Film`.
    const TYPE: &'static str;
    /// The `id` column.
    const ID: Self::Column;
}

macro_rules! audited {
    ($($module:ident => $name:literal),* $(,)?) => {
        $(impl Audited for entity::$module::Entity {
            const TYPE: &'static str = $name;
            const ID: Self::Column = entity::$module::Column::Id;
        })*
    };
}

audited!(
    film => "Film",
    person => "Person",
    credit => "Credit",
    quote => "Quote",
    event => "Event",
    petition => "Petition",
    user => "User",
    petition_update => "PetitionUpdate",
);

/// A key with any of these words (ignoring case; `passwordHash`, `token_hash`, `apiSecret`) is a
/// secret and never enters the trail. Whole words, so `hashtag` is not one.
const SECRET_MARKERS: [&str; 5] = ["password", "hash", "token", "secret", "salt"];

/// Keys left out of a change's difference: they move with every change and say nothing about it.
const ALWAYS_CHANGING: [&str; 2] = ["updatedAt", "countVersion"];

/// Whether `key` names a secret.
pub(crate) fn is_secret(key: &str) -> bool {
    words(key).iter().any(|word| SECRET_MARKERS.iter().any(|marker| word.eq_ignore_ascii_case(marker)))
}

/// The words of a `camelCase`, `snake_case` or `kebab-case` key.
fn words(key: &str) -> Vec<&str> {
    let mut words = Vec::new();
    let mut start = 0;
    let mut previous_lower = false;
    for (index, c) in key.char_indices() {
        if c == '_' || c == '-' {
            words.push(&key[start..index]);
            start = index + 1;
        } else if c.is_ascii_uppercase() && previous_lower {
            words.push(&key[start..index]);
            start = index;
        }
        previous_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
    }
    words.push(&key[start..]);
    words.retain(|word| !word.is_empty());
    words
}

/// Drops every secret key from `row`, at any depth.
fn strip(row: &mut Map<String, Json>) {
    row.retain(|key, _| !is_secret(key));
    for value in row.values_mut() {
        strip_value(value);
    }
}

fn strip_value(value: &mut Json) {
    match value {
        Json::Object(object) => strip(object),
        Json::Array(items) => items.iter_mut().for_each(strip_value),
        _ => {}
    }
}

/// `snake_case` → `camelCase`, the API's spelling of a column.
fn camel(snake: &str) -> String {
    let mut out = String::with_capacity(snake.len());
    let mut upper = false;
    for c in snake.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.push(c.to_ascii_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// A column value as JSON: instants in RFC 3339 like the API's `DateTime`, the rest as they are.
fn json_of(value: &Value) -> Json {
    match value {
        Value::ChronoDateTimeUtc(Some(instant)) => Json::String(instant.to_rfc3339_opts(SecondsFormat::AutoSi, true)),
        Value::ChronoDate(Some(date)) => Json::String(date.to_string()),
        // Bytes would need to be UTF-8 here; no audited table has a binary column.
        Value::Bytes(_) => Json::Null,
        other => sea_value_to_json_value(other),
    }
}

/// Every column of `model`, by its camelCase name (secrets are stripped later, when stored).
pub(crate) fn row<M: ModelTrait>(model: &M) -> Map<String, Json> {
    <M::Entity as EntityTrait>::Column::iter()
        .map(|column| (camel(column.as_str()), json_of(&model.get(column))))
        .collect()
}

/// The fields that differ between two versions of a row: (before, after), each holding only the
/// changed keys.
pub(crate) fn difference(
    mut before: Map<String, Json>,
    mut after: Map<String, Json>,
) -> (Map<String, Json>, Map<String, Json>) {
    let unchanged: Vec<String> = before
        .iter()
        .filter(|(key, value)| ALWAYS_CHANGING.contains(&key.as_str()) || after.get(*key) == Some(*value))
        .map(|(key, _)| key.clone())
        .collect();
    for key in unchanged {
        before.remove(&key);
        after.remove(&key);
    }
    (before, after)
}

/// Records `action` on a row of `M`'s table: the whole row for a creation (`before` none) or a
/// deletion (`after` none), only the changed fields when both are given.
pub(crate) async fn record<M>(
    txn: &impl ConnectionTrait,
    actor: &Actor,
    action: &str,
    before: Option<&M>,
    after: Option<&M>,
) -> DomainResult<()>
where
    M: ModelTrait,
    M::Entity: Audited,
{
    let id =
        after.or(before).and_then(|model| <i64 as ValueType>::try_from(model.get(<M::Entity as Audited>::ID)).ok());
    let (before, after) = match (before.map(row), after.map(row)) {
        (Some(before), Some(after)) => {
            let (before, after) = difference(before, after);
            (Some(before), Some(after))
        }
        other => other,
    };
    record_raw(txn, actor, action, <M::Entity as Audited>::TYPE, id, before, after).await
}

/// Records an event given as JSON objects (secrets are stripped here, from every row).
pub(crate) async fn record_raw(
    txn: &impl ConnectionTrait,
    actor: &Actor,
    action: &str,
    entity_type: &str,
    entity_id: Option<i64>,
    before: Option<Map<String, Json>>,
    after: Option<Map<String, Json>>,
) -> DomainResult<()> {
    let text = |row: Option<Map<String, Json>>| {
        row.map(|mut row| {
            strip(&mut row);
            Json::Object(row).to_string()
        })
    };
    audit_event::ActiveModel {
        actor_id: Set(actor.user_id),
        action: Set(action.to_owned()),
        entity_type: Set(entity_type.to_owned()),
        entity_id: Set(entity_id),
        before: Set(text(before)),
        after: Set(text(after)),
        request_id: Set(actor.request_id.clone()),
        created_at: Set(super::now()),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    Ok(())
}

/// Records the creation of `model` and hands it back:
/// `audit::created(txn, actor, "createFilm", films::create(txn, changes).await?).await`.
pub(crate) async fn created<M>(txn: &impl ConnectionTrait, actor: &Actor, action: &str, model: M) -> DomainResult<M>
where
    M: ModelTrait,
    M::Entity: Audited,
{
    record(txn, actor, action, None, Some(&model)).await?;
    Ok(model)
}

/// Records an upsert and hands it back: the whole row when it was created, the changed fields
/// when a stored row was updated.
pub(crate) async fn upserted<M>(
    txn: &impl ConnectionTrait,
    actor: &Actor,
    action: &str,
    upserted: super::write::Upserted<M>,
) -> DomainResult<super::write::Upserted<M>>
where
    M: ModelTrait,
    M::Entity: Audited,
{
    let before = if upserted.created { None } else { upserted.before.as_ref() };
    record(txn, actor, action, before, Some(&upserted.row)).await?;
    Ok(upserted)
}

/// Reads row `id` of `E` under its lock (so no other change slips in between), runs `change` (not
/// yet awaited, so it runs after the read) and records the fields it changed. A missing row is
/// left to `change` to report.
pub async fn updating<E, C>(
    txn: &C,
    actor: &Actor,
    action: &str,
    id: i64,
    change: impl Future<Output = DomainResult<E::Model>>,
) -> DomainResult<E::Model>
where
    E: Audited,
    <E::PrimaryKey as PrimaryKeyTrait>::ValueType: From<i64>,
    C: ConnectionTrait,
{
    let before = E::find_by_id(id).lock_exclusive().one(txn).await?;
    let after = change.await?;
    record(txn, actor, action, before.as_ref(), Some(&after)).await?;
    Ok(after)
}

/// Reads row `id` of `E` under its lock, runs `change` (its deletion) and records the row as it
/// was.
pub(crate) async fn deleting<E, C>(
    txn: &C,
    actor: &Actor,
    action: &str,
    id: i64,
    change: impl Future<Output = DomainResult<()>>,
) -> DomainResult<()>
where
    E: Audited,
    <E::PrimaryKey as PrimaryKeyTrait>::ValueType: From<i64>,
    C: ConnectionTrait,
{
    let before = E::find_by_id(id).lock_exclusive().one(txn).await?;
    change.await?;
    if let Some(before) = before {
        record(txn, actor, action, Some(&before), None).await?;
    }
    Ok(())
}

/// What `auditLog` may be narrowed to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub(crate) struct AuditFilter {
    pub(crate) actor_id: Option<i64>,
    pub(crate) entity_type: Option<String>,
    pub(crate) entity_id: Option<i64>,
    /// Strictly after this instant.
    pub(crate) after: Option<DateTime<Utc>>,
    /// Strictly before this instant.
    pub(crate) before: Option<DateTime<Utc>>,
}

impl AuditFilter {
    /// The filter as a WHERE condition.
    pub(crate) fn condition(&self) -> Condition {
        let mut condition = Condition::all();
        if let Some(actor) = self.actor_id {
            condition = condition.add(audit_event::Column::ActorId.eq(actor));
        }
        if let Some(entity_type) = &self.entity_type {
            condition = condition.add(audit_event::Column::EntityType.eq(entity_type.as_str()));
        }
        if let Some(entity) = self.entity_id {
            condition = condition.add(audit_event::Column::EntityId.eq(entity));
        }
        if let Some(after) = self.after {
            condition = condition.add(audit_event::Column::CreatedAt.gt(after));
        }
        if let Some(before) = self.before {
            condition = condition.add(audit_event::Column::CreatedAt.lt(before));
        }
        condition
    }
}

/// The trail is read newest first (ties broken by id).
pub(crate) const SORT: Sort<audit_event::Column> =
    Sort { column: audit_event::Column::CreatedAt, direction: Direction::Desc, nullable: false };

/// Reads a duration like `365d`, `12h` (days or hours, a positive whole number).
pub(crate) fn parse_age(text: &str) -> DomainResult<Duration> {
    let invalid = || DomainError::invalid("older-than", format!("`{text}` is not a duration like 365d or 12h"));
    let text = text.trim();
    let (number, in_days) = match (text.strip_suffix('d'), text.strip_suffix('h')) {
        (Some(number), _) => (number, true),
        (None, Some(number)) => (number, false),
        (None, None) => return Err(invalid()),
    };
    let count: i64 = number.parse().ok().filter(|count| *count > 0).ok_or_else(invalid)?;
    let age = if in_days { Duration::try_days(count) } else { Duration::try_hours(count) };
    age.ok_or_else(invalid)
}

/// Deletes the events older than `age`; returns how many went.
pub(crate) async fn prune(db: &impl ConnectionTrait, age: Duration) -> DomainResult<u64> {
    let cutoff = super::now().checked_sub_signed(age).ok_or_else(|| DomainError::invalid("older-than", "too long"))?;
    let deleted = audit_event::Entity::delete_many().filter(audit_event::Column::CreatedAt.lt(cutoff)).exec(db).await?;
    Ok(deleted.rows_affected)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_recognised_in_any_spelling() {
        for key in ["passwordHash", "password_hash", "tokenHash", "refreshToken", "apiSecret", "PASSWORD", "api-token"]
        {
            assert!(is_secret(key), "{key}");
        }
        for key in ["title", "email", "role", "displayName", "hashtag", "tokenizer", "keynote"] {
            assert!(!is_secret(key), "{key}");
        }
    }

    #[test]
    fn nested_secrets_are_stripped() {
        let mut row: Map<String, Json> = serde_json::from_str(
            r#"{"title":"x","passwordHash":"h","nested":{"token":"t","keep":1},"list":[{"secret":"s"}]}"#,
        )
        .unwrap_or_default();
        strip(&mut row);
        assert_eq!(Json::Object(row), serde_json::json!({"list": [{}], "nested": {"keep": 1}, "title": "x"}));
    }

    #[test]
    fn a_difference_keeps_only_changed_keys() {
        let before: Map<String, Json> =
            serde_json::from_str(r#"{"id":1,"title":"a","updatedAt":"1"}"#).unwrap_or_default();
        let after: Map<String, Json> =
            serde_json::from_str(r#"{"id":1,"title":"b","updatedAt":"2"}"#).unwrap_or_default();
        let (before, after) = difference(before, after);
        assert_eq!(Json::Object(before), serde_json::json!({"title": "a"}));
        assert_eq!(Json::Object(after), serde_json::json!({"title": "b"}));
    }

    #[test]
    fn ages_take_days_and_hours_only() {
        assert_eq!(parse_age("365d").ok(), Duration::try_days(365));
        assert_eq!(parse_age("12h").ok(), Duration::try_hours(12));
        for bad in ["", "d", "0d", "-1d", "12", "12m", "1.5d", "abc", "99999999999999999d", "365日", "é"] {
            assert!(parse_age(bad).is_err(), "{bad}");
        }
    }
}
