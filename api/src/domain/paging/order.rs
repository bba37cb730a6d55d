//! Orders of several keys for top-level lists (`sort: [XOrder!]`): each key a column or a value
//! computed per row (a count), then the id. Keyset paging as for one column: a cursor carries the
//! values of every key and the id, and a page is the rows strictly after (or before) it in that
//! total order. An order of one column makes exactly the cursors `Sort` makes.

use sea_orm::sea_query::{Expr, ExprTrait, Order};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, FromQueryResult, QueryFilter, QueryOrder, QueryResult,
    QuerySelect, QueryTrait, Select, Value,
};

use super::{
    Cursor, CursorShape, Direction, Page, PageRequest, Sort, SortKind, SortValue, nulls, read_order, sort_key,
    sort_kind,
};
use crate::domain::error::{DomainError, DomainResult};

/// One key of a list order: a value of each row, its direction and whether it can be NULL.
#[derive(Debug, Clone)]
pub(crate) struct SortKey {
    /// Names the key in cursors (`table.column`, or a name of its own for a computed value).
    name: String,
    expr: Expr,
    kind: SortKind,
    direction: Direction,
    nullable: bool,
}

impl SortKey {
    /// A column of the listed table.
    pub(crate) fn column<C: ColumnTrait>(column: C, direction: Direction, nullable: bool) -> Self {
        // A column of no known kind never sorts a list; its cursors would carry text.
        let kind = sort_kind(column.def().get_column_type()).unwrap_or(SortKind::Text);
        Self { name: sort_key(column), expr: column.into_expr(), kind, direction, nullable }
    }

    /// A count computed per row by `expr` (never NULL), named `name` in cursors.
    pub(crate) fn count(name: &str, expr: Expr, direction: Direction) -> Self {
        Self { name: name.to_owned(), expr, kind: SortKind::Int, direction, nullable: false }
    }

    /// Whether two keys sort by the same value (whatever the direction).
    pub(crate) fn same_value(&self, other: &SortKey) -> bool {
        self.name == other.name
    }

    /// "Comes strictly later than `value` in list order" (or strictly earlier, with `before`),
    /// NULLs last.
    fn beyond(&self, value: &SortValue, before: bool) -> Condition {
        let expr = self.expr.clone();
        // The direction rows are read in: the list's, or the reverse with `before`.
        let ascending = (self.direction == Direction::Asc) != before;
        let past = |value: Value| if ascending { expr.clone().gt(value) } else { expr.clone().lt(value) };
        match (value.clone().into_value(), before) {
            (Some(value), false) => {
                let condition = Condition::any().add(past(value));
                if self.nullable { condition.add(expr.is_null()) } else { condition }
            }
            (Some(value), true) => Condition::all().add(expr.clone().is_not_null()).add(past(value)),
            // Nothing follows a NULL but other NULLs, which the id orders.
            (None, false) => Condition::all().add(Expr::cust("1 = 0")),
            (None, true) => Condition::all().add(expr.is_not_null()),
        }
    }

    /// "Holds the same value as the cursor".
    fn equal(&self, value: &SortValue) -> Expr {
        match value.clone().into_value() {
            Some(value) => self.expr.clone().eq(value),
            None => self.expr.clone().is_null(),
        }
    }

    fn word(&self, from_end: bool) -> &'static str {
        if matches!(read_order(self.direction, from_end), Order::Asc) { "ASC" } else { "DESC" }
    }
}

/// The order of a top-level list: its keys, first wins, then the id in the first key's direction.
#[derive(Debug, Clone)]
pub(crate) struct ListOrder {
    keys: Vec<SortKey>,
}

/// The column a page's select gives the value of key `index`.
fn sort_column(index: usize) -> String {
    format!("sort_{index}")
}

impl ListOrder {
    /// The order of `keys`, or of `default` alone when there are none.
    pub(crate) fn of(default: SortKey, keys: Vec<SortKey>) -> Self {
        if keys.is_empty() { Self { keys: vec![default] } } else { Self { keys } }
    }

    fn first(&self) -> &SortKey {
        &self.keys[0]
    }

