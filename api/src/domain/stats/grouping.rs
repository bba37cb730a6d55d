//! The one builder of counts in groups: `aggregate`, `groupedAggregates` (through the read
//! planner, which wraps the groups in JSON) and every campaign statistic (which reads the groups
//! as rows) select their groups with `Grouping::select`, so a statistic and the grouped aggregate
//! it matches can never count differently.

use sea_orm::DatabaseBackend;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, NullOrdering, Order, Query, SelectStatement};

/// How a group key is computed from a row.
#[derive(Debug, Clone, Copy)]
pub(crate) enum KeyOf {
    /// A column's value as text.
    Column(&'static str),
    /// The global ID of the row a key column points at (`Film:12`, encoded): the key column's
    /// value, and the type it is shown as.
    Related(&'static str, &'static str),
    /// `YYYY` of a date or instant.
    Year(&'static str),
    /// `YYYY-MM` of an instant (UTC).
    Month(&'static str),
    /// The Monday starting the week of an instant (UTC), `YYYY-MM-DD`.
    Week(&'static str),
    /// `YYYY-MM-DD` of an instant (UTC).
    Day(&'static str),
    /// `YYYY-MM-DDTHH` of an instant (UTC): the hour it falls in.
    Hour(&'static str),
    /// A petition's status as it reads now (`OPEN` past `closesAt` reads `CLOSED`).
    PetitionStatus,
}

impl KeyOf {
    /// The key's SQL over the rows of `alias`.
    fn sql(self, backend: DatabaseBackend, alias: &str) -> Expr {
        let column = |name: &str| format!("\"{alias}\".\"{name}\"");
        let postgres = backend == DatabaseBackend::Postgres;
        let text = match self {
            KeyOf::Column(name) | KeyOf::Related(name, _) => column(name),
            KeyOf::Year(name) if postgres => format!("to_char({}, 'YYYY')", column(name)),
            KeyOf::Year(name) => format!("strftime('%Y', {})", column(name)),
            KeyOf::Month(name) if postgres => format!("to_char({} AT TIME ZONE 'UTC', 'YYYY-MM')", column(name)),
            KeyOf::Month(name) => format!("strftime('%Y-%m', {})", column(name)),
            KeyOf::Week(name) if postgres => {
                format!("to_char(date_trunc('week', {} AT TIME ZONE 'UTC'), 'YYYY-MM-DD')", column(name))
            }
            KeyOf::Week(name) => format!("strftime('%Y-%m-%d', {}, 'weekday 0', '-6 days')", column(name)),
            KeyOf::Day(name) if postgres => format!("to_char({} AT TIME ZONE 'UTC', 'YYYY-MM-DD')", column(name)),
            KeyOf::Day(name) => format!("strftime('%Y-%m-%d', {})", column(name)),
            KeyOf::Hour(name) if postgres => {
                format!("to_char({} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24')", column(name))
            }
            KeyOf::Hour(name) => format!("strftime('%Y-%m-%dT%H', {})", column(name)),
            KeyOf::PetitionStatus => {
                // As `petitions::effective_status`: an open petition past its closing reads closed.
                let (status, closes) = (column("status"), column("closes_at"));
                let closed = Expr::cust(format!("{status} = 'OPEN' AND {closes} IS NOT NULL"))
                    .and(Expr::cust(closes).lte(super::super::now()));
                return Expr::case(closed, Expr::cust("'CLOSED'")).finally(Expr::cust(status)).into();
            }
        };
        Expr::cust(text)
    }
}

/// Bounds on a group's row count: all that are given must hold.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct CountBounds {
    pub(crate) eq: Option<i64>,
    pub(crate) gt: Option<i64>,
    pub(crate) gte: Option<i64>,
    pub(crate) lt: Option<i64>,
    pub(crate) lte: Option<i64>,
}

/// The order groups come in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GroupOrder {
    /// By their keys, ascending, nulls last.
    Keys,
    /// The largest first, then by their keys.
    MostFirst,
}

/// Which groups a limit keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Keep {
    /// The first ones in the order.
    First,
    /// The last ones in the order (the most recent buckets of a series), still shown in order.
    Last,
}

/// The names of the columns a grouping selects: `p` (the parent, with `per`), `k0`…, `n` (the
/// row count), `v0`….
pub(crate) const PARENT: &str = "p";
pub(crate) const COUNT: &str = "n";

/// The name of key `index`'s column.
pub(crate) fn key_column(index: usize) -> String {
    format!("k{index}")
}

/// The name of value `index`'s column.
pub(crate) fn value_column(index: usize) -> String {
    format!("v{index}")
}

/// Counts in groups over the rows a source selects.
#[derive(Debug)]
pub(crate) struct Grouping<'a> {
    /// A column of the source: groups, their order and the limit apply within each of its
    /// values, so one statement serves many parents.
    pub(crate) per: Option<&'static str>,
    /// The group keys (none: one group of every row, even of none).
    pub(crate) keys: &'a [KeyOf],
    /// Aggregate SQL over the source's alias, one column each.
    pub(crate) values: &'a [String],
    pub(crate) having: CountBounds,
    pub(crate) order: GroupOrder,
    /// The most groups kept (per parent), and which.
    pub(crate) limit: Option<(u64, Keep)>,
}

/// One term of an order: a column, its direction, and where its nulls go.
type Term = (String, Order, NullOrdering);

impl Grouping<'_> {
    /// The order of the groups within a parent.
    fn terms(&self) -> Vec<Term> {
        let keys = (0..self.keys.len()).map(|index| (key_column(index), Order::Asc, NullOrdering::Last));
        match self.order {
            GroupOrder::Keys => keys.collect(),
            GroupOrder::MostFirst => {
                std::iter::once((COUNT.to_owned(), Order::Desc, NullOrdering::Last)).chain(keys).collect()
            }
        }
    }

    /// The order of the output rows: by parent, then the groups' order.
    fn output_terms(&self) -> Vec<Term> {
        let parent = self.per.map(|_| (PARENT.to_owned(), Order::Asc, NullOrdering::Last));
        parent.into_iter().chain(self.terms()).collect()
    }

    /// `ORDER BY` text of the output rows, their columns qualified by `qualifier`, for a caller
    /// that aggregates them again (a JSON array keeps no row order of its own).
    pub(crate) fn order_sql(&self, qualifier: &str) -> String {
        let terms = self.output_terms();
        if terms.is_empty() {
            return "1".to_owned();
        }
        terms.iter().map(|term| term_sql(term, Some(qualifier))).collect::<Vec<_>>().join(", ")
    }

    /// The groups of the rows `source` selects (named `alias` inside, as `values` name them): one
    /// row per group with the columns `PARENT` (with `per`), `key_column(i)`, `COUNT` and
    /// `value_column(i)`, in order.
    pub(crate) fn select(&self, backend: DatabaseBackend, source: SelectStatement, alias: &str) -> SelectStatement {
        let mut grouped = Query::select();
        let mut positions = 0;
        if let Some(per) = self.per {
            grouped.expr_as(Expr::cust(format!("\"{alias}\".\"{per}\"")), Alias::new(PARENT));
            positions += 1;
        }
        for (index, key) in self.keys.iter().enumerate() {
            grouped.expr_as(key.sql(backend, alias), Alias::new(key_column(index)));
            positions += 1;
        }
        grouped.expr_as(Expr::cust("COUNT(*)"), Alias::new(COUNT));
        for (index, value) in self.values.iter().enumerate() {
            grouped.expr_as(Expr::cust(value.clone()), Alias::new(value_column(index)));
        }
        grouped.from_subquery(source, Alias::new(alias));
        // By position: a key with a bound value (the time now) would not be the same expression
        // twice on PostgreSQL.
        grouped.add_group_by((1..=positions).map(|position| Expr::cust(position.to_string())));
        let having = self.having;
        let count = || Expr::cust("COUNT(*)");
        let bounds = [
            having.eq.map(|bound| count().eq(bound)),
            having.gt.map(|bound| count().gt(bound)),
            having.gte.map(|bound| count().gte(bound)),
            having.lt.map(|bound| count().lt(bound)),
            having.lte.map(|bound| count().lte(bound)),
        ];
        for bound in bounds.into_iter().flatten() {
            grouped.and_having(bound);
        }
        match self.limit {
            None => self.ordered(grouped),
            Some((limit, Keep::First)) if self.per.is_none() => {
                let mut grouped = self.ordered(grouped);
                grouped.limit(limit);
                grouped
            }
            Some((limit, keep)) => self.ranked(grouped, limit, keep),
        }
    }

    fn ordered(&self, mut select: SelectStatement) -> SelectStatement {
        for term in self.output_terms() {
            let (column, order, nulls) = term;
            select.order_by_expr_with_nulls(Expr::col(Alias::new(column)), order, nulls);
        }
        select
    }

    /// The groups kept by a limit within each parent: numbered in the order (from its end for
    /// `Keep::Last`) by a window, and those past the limit left out.
    fn ranked(&self, grouped: SelectStatement, limit: u64, keep: Keep) -> SelectStatement {
        let partition = self.per.map(|_| format!("PARTITION BY \"{PARENT}\" ")).unwrap_or_default();
        let terms = self.terms();
        let terms: Vec<Term> = match keep {
            Keep::First => terms,
            Keep::Last => terms.into_iter().map(reversed).collect(),
        };
        let order = if terms.is_empty() {
            String::new()
        } else {
            format!("ORDER BY {}", terms.iter().map(|term| term_sql(term, None)).collect::<Vec<_>>().join(", "))
        };
        let mut columns: Vec<String> = self.per.map(|_| PARENT.to_owned()).into_iter().collect();
        columns.extend((0..self.keys.len()).map(key_column));
        columns.push(COUNT.to_owned());
        columns.extend((0..self.values.len()).map(value_column));

        let mut numbered = Query::select();
        for column in &columns {
            numbered.column(Alias::new(column.as_str()));
        }
        numbered
            .expr_as(Expr::cust(format!("ROW_NUMBER() OVER ({partition}{order})")), Alias::new("r"))
            .from_subquery(grouped, Alias::new("g"));
        let mut kept = Query::select();
        for column in &columns {
            kept.column(Alias::new(column.as_str()));
        }
        kept.from_subquery(numbered, Alias::new("ranked")).and_where(Expr::cust(format!("\"r\" <= {limit}")));
        self.ordered(kept)
    }
}

/// The same term in the other direction, nulls moving to the other end.
fn reversed((column, order, nulls): Term) -> Term {
    let order = match order {
        Order::Desc => Order::Asc,
        _ => Order::Desc,
    };
    let nulls = match nulls {
        NullOrdering::Last => NullOrdering::First,
        NullOrdering::First => NullOrdering::Last,
    };
    (column, order, nulls)
}

fn term_sql((column, order, nulls): &Term, qualifier: Option<&str>) -> String {
    let column = match qualifier {
        Some(qualifier) => format!("\"{qualifier}\".\"{column}\""),
        None => format!("\"{column}\""),
    };
    let direction = if matches!(order, Order::Desc) { "DESC" } else { "ASC" };
    let nulls = if matches!(nulls, NullOrdering::First) { "FIRST" } else { "LAST" };
    format!("{column} {direction} NULLS {nulls}")
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "a failing test should fail loudly")]
mod tests {
    use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection};

    use super::*;

    /// Parent 1: `a` three times, `b` twice, `c` and a null once; parent 2: `c` and `b` once.
    async fn rows() -> (DatabaseConnection, SelectStatement) {
        let mut options = ConnectOptions::new("sqlite::memory:");
        options.max_connections(1).sqlx_logging(false);
        let db = Database::connect(options).await.unwrap();
        db.execute_unprepared(
            "CREATE TABLE t (parent INTEGER NOT NULL, label TEXT); \
             INSERT INTO t VALUES (1, 'a'), (1, 'b'), (1, 'a'), (1, NULL), (1, 'c'), (1, 'a'), (1, 'b'), \
             (2, 'c'), (2, 'b');",
        )
        .await
        .unwrap();
        let source =
            Query::select().columns([Alias::new("parent"), Alias::new("label")]).from(Alias::new("t")).to_owned();
        (db, source)
    }

    async fn groups(grouping: &Grouping<'_>) -> Vec<(Option<i64>, Option<String>, i64)> {
        let (db, source) = rows().await;
        let select = grouping.select(DatabaseBackend::Sqlite, source, "s");
        let rows = db.query_all(&select).await.unwrap();
        rows.iter()
            .map(|row| {
                let parent = grouping.per.map(|_| row.try_get("", PARENT).unwrap());
                (parent, row.try_get("", &key_column(0)).unwrap(), row.try_get("", COUNT).unwrap())
            })
            .collect()
    }

    fn group(parent: Option<i64>, key: Option<&str>, count: i64) -> (Option<i64>, Option<String>, i64) {
        (parent, key.map(str::to_owned), count)
    }

    #[tokio::test]
    async fn each_parent_keeps_its_own_largest_groups() {
        let grouping = Grouping {
            per: Some("parent"),
            keys: &[KeyOf::Column("label")],
            values: &[],
            having: CountBounds::default(),
            order: GroupOrder::MostFirst,
            limit: Some((2, Keep::First)),
        };
        assert_eq!(
            groups(&grouping).await,
            [
                group(Some(1), Some("a"), 3),
                group(Some(1), Some("b"), 2),
                group(Some(2), Some("b"), 1),
                group(Some(2), Some("c"), 1)
            ]
        );
    }

    #[tokio::test]
    async fn keeping_the_last_groups_still_shows_them_in_order() {
        let grouping = Grouping {
            per: Some("parent"),
            keys: &[KeyOf::Column("label")],
            values: &[],
            having: CountBounds::default(),
            order: GroupOrder::Keys,
            limit: Some((2, Keep::Last)),
        };
        assert_eq!(
            groups(&grouping).await,
            [
                group(Some(1), Some("c"), 1),
                group(Some(1), None, 1),
                group(Some(2), Some("b"), 1),
                group(Some(2), Some("c"), 1)
            ],
            "nulls sort last, so they are among the last groups"
        );
    }

    #[tokio::test]
    async fn bounds_on_the_count_keep_some_groups_of_all_parents() {
        let grouping = Grouping {
            per: None,
            keys: &[KeyOf::Column("label")],
            values: &[],
            having: CountBounds { gte: Some(2), lt: Some(3), ..CountBounds::default() },
            order: GroupOrder::Keys,
            limit: Some((1000, Keep::First)),
        };
        // `a` and `b` (three each) and the null (one) fall outside; `c` (once under each parent) stays.
        assert_eq!(groups(&grouping).await, [group(None, Some("c"), 2)]);
    }
}
