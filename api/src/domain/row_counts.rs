//! Counts per row that lists sort by: each a SQL expression over the listed table, so it reads
//! in the list's one statement. A count of quotes applies the viewer's visibility first, so a
//! quote the viewer cannot see is never counted.

use entity::{credit, film, person, quote};
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{ColumnTrait, Condition, EntityTrait};

use super::Viewer;
use super::quotes::visible_to;

/// A petition's signatures: the stored column plus its slots (`counters`). Every read that sorts
/// or aggregates by the count goes through here, so a change to how the count is kept changes
/// this one place.
pub(crate) fn petition_signature_count() -> Expr {
    Expr::cust(super::counters::SIGNATURES.total_sql("petitions"))
}

/// An event's RSVPs going, with its slots (see `petition_signature_count`).
pub(crate) fn event_going_count() -> Expr {
    Expr::cust(super::counters::GOING.total_sql("events"))
}

/// A person's credits.
pub(crate) fn person_credit_count() -> Expr {
    count_of(credit::Entity, credit::Column::PersonId, person::Column::Id, Condition::all())
}

/// A person's quotes the viewer may see.
pub(crate) fn person_quote_count(viewer: &Viewer) -> Expr {
    count_of(quote::Entity, quote::Column::PersonId, person::Column::Id, visible_to(viewer))
}

/// A film's quotes the viewer may see.
pub(crate) fn film_quote_count(viewer: &Viewer) -> Expr {
    count_of(quote::Entity, quote::Column::FilmId, film::Column::Id, visible_to(viewer))
}

/// `(SELECT COUNT(*) FROM child WHERE child.key = parent.id AND condition)`.
fn count_of<E: EntityTrait, P: ColumnTrait>(child: E, key: E::Column, parent_id: P, condition: Condition) -> Expr {
    let mut count = Query::select();
    count
        .expr(Expr::cust("COUNT(*)"))
        .from(child)
        .cond_where(condition)
        .and_where(key.into_expr().eq(parent_id.into_expr()));
    Expr::SubQuery(None, Box::new(count.into()))
}