    /// The direction the id breaks ties in.
    fn id_direction(&self) -> Direction {
        self.first().direction
    }

    /// What names the order in a cursor: the first key's name alone (as `Sort` names it), then
    /// each further key with its direction.
    fn signature(&self) -> String {
        let mut signature = self.first().name.clone();
        for key in &self.keys[1..] {
            let direction = if key.direction == Direction::Asc { "a" } else { "d" };
            signature.push_str(&format!(",{}:{direction}", key.name));
        }
        signature
    }

    /// Checks that a cursor was made under this order.
    fn check(&self, cursor: &Cursor) -> DomainResult<()> {
        if cursor.sort != self.signature()
            || cursor.descending != (self.first().direction == Direction::Desc)
            || cursor.more.len() + 1 != self.keys.len()
        {
            return Err(DomainError::invalid(cursor.field, "this cursor belongs to a list in another order"));
        }
        let fits = self.keys.iter().zip(cursor.values()).all(|(key, value)| value.fits(Some(key.kind), key.nullable));
        if !fits {
            return Err(DomainError::invalid(cursor.field, "not a valid cursor"));
        }
        Ok(())
    }

    /// "The row comes strictly after `cursor`" (or before, with `before`): lexicographic over the
    /// keys, then the id.
    fn beyond(&self, id: Expr, cursor: &Cursor, before: bool) -> Condition {
        let mut any = Condition::any();
        let mut equal = Condition::all();
        for (key, value) in self.keys.iter().zip(cursor.values()) {
            any = any.add(equal.clone().add(key.beyond(value, before)));
            equal = equal.add(key.equal(value));
        }
        let ascending = (self.id_direction() == Direction::Asc) != before;
        let id_value = Value::BigInt(Some(cursor.id));
        any.add(equal.add(if ascending { id.gt(id_value) } else { id.lt(id_value) }))
    }

    /// The rows of one page of `select`: the cursor bounds, each key's value as `sort_0`,
    /// `sort_1`…, the order, and one row more than the page. `None` for an empty page, once the
    /// cursors are known to fit.
    pub(crate) fn page_select<E: EntityTrait>(
        &self,
        select: Select<E>,
        id: E::Column,
        page: &PageRequest,
    ) -> DomainResult<Option<Select<E>>> {
        let mut bounds = Condition::all();
        for (cursor, before) in [(&page.after, false), (&page.before, true)] {
            if let Some(cursor) = cursor {
                self.check(cursor)?;
                bounds = bounds.add(self.beyond(id.into_expr(), cursor, before));
            }
        }
        if page.limit == 0 {
            return Ok(None);
        }
        let mut select = select.filter(bounds);
        for (index, key) in self.keys.iter().enumerate() {
            select = select.expr_as(key.expr.clone(), sort_column(index));
        }
        for key in &self.keys {
            let order = read_order(key.direction, page.from_end);
            select = if key.nullable {
                select.order_by_with_nulls(key.expr.clone(), order, nulls(page.from_end))
            } else {
                select.order_by(key.expr.clone(), order)
            };
        }
        Ok(Some(select.order_by(id, read_order(self.id_direction(), page.from_end)).limit(page.limit + 1)))
    }

    /// The columns of `alias` (a page's select) that hold the keys' values, in key order.
    pub(crate) fn value_columns(&self, alias: &str) -> Vec<String> {
        (0..self.keys.len()).map(|index| format!("\"{alias}\".\"{}\"", sort_column(index))).collect()
    }

    /// The order of a page's rows over the columns of `alias`, for an aggregate's `ORDER BY`: the
    /// order `page_select` reads in.
    pub(crate) fn read_order_sql(&self, page: &PageRequest, alias: &str) -> String {
        let mut parts: Vec<String> = self
            .keys
            .iter()
            .zip(self.value_columns(alias))
            .map(|(key, column)| {
                let nulls = match (key.nullable, page.from_end) {
                    (false, _) => "",
                    (true, true) => " NULLS FIRST",
                    (true, false) => " NULLS LAST",
                };
                format!("{column} {}{nulls}", key.word(page.from_end))
            })
            .collect();
        let id_word = if matches!(read_order(self.id_direction(), page.from_end), Order::Asc) { "ASC" } else { "DESC" };
        parts.push(format!("\"{alias}\".\"id\" {id_word}"));
        parts.join(", ")
    }

