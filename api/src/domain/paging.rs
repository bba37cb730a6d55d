//! Keyset ("cursor") pagination over any entity, for top-level lists and for per-parent lists
//! fetched in one batch. Never OFFSET: a cursor is the sort value and the id of a row, and a page
//! is the rows strictly after (or before) it in a total order (sort column, then id).
//!
//! NULL sort values always come last, whatever the direction, so the order is total and the same on
//! SQLite and PostgreSQL.

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use sea_orm::sea_query::{Alias, Asterisk, Expr, ExprTrait, NullOrdering, Order, Query};
use sea_orm::{
    ColumnTrait, ColumnType, Condition, ConnectionTrait, EntityName, EntityTrait, FromQueryResult, IdenStatic,
    ModelTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait, Select, Value,
};
use serde::{Deserialize, Serialize};

use super::error::{DomainError, DomainResult};

mod order;
pub(crate) use order::{ListOrder, SortKey, fetch_ordered};

/// Rows per page when the client gives no size.
pub(crate) const DEFAULT_PAGE_SIZE: u64 = 20;
/// The largest page a client may ask for.
pub(crate) const MAX_PAGE_SIZE: u64 = 100;

/// Ascending or descending.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Direction {
    Asc,
    Desc,
}

/// A sort key of one entity: the column, its direction, and whether it can hold NULL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Sort<C> {
    pub(crate) column: C,
    pub(crate) direction: Direction,
    pub(crate) nullable: bool,
}

/// The sort value of a row as carried in a cursor.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum SortValue {
    Null,
    Int(i64),
    Text(String),
    Date(NaiveDate),
    Time(DateTime<Utc>),
}

impl SortValue {
    fn from_value(value: Value) -> Option<Self> {
        Some(match value {
            Value::BigInt(Some(v)) => Self::Int(v),
            Value::Int(Some(v)) => Self::Int(i64::from(v)),
            Value::String(Some(v)) => Self::Text(v),
            Value::ChronoDate(Some(v)) => Self::Date(v),
            Value::ChronoDateTimeUtc(Some(v)) => Self::Time(v),
            Value::BigInt(None)
            | Value::Int(None)
            | Value::String(None)
            | Value::ChronoDate(None)
            | Value::ChronoDateTimeUtc(None) => Self::Null,
            _ => return None,
        })
    }

    fn into_value(self) -> Option<Value> {
        Some(match self {
            Self::Null => return None,
            Self::Int(v) => Value::BigInt(Some(v)),
            Self::Text(v) => Value::String(Some(v)),
            Self::Date(v) => Value::ChronoDate(Some(v)),
            Self::Time(v) => Value::ChronoDateTimeUtc(Some(v)),
        })
    }
}

/// A position in a list: the order (table, sort column and direction), the sort value and the id of
/// one row. Opaque to clients. The order is carried so a cursor made under one order is refused
/// under any other, on every backend, instead of being compared with a column of another type or
/// read in the opposite direction.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub(crate) struct Cursor {
    #[serde(rename = "s")]
    sort: String,
    #[serde(rename = "d")]
    descending: bool,
    #[serde(rename = "v")]
    value: SortValue,
    #[serde(rename = "i")]
    id: i64,
    /// The values of the keys after the first, for an order of several keys (`Order`); absent
    /// for one key, so those cursors read as they always did.
    #[serde(rename = "k", default, skip_serializing_if = "Vec::is_empty")]
    more: Vec<SortValue>,
    /// The argument this cursor came in (`after` or `before`), for errors; never encoded.
    #[serde(skip)]
    field: &'static str,
}

impl Cursor {
    /// The cursor of `model` under `sort`.
    fn of<M: ModelTrait>(
        model: &M,
        sort: Sort<<M::Entity as EntityTrait>::Column>,
        id_column: <M::Entity as EntityTrait>::Column,
    ) -> Self {
        let value = SortValue::from_value(model.get(sort.column)).unwrap_or(SortValue::Null);
        let id = match model.get(id_column) {
            Value::BigInt(Some(id)) => id,
            Value::Int(Some(id)) => i64::from(id),
            _ => 0,
        };
        Self {
            sort: sort_key(sort.column),
            descending: sort.direction == Direction::Desc,
            value,
            id,
            more: Vec::new(),
            field: "",
        }
    }

