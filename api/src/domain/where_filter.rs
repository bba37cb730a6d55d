//! The building blocks of `where` filters: each operator on one column or computed count, relations as
//! uncorrelated `IN` subqueries, the limits every filter is held to, and the NULL rule.
//!
//! The NULL rule: every condition built here is two-valued, TRUE or FALSE and never SQL's UNKNOWN.
//! A comparison (`eq`, `ne`, `in`, `notIn`, `lt`… `contains`, `startsWith`) never matches a NULL
//! field; only `isNull` does. `not` is plain negation, so `not: {title: {eq: "x"}}` matches every
//! row `{title: {eq: "x"}}` does not, rows whose title is NULL included, while `{title: {ne: "x"}}`
//! matches only rows with a title other than "x". Keeping every leaf two-valued is what lets `not`,
//! `none` and `every` mean what they say: SQL's own `NOT` of an UNKNOWN is still UNKNOWN.
//!
//! Every relation is a subquery on the related table under its own name, not correlated with the
//! outer row (`films.id IN (SELECT credits.film_id FROM credits WHERE …)`), so a filter nests any
//! relation in any other (a film's credits' film) without aliases, in the planned statement and
//! the resolvers' queries alike; each subquery applies the related type's visibility.

use chrono::{DateTime, Utc};
use entity::enums::PetitionStatus;
use entity::petition;
use sea_orm::sea_query::{Expr, ExprTrait, Func, LikeExpr, Query, SimpleExpr};
use sea_orm::{ColumnTrait, Condition, DatabaseBackend, EntityTrait, Value};

use super::{DomainError, DomainResult, Viewer};

/// The deepest a filter may nest `and`, `or`, `not` and relations.
pub(crate) const MAX_DEPTH: usize = 6;
/// The most operators and relations one filter may hold.
pub(crate) const MAX_CONDITIONS: usize = 50;
/// The longest `in` or `notIn` list.
pub(crate) const MAX_IN: usize = 100;
/// The longest text an operator compares with.
pub(crate) const MAX_TEXT: usize = 500;

/// Compiles one `where` argument: who reads (for the visibility of related rows), the time that
/// decides which petitions have closed, and what the filter has spent of its limits.
pub(crate) struct Compiler {
    pub(crate) backend: DatabaseBackend,
    pub(crate) viewer: Viewer,
    pub(crate) now: DateTime<Utc>,
    conditions: usize,
}

impl Compiler {
    /// A compiler for `viewer` on `backend`.
    pub(crate) fn new(backend: DatabaseBackend, viewer: Viewer) -> Self {
        Self { backend, viewer, now: super::now(), conditions: 0 }
    }

    /// Counts one operator or relation at `path`; refuses the filter past `MAX_CONDITIONS`.
    pub(crate) fn spend(&mut self, path: &str) -> DomainResult<()> {
        self.conditions += 1;
        if self.conditions > MAX_CONDITIONS {
            return Err(DomainError::invalid(
                path,
                format!("a filter may hold at most {MAX_CONDITIONS} conditions: split the question or use `in`"),
            ));
        }
        Ok(())
    }

    /// Refuses a filter nested deeper than `MAX_DEPTH` at `path`.
    pub(crate) fn enter(&self, path: &str, depth: usize) -> DomainResult<()> {
        if depth > MAX_DEPTH {
            return Err(DomainError::invalid(path, format!("a filter may nest at most {MAX_DEPTH} levels")));
        }
        Ok(())
    }
}

/// Refuses an `in`/`notIn` list longer than `MAX_IN`.
pub(crate) fn check_list<T>(path: &str, values: &[T]) -> DomainResult<()> {
    if values.len() > MAX_IN {
        return Err(DomainError::invalid(path, format!("at most {MAX_IN} values")));
    }
    Ok(())
}

/// Refuses a text operand longer than `MAX_TEXT` characters.
pub(crate) fn check_text(path: &str, text: &str) -> DomainResult<()> {
    if text.chars().count() > MAX_TEXT {
        return Err(DomainError::invalid(path, format!("must be at most {MAX_TEXT} characters")));
    }
    Ok(())
}

/// The comparisons of the operator inputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Eq,
    Ne,
    Lt,
    Lte,
    Gt,
    Gte,
}

/// A condition that always holds.
pub(crate) fn always() -> Condition {
    Condition::all().add(Expr::cust("1 = 1"))
}

/// A condition that never holds.
pub(crate) fn never() -> Condition {
    Condition::all().add(Expr::cust("1 = 0"))
}

