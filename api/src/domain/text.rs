//! Small text rules shared by filters: case-insensitive substring patterns.

use sea_orm::ColumnTrait;
use sea_orm::sea_query::{Expr, ExprTrait, Func, LikeExpr};

/// `lower(column) LIKE '%needle%'` with `%`, `_` and `\` in the needle matched literally; the same
/// on SQLite and PostgreSQL.
pub fn contains_ignoring_case<C: ColumnTrait>(column: C, needle: &str) -> Expr {
    let mut pattern = String::with_capacity(needle.len() + 2);
    pattern.push('%');
    for character in needle.to_lowercase().chars() {
        if matches!(character, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(character);
    }
    pattern.push('%');
    Expr::expr(Func::lower(column.into_expr())).like(LikeExpr::new(pattern).escape('\\'))
}

/// `lower(column) = lower(value)`.
pub fn equals_ignoring_case<C: ColumnTrait>(column: C, value: &str) -> Expr {
    ExprTrait::eq(Expr::expr(Func::lower(column.into_expr())), value.to_lowercase())
}