    /// The opaque text handed to clients.
    pub(crate) fn encode(&self) -> String {
        let json = serde_json::to_vec(self).unwrap_or_default();
        URL_SAFE_NO_PAD.encode(json)
    }

    /// Reads a cursor a client sent back; `field` names the argument for the error.
    pub(crate) fn decode(text: &str, field: &'static str) -> DomainResult<Self> {
        let invalid = || DomainError::invalid(field, "not a valid cursor");
        let mut cursor: Self = URL_SAFE_NO_PAD
            .decode(text)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .ok_or_else(invalid)?;
        // A forged cursor must not carry what a database cannot compare (PostgreSQL text holds no
        // NUL; its dates end long before chrono's).
        let storable = |value: &SortValue| match value {
            SortValue::Text(text) => !text.contains('\0'),
            SortValue::Date(date) => (1..=9999).contains(&date.year()),
            SortValue::Time(time) => (1..=9999).contains(&time.year()),
            SortValue::Null | SortValue::Int(_) => true,
        };
        if !storable(&cursor.value) || !cursor.more.iter().all(storable) {
            return Err(invalid());
        }
        cursor.field = field;
        Ok(cursor)
    }

    /// Checks the cursor was made under `sort`: the same table, column and direction, and a value
    /// of that column's type.
    fn check<C: ColumnTrait>(&self, sort: Sort<C>) -> DomainResult<()> {
        if self.sort != sort_key(sort.column)
            || self.descending != (sort.direction == Direction::Desc)
            || !self.more.is_empty()
        {
            return Err(DomainError::invalid(self.field, "this cursor belongs to a list in another order"));
        }
        if !self.value.fits(sort_kind(sort.column.def().get_column_type()), sort.nullable) {
            return Err(DomainError::invalid(self.field, "not a valid cursor"));
        }
        Ok(())
    }
}

impl SortValue {
    /// Whether the value can be a sort value of a key of `kind` (NULL only for a nullable key).
    fn fits(&self, kind: Option<SortKind>, nullable: bool) -> bool {
        match self {
            SortValue::Null => nullable,
            SortValue::Int(_) => kind == Some(SortKind::Int),
            SortValue::Text(_) => kind == Some(SortKind::Text),
            SortValue::Date(_) => kind == Some(SortKind::Date),
            SortValue::Time(_) => kind == Some(SortKind::Time),
        }
    }

    /// The sort value of a key of `kind` as the database wrote it in JSON.
    fn from_json(value: &serde_json::Value, kind: SortKind) -> Self {
        let value = match (value, kind) {
            (serde_json::Value::Null, _) => Some(SortValue::Null),
            (serde_json::Value::Number(number), SortKind::Int) => number.as_i64().map(SortValue::Int),
            (serde_json::Value::String(text), SortKind::Text) => Some(SortValue::Text(text.clone())),
            (serde_json::Value::String(text), SortKind::Date) => {
                NaiveDate::parse_from_str(text, "%Y-%m-%d").ok().map(SortValue::Date)
            }
            (serde_json::Value::String(text), SortKind::Time) => stored_instant(text).map(SortValue::Time),
            _ => None,
        };
        value.unwrap_or(SortValue::Null)
    }
}

/// What names an order in a cursor: the table and the sort column.
fn sort_key<C: ColumnTrait>(column: C) -> String {
    format!("{}.{}", C::EntityName::default().table_name(), column.as_str())
}

/// A validated page request: how many rows, from which end, between which cursors.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct PageRequest {
    limit: u64,
    from_end: bool,
    after: Option<Cursor>,
    before: Option<Cursor>,
}