    /// How the planner makes this order's cursors from the JSON of a row: the value of the one
    /// key, or the array of all keys' values.
    pub(crate) fn cursor_shape(&self) -> CursorShape {
        CursorShape {
            sort: self.signature(),
            descending: self.first().direction == Direction::Desc,
            kind: self.first().kind,
            more: self.keys[1..].iter().map(|key| key.kind).collect(),
        }
    }

    /// Whether the planner reads one value per row (else an array of them).
    pub(crate) fn is_single(&self) -> bool {
        self.keys.len() == 1
    }

    /// The cursor of a row read by `page_select`.
    fn cursor_of(&self, row: &QueryResult, id: i64) -> Result<Cursor, sea_orm::DbErr> {
        let mut values = Vec::with_capacity(self.keys.len());
        for (index, key) in self.keys.iter().enumerate() {
            values.push(read_value(row, &sort_column(index), key.kind)?);
        }
        let value = values.remove(0);
        Ok(Cursor {
            sort: self.signature(),
            descending: self.first().direction == Direction::Desc,
            value,
            id,
            more: values,
            field: "",
        })
    }
}

impl<C: ColumnTrait> From<Sort<C>> for ListOrder {
    fn from(sort: Sort<C>) -> Self {
        Self { keys: vec![SortKey::column(sort.column, sort.direction, sort.nullable)] }
    }
}

impl Cursor {
    /// The values of every key, in key order.
    fn values(&self) -> impl Iterator<Item = &SortValue> {
        std::iter::once(&self.value).chain(self.more.iter())
    }
}

/// The value of a key of `kind` in column `column` of a row.
fn read_value(row: &QueryResult, column: &str, kind: SortKind) -> Result<SortValue, sea_orm::DbErr> {
    Ok(match kind {
        SortKind::Int => match row.try_get::<Option<i64>>("", column) {
            Ok(value) => value.map_or(SortValue::Null, SortValue::Int),
            // A 32-bit column reads as such on PostgreSQL.
            Err(_) => row.try_get::<Option<i32>>("", column)?.map_or(SortValue::Null, |v| SortValue::Int(i64::from(v))),
        },
        SortKind::Text => row.try_get::<Option<String>>("", column)?.map_or(SortValue::Null, SortValue::Text),
        SortKind::Date => {
            row.try_get::<Option<chrono::NaiveDate>>("", column)?.map_or(SortValue::Null, SortValue::Date)
        }
        SortKind::Time => {
            row.try_get::<Option<chrono::DateTime<chrono::Utc>>>("", column)?.map_or(SortValue::Null, SortValue::Time)
        }
    })
}

/// One page of `select` (already filtered) in `order`, then id: the rows and their cursors, in one
/// statement.
pub(crate) async fn fetch_ordered<E, D>(
    db: &D,
    select: Select<E>,
    order: &ListOrder,
    id: E::Column,
    page: &PageRequest,
) -> DomainResult<Page<E::Model>>
where
    E: EntityTrait,
    D: ConnectionTrait,
{
    let Some(select) = order.page_select(select, id, page)? else {
        return Ok(Page { rows: Vec::new(), has_next_page: false, has_previous_page: false });
    };
    let statement = db.get_database_backend().build(&select.into_query());
    let results = db.query_all_raw(statement).await?;
    let limit = usize::try_from(page.limit).unwrap_or(usize::MAX);
    let more = results.len() > limit;
    let mut rows = Vec::with_capacity(results.len().min(limit));
    for result in results.iter().take(limit) {
        let model = E::Model::from_query_result(result, "")?;
        let key = result.try_get::<i64>("", "id")?;
        rows.push((order.cursor_of(result, key)?, model));
    }
    if page.from_end {
        rows.reverse();
        Ok(Page { rows, has_previous_page: more, has_next_page: page.before.is_some() })
    } else {
        Ok(Page { rows, has_next_page: more, has_previous_page: page.after.is_some() })
    }
}
