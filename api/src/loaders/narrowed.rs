//! Nested connections narrowed by a `where` argument, batched like the others: the scope carries
//! the compiled condition, and parents asking the same question (the same scope and `where` as
//! written) share one batch, so N parents cost one statement per page and one per count, not N.

use std::hash::{Hash, Hasher};
use std::sync::Arc;

use sea_orm::{Condition, DatabaseConnection, EntityTrait};

use super::{
    Cached, Counts, CreditScope, EventScope, FilmScope, Loaders, Pages, PetitionScope, PetitionUpdateScope, QuoteScope,
    Scope, ScopeLoaders, SignatureScope, counts, pages,
};
use crate::domain::paging::Sort;

/// `scope` narrowed by a `where` argument. The key is the scope and the argument as written, not
/// the compiled condition: a condition holds the instant it was compiled at (a petition's status
/// reads against it), which differs from parent to parent, while the question does not. A batch
/// runs the condition of one of its keys.
#[derive(Debug, Clone)]
pub(crate) struct Narrowed<S> {
    scope: S,
    given: Arc<str>,
    condition: Arc<Condition>,
}

impl<S> Narrowed<S> {
    /// `scope` narrowed by `condition`, compiled from the `where` argument written as `given`.
    pub(crate) fn new(scope: S, given: String, condition: Condition) -> Self {
        Self { scope, given: given.into(), condition: Arc::new(condition) }
    }
}

impl<S: PartialEq> PartialEq for Narrowed<S> {
    fn eq(&self, other: &Self) -> bool {
        self.scope == other.scope && self.given == other.given
    }
}

impl<S: Eq> Eq for Narrowed<S> {}

impl<S: Hash> Hash for Narrowed<S> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.scope.hash(state);
        self.given.hash(state);
    }
}

impl<S: Scope> Scope for Narrowed<S> {
    type Entity = S::Entity;
    fn parent(&self) -> <S::Entity as EntityTrait>::Column {
        self.scope.parent()
    }
    fn condition(&self) -> Condition {
        Condition::all().add(self.scope.condition()).add(self.condition.as_ref().clone())
    }
    fn sort(&self) -> Sort<<S::Entity as EntityTrait>::Column> {
        self.scope.sort()
    }
}

/// The page and count loaders of every scope a nested connection's `where` narrows.
pub(crate) struct NarrowedLoaders {
    film_pages: Cached<Pages<Narrowed<FilmScope>>>,
    film_counts: Cached<Counts<Narrowed<FilmScope>>>,
    credit_pages: Cached<Pages<Narrowed<CreditScope>>>,
    credit_counts: Cached<Counts<Narrowed<CreditScope>>>,
    quote_pages: Cached<Pages<Narrowed<QuoteScope>>>,
    quote_counts: Cached<Counts<Narrowed<QuoteScope>>>,
    event_pages: Cached<Pages<Narrowed<EventScope>>>,
    event_counts: Cached<Counts<Narrowed<EventScope>>>,
    petition_pages: Cached<Pages<Narrowed<PetitionScope>>>,
    petition_counts: Cached<Counts<Narrowed<PetitionScope>>>,
    signature_pages: Cached<Pages<Narrowed<SignatureScope>>>,
    signature_counts: Cached<Counts<Narrowed<SignatureScope>>>,
    petition_update_pages: Cached<Pages<Narrowed<PetitionUpdateScope>>>,
    petition_update_counts: Cached<Counts<Narrowed<PetitionUpdateScope>>>,
}

impl NarrowedLoaders {
    /// Fresh loaders for one request.
    pub(crate) fn new(db: &DatabaseConnection) -> Self {
        Self {
            film_pages: pages(db),
            film_counts: counts(db),
            credit_pages: pages(db),
            credit_counts: counts(db),
            quote_pages: pages(db),
            quote_counts: counts(db),
            event_pages: pages(db),
            event_counts: counts(db),
            petition_pages: pages(db),
            petition_counts: counts(db),
            signature_pages: pages(db),
            signature_counts: counts(db),
            petition_update_pages: pages(db),
            petition_update_counts: counts(db),
        }
    }
}

macro_rules! narrowed_loaders {
    ($($scope:ident => $pages:ident, $counts:ident;)*) => {
        $(impl ScopeLoaders for Narrowed<$scope> {
            fn pages(loaders: &Loaders) -> &Cached<Pages<Self>> {
                &loaders.narrowed.$pages
            }
            fn counts(loaders: &Loaders) -> &Cached<Counts<Self>> {
                &loaders.narrowed.$counts
            }
        })*
    };
}
narrowed_loaders! {
    FilmScope => film_pages, film_counts;
    CreditScope => credit_pages, credit_counts;
    QuoteScope => quote_pages, quote_counts;
    EventScope => event_pages, event_counts;
    PetitionScope => petition_pages, petition_counts;
    SignatureScope => signature_pages, signature_counts;
    PetitionUpdateScope => petition_update_pages, petition_update_counts;
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use sea_orm::sea_query::Expr;

    use super::*;

    #[test]
    fn parents_asking_the_same_question_share_a_key_whatever_instant_it_was_compiled_at() {
        let compiled = |sql: &str| Condition::all().add(Expr::cust(sql.to_owned()));
        let written = "{status: {ne: VICTORY}}";
        let first = Narrowed::new(PetitionScope, written.to_owned(), compiled("closes_at > '2026-01-01 00:00:00'"));
        let later = Narrowed::new(PetitionScope, written.to_owned(), compiled("closes_at > '2026-01-01 00:00:01'"));
        let other = Narrowed::new(PetitionScope, "{status: {eq: OPEN}}".to_owned(), compiled("1 = 1"));
        assert_eq!(first, later);
        assert_ne!(first, other);
        assert_eq!(HashSet::from([first, later, other]).len(), 2);
    }
}