/// `condition`, or `always()` when it holds no term (an empty group renders as nothing, which
/// `NOT` would turn into nothing too).
pub(crate) fn or_always(condition: Condition) -> Condition {
    if condition.is_empty() { always() } else { condition }
}

/// What an operator input compares: a column, or a value the row's SQL computes (`Computed`).
pub(crate) trait Operand: Copy {
    /// The operand as an SQL expression.
    fn expr(self) -> Expr;
    /// Whether it may be NULL (a comparison must then test for a value first).
    fn nullable(self) -> bool;
    /// `self op value`.
    fn test(self, op: Op, value: Value) -> Expr;
    /// `self IN values` (`negated`: NOT IN); `values` is never empty.
    fn among(self, values: Vec<Value>, negated: bool) -> Expr;
}

impl<C: ColumnTrait> Operand for C {
    fn expr(self) -> Expr {
        self.into_expr()
    }

    fn nullable(self) -> bool {
        true
    }

    // The column's own operators, which cast a value to the column's enum type on PostgreSQL.
    fn test(self, op: Op, value: Value) -> Expr {
        match op {
            Op::Eq => self.eq(value),
            Op::Ne => self.ne(value),
            Op::Lt => self.lt(value),
            Op::Lte => self.lte(value),
            Op::Gt => self.gt(value),
            Op::Gte => self.gte(value),
        }
    }

    fn among(self, values: Vec<Value>, negated: bool) -> Expr {
        if negated { self.is_not_in(values) } else { self.is_in(values) }
    }
}

/// A value computed per row by an SQL expression over the filtered table under its own name, never
/// NULL: a count kept with slots (`row_counts::petition_signature_count`), compared as every read
/// of it counts, not as its stored column alone.
#[derive(Clone, Copy)]
pub(crate) struct Computed(pub(crate) fn() -> Expr);

impl Operand for Computed {
    fn expr(self) -> Expr {
        (self.0)()
    }

    fn nullable(self) -> bool {
        false
    }

    fn test(self, op: Op, value: Value) -> Expr {
        let expr = self.expr();
        match op {
            Op::Eq => expr.eq(value),
            Op::Ne => expr.ne(value),
            Op::Lt => expr.lt(value),
            Op::Lte => expr.lte(value),
            Op::Gt => expr.gt(value),
            Op::Gte => expr.gte(value),
        }
    }

    fn among(self, values: Vec<Value>, negated: bool) -> Expr {
        let expr = self.expr();
        if negated { expr.is_not_in(values) } else { expr.is_in(values) }
    }
}

/// The rows where `operand` has a value: no term at all when it is never NULL.
fn present<O: Operand>(operand: O) -> Condition {
    let all = Condition::all();
    if operand.nullable() { all.add(operand.expr().is_not_null()) } else { all }
}

/// `operand op value`, FALSE when the operand is NULL.
pub(crate) fn compare<O: Operand>(operand: O, op: Op, value: impl Into<Value>) -> Condition {
    present(operand).add(operand.test(op, value.into()))
}

/// `operand IN values` (`negated`: NOT IN), FALSE when the operand is NULL; an empty `in` matches
/// nothing and an empty `notIn` every non-NULL value.
pub(crate) fn within<O: Operand, V: Into<Value>>(operand: O, values: Vec<V>, negated: bool) -> Condition {
    match (values.is_empty(), negated) {
        (true, false) => never(),
        (true, true) => or_always(present(operand)),
        (false, _) => present(operand).add(operand.among(values.into_iter().map(Into::into).collect(), negated)),
    }
}

/// `operand IS NULL` (`is_null`) or `IS NOT NULL`.
pub(crate) fn null<O: Operand>(operand: O, is_null: bool) -> Condition {
    match (operand.nullable(), is_null) {
        (true, true) => Condition::all().add(operand.expr().is_null()),
        (true, false) => Condition::all().add(operand.expr().is_not_null()),
        (false, true) => never(),
        (false, false) => always(),
    }
}

/// "`operand` contains `needle`" (`prefix`: starts with it), case aside, as the `filter` lists
/// match: `%`, `_`, `\`, `*`, `?` and `[` in the needle match literally. FALSE on NULL.
pub(crate) fn text_match<O: Operand>(backend: DatabaseBackend, operand: O, needle: &str, prefix: bool) -> Condition {
    let test: SimpleExpr = if backend == DatabaseBackend::Sqlite {
        let classes = super::text::case_classes(needle);
        let pattern = if prefix { format!("{classes}*") } else { format!("*{classes}*") };
        Expr::cust_with_exprs("? GLOB ?", [operand.expr(), Expr::val(pattern)])
    } else {
        let mut pattern = String::with_capacity(needle.len() + 2);
        if !prefix {
            pattern.push('%');
        }
        for character in needle.to_lowercase().chars() {
            if matches!(character, '%' | '_' | '\\') {
                pattern.push('\\');
            }
            pattern.push(character);
        }
        pattern.push('%');
        Expr::expr(Func::lower(operand.expr())).like(LikeExpr::new(pattern).escape('\\'))
    };
    present(operand).add(test)
}