impl PageRequest {
    /// Checks the Relay arguments: at most one of `first`/`last`, sizes within 0..=100.
    pub(crate) fn new(
        first: Option<i32>,
        after: Option<&str>,
        last: Option<i32>,
        before: Option<&str>,
    ) -> DomainResult<Self> {
        if first.is_some() && last.is_some() {
            return Err(DomainError::invalid("last", "pass either `first` or `last`, not both"));
        }
        let size = |value: i32, field: &str| -> DomainResult<u64> {
            let value = u64::try_from(value).map_err(|_| DomainError::invalid(field, "must not be negative"))?;
            if value > MAX_PAGE_SIZE {
                return Err(DomainError::invalid(field, format!("must be at most {MAX_PAGE_SIZE}")));
            }
            Ok(value)
        };
        let (limit, from_end) = match (first, last) {
            (Some(first), _) => (size(first, "first")?, false),
            (None, Some(last)) => (size(last, "last")?, true),
            (None, None) => (DEFAULT_PAGE_SIZE, false),
        };
        Ok(Self {
            limit,
            from_end,
            after: after.map(|text| Cursor::decode(text, "after")).transpose()?,
            before: before.map(|text| Cursor::decode(text, "before")).transpose()?,
        })
    }
}

impl PageRequest {
    /// The most rows the page holds.
    pub(crate) fn limit(&self) -> u64 {
        self.limit
    }

    /// Whether the page is taken from the end of the list (`last`).
    pub(crate) fn is_from_end(&self) -> bool {
        self.from_end
    }

    /// Whether the page starts after a cursor.
    pub(crate) fn has_after(&self) -> bool {
        self.after.is_some()
    }

    /// Whether the page ends before a cursor.
    pub(crate) fn has_before(&self) -> bool {
        self.before.is_some()
    }
}

/// The kind of value a sort column holds, as a cursor carries it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SortKind {
    Int,
    Text,
    Date,
    Time,
}

/// The kind of value a column of `column_type` holds in a cursor; `None` for a type no cursor
/// carries.
fn sort_kind(column_type: &ColumnType) -> Option<SortKind> {
    match column_type {
        ColumnType::TinyInteger
        | ColumnType::SmallInteger
        | ColumnType::Integer
        | ColumnType::BigInteger
        | ColumnType::TinyUnsigned
        | ColumnType::SmallUnsigned
        | ColumnType::Unsigned
        | ColumnType::BigUnsigned => Some(SortKind::Int),
        ColumnType::String(_) | ColumnType::Text | ColumnType::Char(_) | ColumnType::Enum { .. } => {
            Some(SortKind::Text)
        }
        ColumnType::Date => Some(SortKind::Date),
        ColumnType::Timestamp | ColumnType::TimestampWithTimeZone | ColumnType::DateTime => Some(SortKind::Time),
        _ => None,
    }
}

/// How to make the cursors of one list from the sort value and id of a row read as JSON (by the
/// read planner, whose rows never become models): the same cursors `Cursor::of` makes.
#[derive(Debug, Clone)]
pub(crate) struct CursorShape {
    sort: String,
    descending: bool,
    kind: SortKind,
    /// The kinds of the keys after the first (`Order`); then the sort value is a JSON array.
    more: Vec<SortKind>,
}

impl CursorShape {
    /// The cursors of a list in the order of `sort`.
    pub(crate) fn of<C: ColumnTrait>(sort: Sort<C>) -> Self {
        // A column of no known kind never sorts a list; its cursors would carry text.
        let kind = sort_kind(sort.column.def().get_column_type()).unwrap_or(SortKind::Text);
        Self { sort: sort_key(sort.column), descending: sort.direction == Direction::Desc, kind, more: Vec::new() }
    }

