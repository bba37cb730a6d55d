//! Small text rules shared by filters: case-insensitive substring and equality conditions that
//! answer alike on both databases, for every script.
//!
//! PostgreSQL's `lower()` folds every letter (in a UTF-8 database). SQLite's `lower()`, `LIKE` and
//! `NOCASE` fold only ASCII, so there the needle becomes a `GLOB` pattern whose every letter is a
//! class of its case forms (`Ünï` → `*[üÜ][nN][ïÏ]*`): no function to register on each connection,
//! and no more work per row than `lower(column) LIKE …` (a substring match scans either way).

use sea_orm::sea_query::{Expr, ExprTrait, Func, LikeExpr};
use sea_orm::{ColumnTrait, DatabaseBackend};

/// "`column` contains `needle`, case aside", with `%`, `_`, `\`, `*`, `?` and `[` in the needle
/// matched literally.
pub(crate) fn contains_ignoring_case<C: ColumnTrait>(backend: DatabaseBackend, column: C, needle: &str) -> Expr {
    if backend == DatabaseBackend::Sqlite {
        return glob(column, &format!("*{}*", case_classes(needle)));
    }
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

/// "`column` equals `value`, case aside".
pub(crate) fn equals_ignoring_case<C: ColumnTrait>(backend: DatabaseBackend, column: C, value: &str) -> Expr {
    if backend == DatabaseBackend::Sqlite {
        return glob(column, &case_classes(value));
    }
    ExprTrait::eq(Expr::expr(Func::lower(column.into_expr())), value.to_lowercase())
}

fn glob<C: ColumnTrait>(column: C, pattern: &str) -> Expr {
    Expr::cust_with_exprs("? GLOB ?", [column.into_expr(), Expr::val(pattern.to_owned())])
}

/// `text` as a GLOB pattern matching it whatever the case: each letter with case forms becomes a
/// class of them, and GLOB's own metacharacters a class of one.
pub(crate) fn case_classes(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() * 4);
    for character in text.chars() {
        let forms = case_forms(character);
        if forms.len() > 1 || matches!(character, '*' | '?' | '[') {
            pattern.push('[');
            pattern.extend(forms);
            pattern.push(']');
        } else {
            pattern.push(character);
        }
    }
    pattern
}

/// The titlecase letters (Unicode category Lt: `ǅ`, `ǈ`, `ǋ`, `ǲ` and Greek capitals with
/// prosgegrammeni), which neither `to_lowercase` nor `to_uppercase` of another letter yields, yet
/// `lower()` on PostgreSQL folds to a lower-case letter like any capital.
const TITLECASE: [char; 31] = [
    '\u{01C5}', '\u{01C8}', '\u{01CB}', '\u{01F2}', '\u{1F88}', '\u{1F89}', '\u{1F8A}', '\u{1F8B}', '\u{1F8C}',
    '\u{1F8D}', '\u{1F8E}', '\u{1F8F}', '\u{1F98}', '\u{1F99}', '\u{1F9A}', '\u{1F9B}', '\u{1F9C}', '\u{1F9D}',
    '\u{1F9E}', '\u{1F9F}', '\u{1FA8}', '\u{1FA9}', '\u{1FAA}', '\u{1FAB}', '\u{1FAC}', '\u{1FAD}', '\u{1FAE}',
    '\u{1FAF}', '\u{1FBC}', '\u{1FCC}', '\u{1FFC}',
];

/// `character` and the single characters its lower and upper case (and theirs) map to, with the
/// titlecase letters whose lower case is among them. A letter whose case form is several
/// characters (`ß` → `SS`) keeps only its single-character forms, as `lower()` does on
/// PostgreSQL.
fn case_forms(character: char) -> Vec<char> {
    fn single(mut mapped: impl Iterator<Item = char>) -> Option<char> {
        let first = mapped.next()?;
        mapped.next().is_none().then_some(first)
    }
    let mut forms = vec![character];
    let mut index = 0;
    while index < forms.len() {
        let form = forms[index];
        let titlecase = TITLECASE.iter().copied().filter(|title| single(title.to_lowercase()) == Some(form));
        for other in [single(form.to_lowercase()), single(form.to_uppercase())].into_iter().flatten().chain(titlecase) {
            if !forms.contains(&other) {
                forms.push(other);
            }
        }
        index += 1;
    }
    forms
}

#[cfg(test)]
mod tests {
    use super::case_classes;

    #[test]
    fn every_letter_becomes_a_class_of_its_case_forms() {
        assert_eq!(case_classes("Ünï"), "[Üü][nN][ïÏ]");
        assert_eq!(case_classes("a*b?[c]"), "[aA][*][bB][?][[][cC]]");
        assert_eq!(case_classes("100% x_y"), "100% [xX]_[yY]");
        assert_eq!(case_classes("ß"), "ß", "its upper case is two letters");
        assert_eq!(case_classes("ǆ"), "[ǆǄǅ]", "the titlecase form too");
        assert_eq!(case_classes("ǅ"), "[ǅǆǄ]");
        assert_eq!(case_classes("ᾀ"), "[ᾀᾈ]", "upper case is two letters, title case one");
    }
}
