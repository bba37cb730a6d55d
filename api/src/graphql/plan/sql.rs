//! SQL text for the read planner: fragments that carry their bound values in order, the few places
//! where PostgreSQL and SQLite spell JSON differently, and the one statement a root field sends.

use sea_orm::sea_query::{PostgresQueryBuilder, QueryBuilder, SelectStatement, SqlWriterValues, SqliteQueryBuilder};
use sea_orm::{DatabaseBackend, Statement, Value};

/// Stands for a bound value until the statement is finished; numbered (`$n`) or not (`?`) by the
/// backend then. A control character never appears in the SQL the planner writes.
const MARK: char = '\u{1}';

/// A piece of SQL and the values its placeholders stand for, in text order.
#[derive(Debug, Default)]
pub(super) struct Sql {
    text: String,
    values: Vec<Value>,
}

impl Sql {
    /// SQL without values.
    pub(super) fn raw(text: impl Into<String>) -> Self {
        Self { text: text.into(), values: Vec::new() }
    }

    /// A SELECT built with sea-query, with its values kept as placeholders.
    pub(super) fn select(backend: DatabaseBackend, select: &SelectStatement) -> Self {
        let mut writer = SqlWriterValues::new(MARK.to_string(), false);
        match backend {
            DatabaseBackend::Postgres => PostgresQueryBuilder.prepare_select_statement(select, &mut writer),
            _ => SqliteQueryBuilder.prepare_select_statement(select, &mut writer),
        }
        let (text, values) = writer.into_parts();
        Self { text, values: values.0 }
    }

    /// Appends raw text.
    pub(super) fn push(&mut self, text: &str) {
        self.text.push_str(text);
    }

    /// Appends another fragment, with its values.
    pub(super) fn append(&mut self, other: Sql) {
        self.text.push_str(&other.text);
        self.values.extend(other.values);
    }

    /// The finished statement, placeholders spelled as the backend wants them.
    pub(super) fn into_statement(self, backend: DatabaseBackend) -> Statement {
        let mut text = String::with_capacity(self.text.len() + self.values.len() * 2);
        let mut number = 0;
        for character in self.text.chars() {
            if character == MARK {
                number += 1;
                match backend {
                    DatabaseBackend::Postgres => {
                        text.push('$');
                        text.push_str(&number.to_string());
                    }
                    _ => text.push('?'),
                }
            } else {
                text.push(character);
            }
        }
        Statement::from_sql_and_values(backend, text, self.values)
    }
}

/// A JSON array of `items` (one row of the planner: the values its fields need, in slot order).
pub(super) fn array(backend: DatabaseBackend, items: Vec<Sql>) -> Sql {
    let mut sql = Sql::raw(match backend {
        DatabaseBackend::Postgres => "json_build_array(",
        _ => "json_array(",
    });
    for (index, item) in items.into_iter().enumerate() {
        if index > 0 {
            sql.push(", ");
        }
        sql.append(item);
    }
    sql.push(")");
    sql
}

/// A scalar subquery that yields JSON, placed inside another JSON value. SQLite hands JSON out
/// of a subquery as text, so it is read back as JSON there.
pub(super) fn nested(backend: DatabaseBackend, subquery: Sql) -> Sql {
    let (open, close) = match backend {
        DatabaseBackend::Postgres => ("(", ")"),
        _ => ("json((", "))"),
    };
    let mut sql = Sql::raw(open);
    sql.append(subquery);
    sql.push(close);
    sql
}

/// The JSON array of `row` over the rows of a page, in `order`; `[]` when there are none.
pub(super) fn aggregate(backend: DatabaseBackend, row: Sql, order: &str) -> Sql {
    let (open, close) = match backend {
        DatabaseBackend::Postgres => ("COALESCE(json_agg(", "), '[]'::json)"),
        _ => ("json_group_array(", ")"),
    };
    let mut sql = Sql::raw(open);
    sql.append(row);
    sql.push(" ORDER BY ");
    sql.push(order);
    sql.push(close);
    sql
}

/// An empty JSON array (the rows of a page of size 0).
pub(super) fn empty_array(backend: DatabaseBackend) -> Sql {
    Sql::raw(match backend {
        DatabaseBackend::Postgres => "'[]'::json",
        _ => "json('[]')",
    })
}

/// The one statement of a root field: its root row as JSON text.
pub(super) fn root_statement(backend: DatabaseBackend, root: Sql) -> Statement {
    let mut sql = Sql::raw("SELECT ");
    sql.append(root);
    if backend == DatabaseBackend::Postgres {
        sql.push("::text");
    }
    sql.push(" AS json");
    sql.into_statement(backend)
}