    /// The encoded cursor of the row whose sort column holds `value` (as the database wrote it in
    /// JSON) and whose id is `id`.
    /// With several keys, `value` is the JSON array of their values.
    pub(crate) fn encode(&self, value: &serde_json::Value, id: i64) -> String {
        let (value, more) = if self.more.is_empty() {
            (SortValue::from_json(value, self.kind), Vec::new())
        } else {
            let values = value.as_array().map(Vec::as_slice).unwrap_or_default();
            let at = |index: usize| values.get(index).unwrap_or(&serde_json::Value::Null);
            let more = self.more.iter().enumerate().map(|(index, kind)| SortValue::from_json(at(index + 1), *kind));
            (SortValue::from_json(at(0), self.kind), more.collect())
        };
        let cursor = Cursor { sort: self.sort.clone(), descending: self.descending, value, id, more, field: "" };
        cursor.encode()
    }
}

/// An instant as either database writes it in JSON: PostgreSQL's `timestamptz` (RFC 3339 with an
/// offset) or the text SQLite stores (the formats its driver reads, naive ones in UTC).
pub(crate) fn stored_instant(text: &str) -> Option<DateTime<Utc>> {
    if let Ok(instant) = DateTime::parse_from_rfc3339(text) {
        return Some(instant.with_timezone(&Utc));
    }
    const FORMATS: [&str; 12] = [
        "%F %T%.f",
        "%F %R",
        "%F %RZ",
        "%F %R%:z",
        "%F %T%.fZ",
        "%F %T%.f%:z",
        "%FT%R",
        "%FT%RZ",
        "%FT%R%:z",
        "%FT%T%.f",
        "%FT%T%.fZ",
        "%FT%T%.f%:z",
    ];
    FORMATS.iter().find_map(|format| {
        DateTime::parse_from_str(text, format)
            .map(|instant| instant.with_timezone(&Utc))
            .ok()
            .or_else(|| chrono::NaiveDateTime::parse_from_str(text, format).ok().map(|naive| naive.and_utc()))
    })
}

/// The order of a page's rows (sort column NULLS LAST, then id, reversed when read from the end)
/// over the columns of `alias`, for an aggregate's `ORDER BY`: the order `page_select` reads in.
pub(crate) fn read_order_sql<C: ColumnTrait>(sort: Sort<C>, id: C, page: &PageRequest, alias: &str) -> String {
    let word = |order: Order| if matches!(order, Order::Asc) { "ASC" } else { "DESC" };
    let direction = word(read_order(sort.direction, page.from_end));
    let column = sort.column.as_str();
    let id = id.as_str();
    let nulls = if !sort.nullable {
        ""
    } else if page.from_end {
        " NULLS FIRST"
    } else {
        " NULLS LAST"
    };
    format!("\"{alias}\".\"{column}\" {direction}{nulls}, \"{alias}\".\"{id}\" {direction}")
}

/// One page of rows with their cursors.
#[derive(Debug, Clone)]
pub(crate) struct Page<M> {
    pub(crate) rows: Vec<(Cursor, M)>,
    pub(crate) has_next_page: bool,
    pub(crate) has_previous_page: bool,
}

impl<M> Page<M> {
    fn empty() -> Self {
        Self { rows: Vec::new(), has_next_page: false, has_previous_page: false }
    }

    /// The same page with each row behind an `Arc`, to be handed out without copying rows.
    pub(crate) fn shared(self) -> Page<std::sync::Arc<M>> {
        let rows = self.rows.into_iter().map(|(cursor, row)| (cursor, std::sync::Arc::new(row))).collect();
        Page { rows, has_next_page: self.has_next_page, has_previous_page: self.has_previous_page }
    }
}

/// `>` for ascending and `<` for descending: "comes later in this direction".
fn later<C: ColumnTrait>(column: C, direction: Direction, value: Value) -> Expr {
    match direction {
        Direction::Asc => column.gt(value),
        Direction::Desc => column.lt(value),
    }
}