/// The rows whose (nullable) `key` names a row of `R` meeting `inner`: a to-one relation.
pub(crate) fn to_one<C: ColumnTrait, R: EntityTrait>(key: C, related_id: R::Column, inner: Condition) -> Condition {
    let ids = Query::select().column((R::default(), related_id)).from(R::default()).cond_where(inner).to_owned();
    Condition::all().add(key.is_not_null()).add(key.in_subquery(ids))
}

/// How a to-many relation is quantified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Quantifier {
    /// At least one related row meets the filter.
    Some,
    /// No related row meets it.
    None,
    /// Every related row meets it (true when there are none).
    Every,
}

/// The rows (by their `id`) with related rows of `C`'s entity, linked by `child_key`, that the
/// reader may see (`visible`) and that meet `inner` as `quantifier` says: a to-many relation.
pub(crate) fn to_many<P: ColumnTrait, C: ColumnTrait>(
    id: P,
    child_key: C,
    visible: Condition,
    inner: Condition,
    quantifier: Quantifier,
) -> Condition {
    let inner = match quantifier {
        Quantifier::Some | Quantifier::None => inner,
        Quantifier::Every => inner.not(),
    };
    let table = child_key.entity_name();
    let keys = Query::select()
        .column((table.clone(), child_key))
        .from(table)
        .cond_where(Condition::all().add(child_key.is_not_null()).add(visible).add(inner))
        .to_owned();
    Condition::all().add(match quantifier {
        Quantifier::Some => id.in_subquery(keys),
        Quantifier::None | Quantifier::Every => id.not_in_subquery(keys),
    })
}

/// The petitions that read as one of `statuses` at `now` (`petitions::effective_status`: an open
/// petition past its closing time reads `CLOSED`), two-valued unlike `petitions::reads_as`, whose
/// `closes_at <= now` is UNKNOWN for an open petition without a closing time.
pub(crate) fn petition_reads_as(statuses: &[PetitionStatus], now: DateTime<Utc>) -> Condition {
    let stored = |status: PetitionStatus| petition::Column::Status.eq(status);
    let closes = petition::Column::ClosesAt;
    let mut any = Condition::any();
    for status in statuses {
        any = any.add(match status {
            PetitionStatus::Open => Condition::all()
                .add(stored(PetitionStatus::Open))
                .add(Condition::any().add(closes.is_null()).add(closes.gt(now))),
            PetitionStatus::Closed => Condition::any()
                .add(stored(PetitionStatus::Closed))
                .add(Condition::all().add(stored(PetitionStatus::Open)).add(closes.is_not_null()).add(closes.lte(now))),
            PetitionStatus::Victory => Condition::all().add(stored(PetitionStatus::Victory)),
        });
    }
    if statuses.is_empty() { never() } else { any }
}

#[cfg(test)]
mod tests {
    use entity::film;
    use sea_orm::{DatabaseBackend, EntityTrait, QueryFilter, QueryTrait};

    use super::*;

    fn sql(condition: Condition) -> String {
        film::Entity::find().filter(condition).build(DatabaseBackend::Postgres).to_string()
    }

    #[test]
    fn a_negated_comparison_stays_two_valued() {
        let text = sql(compare(film::Column::Title, Op::Eq, "x").not());
        assert!(text.contains("NOT"), "{text}");
        assert!(text.contains("IS NOT NULL"), "{text}");
    }

    #[test]
    fn a_slotted_count_is_compared_with_its_slots_and_is_never_null() {
        let count = Computed(crate::domain::row_counts::petition_signature_count);
        let text = sql(compare(count, Op::Gt, 10));
        assert!(text.contains("SUM(\"petition_count_slots\".\"delta\")"), "{text}");
        assert!(!text.contains("IS NOT NULL"), "{text}");
        assert!(sql(null(count, true)).contains("1 = 0"));
        assert!(sql(within(count, Vec::<i64>::new(), true).not()).contains("1 = 1"));
    }

    #[test]
    fn empty_groups_are_explicit() {
        assert!(sql(or_always(Condition::any()).not()).contains("1 = 1"));
        assert!(sql(within(film::Column::Title, Vec::<String>::new(), false)).contains("1 = 0"));
    }
}