/// The condition "the row comes strictly after `cursor`" (or strictly before, with `before`),
/// in the order (sort column NULLS LAST, id) of `sort`.
fn beyond<C: ColumnTrait>(sort: Sort<C>, id: C, cursor: &Cursor, before: bool) -> Condition {
    let direction = match (sort.direction, before) {
        (d, false) => d,
        (Direction::Asc, true) => Direction::Desc,
        (Direction::Desc, true) => Direction::Asc,
    };
    let id_beyond = later(id, direction, Value::BigInt(Some(cursor.id)));
    match (cursor.value.clone().into_value(), before) {
        (Some(value), false) => {
            let mut condition = Condition::any()
                .add(later(sort.column, direction, value.clone()))
                .add(Condition::all().add(sort.column.eq(value)).add(id_beyond));
            if sort.nullable {
                condition = condition.add(sort.column.is_null());
            }
            condition
        }
        (Some(value), true) => Condition::all().add(sort.column.is_not_null()).add(
            Condition::any()
                .add(later(sort.column, direction, value.clone()))
                .add(Condition::all().add(sort.column.eq(value)).add(id_beyond)),
        ),
        (None, false) => Condition::all().add(sort.column.is_null()).add(id_beyond),
        (None, true) => Condition::any()
            .add(sort.column.is_not_null())
            .add(Condition::all().add(sort.column.is_null()).add(id_beyond)),
    }
}

/// The order a query reads rows in: reversed when the page is taken from the end.
fn read_order(sort_direction: Direction, from_end: bool) -> Order {
    match (sort_direction, from_end) {
        (Direction::Asc, false) | (Direction::Desc, true) => Order::Asc,
        _ => Order::Desc,
    }
}

/// NULLs last in the list order means NULLs first when the list is read from its end.
fn null_flag_order(from_end: bool) -> Order {
    if from_end { Order::Desc } else { Order::Asc }
}

/// Adds the cursor bounds of `page` to a condition, once each cursor is known to fit `sort`.
fn bounded<C: ColumnTrait>(
    mut condition: Condition,
    sort: Sort<C>,
    id: C,
    page: &PageRequest,
) -> DomainResult<Condition> {
    if let Some(after) = &page.after {
        after.check(sort)?;
        condition = condition.add(beyond(sort, id, after, false));
    }
    if let Some(before) = &page.before {
        before.check(sort)?;
        condition = condition.add(beyond(sort, id, before, true));
    }
    Ok(condition)
}

/// Checks that the cursors of `page` were made under `sort`, before any batch reads it: a batch
/// of pages shares one statement, so a cursor of another list must fail its own field, not the
/// batch.
pub(crate) fn check_cursors<C: ColumnTrait>(sort: Sort<C>, page: &PageRequest) -> DomainResult<()> {
    for cursor in [&page.after, &page.before].into_iter().flatten() {
        cursor.check(sort)?;
    }
    Ok(())
}

/// Turns rows read in query order (one more than the limit when more exist) into a page.
fn into_page<M: ModelTrait>(
    mut rows: Vec<M>,
    sort: Sort<<M::Entity as EntityTrait>::Column>,
    id: <M::Entity as EntityTrait>::Column,
    page: &PageRequest,
) -> Page<M> {
    let limit = usize::try_from(page.limit).unwrap_or(usize::MAX);
    let more = rows.len() > limit;
    rows.truncate(limit);
    if page.from_end {
        rows.reverse();
    }
    let rows = rows.into_iter().map(|row| (Cursor::of(&row, sort, id), row)).collect();
    if page.from_end {
        Page { rows, has_previous_page: more, has_next_page: page.before.is_some() }
    } else {
        Page { rows, has_next_page: more, has_previous_page: page.after.is_some() }
    }
}

/// The rows `fetch` reads for one page of `select`: the cursor bounds, the order (sort column NULLS
/// LAST, then id) and one row more than the page, to tell whether more follow. `None` for an empty
/// page (`first: 0`), once the cursors are known to fit `sort`.
pub(crate) fn page_select<E: EntityTrait>(
    select: Select<E>,
    sort: Sort<E::Column>,
    id: E::Column,
    page: &PageRequest,
) -> DomainResult<Option<Select<E>>> {
    let bounds = bounded(Condition::all(), sort, id, page)?;
    if page.limit == 0 {
        return Ok(None);
    }
    let order = read_order(sort.direction, page.from_end);
    let select = select.filter(bounds);
    // `NULLS LAST` (first, read from the end) rather than an `IS NULL` sort key, so an index on
    // (parent, sort column, id) serves the order.
    let select = if sort.nullable {
        select.order_by_with_nulls(sort.column, order.clone(), nulls(page.from_end))
    } else {
        select.order_by(sort.column, order.clone())
    };
    Ok(Some(select.order_by(id, order).limit(page.limit + 1)))
}

/// NULLs last in the list order: first when the list is read from its end.
fn nulls(from_end: bool) -> NullOrdering {
    if from_end { NullOrdering::First } else { NullOrdering::Last }
}

/// One page of `select` (already filtered) in the order of `sort`, then id.
pub(crate) async fn fetch<E, D>(
    db: &D,
    select: Select<E>,
    sort: Sort<E::Column>,
    id: E::Column,
    page: &PageRequest,
) -> DomainResult<Page<E::Model>>
where
    E: EntityTrait,
    D: ConnectionTrait,
{
    let Some(select) = page_select(select, sort, id, page)? else {
        return Ok(Page::empty());
    };
    let rows = select.all(db).await?;
    Ok(into_page(rows, sort, id, page))
}

/// Counts the rows of `select` (already filtered).
pub(crate) async fn count<E, D>(db: &D, select: Select<E>) -> DomainResult<u64>
where
    E: EntityTrait,
    E::Model: Sync,
    D: ConnectionTrait,
{
    Ok(select.count(db).await?)
}

/// One page per parent: for every id in `parents`, the page of rows whose `parent` column holds it,
/// all in one statement (`ROW_NUMBER() OVER (PARTITION BY parent ...)`).
pub(crate) async fn fetch_per_parent<E, D>(
    db: &D,
    select: Select<E>,
    parent: E::Column,
    parents: &[i64],
    sort: Sort<E::Column>,
    id: E::Column,
    page: &PageRequest,
) -> DomainResult<HashMap<i64, Page<E::Model>>>
where
    E: EntityTrait,
    D: ConnectionTrait,
{
    let bounds = bounded(Condition::all().add(parent.is_in(parents.iter().copied())), sort, id, page)?;
    if page.limit == 0 || parents.is_empty() {
        return Ok(parents.iter().map(|parent| (*parent, Page::empty())).collect());
    }
    let order = read_order(sort.direction, page.from_end);
    let word = |order: &Order| if matches!(order, Order::Asc) { "ASC" } else { "DESC" };
    let null_flag = if sort.nullable {
        format!("(\"{}\" IS NULL) {}, ", sort.column.as_str(), word(&null_flag_order(page.from_end)))
    } else {
        String::new()
    };
    let window = format!(
        "ROW_NUMBER() OVER (PARTITION BY \"{parent}\" ORDER BY {null_flag}\"{sort}\" {dir}, \"{id}\" {dir})",
        parent = parent.as_str(),
        sort = sort.column.as_str(),
        id = id.as_str(),
        dir = word(&order),
    );
    let inner = select.filter(bounds).into_query().expr_as(Expr::cust(window), Alias::new("row_number")).to_owned();
    let outer = Query::select()
        .column(Asterisk)
        .from_subquery(inner, Alias::new("ranked"))
        .and_where(Expr::col(Alias::new("row_number")).lte(page.limit + 1))
        .order_by(Alias::new("row_number"), Order::Asc)
        .to_owned();
    let statement = db.get_database_backend().build(&outer);
    let rows = E::Model::find_by_statement(statement).all(db).await?;

    let mut grouped: HashMap<i64, Vec<E::Model>> = parents.iter().map(|parent| (*parent, Vec::new())).collect();
    for row in rows {
        if let Value::BigInt(Some(key)) = row.get(parent) {
            grouped.entry(key).or_default().push(row);
        }
    }
    Ok(grouped.into_iter().map(|(key, rows)| (key, into_page(rows, sort, id, page))).collect())
}
