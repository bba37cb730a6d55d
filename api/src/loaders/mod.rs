//! DataLoader batch functions, built per request with the viewer so their cache dies with the
//! request. Visibility, filter and order live in the loader key (the `Scope`), so batches for
//! different viewers or arguments never share rows.
//!
//! Three shapes cover every relation: rows by id, one page of children per parent, and the number
//! of children per parent. Each costs one statement per batch, whatever the number of parents.
//!
//! Rows and pages are handed out behind an `Arc`: a DataLoader clones a value into its cache and
//! out to every caller, and a clone should cost a reference count, not a row.

mod narrowed;
mod scopes;

use std::collections::HashMap;
use std::hash::Hash;
use std::marker::PhantomData;
use std::ops::Deref;
use std::sync::{Arc, OnceLock};

use async_graphql::dataloader::{DataLoader, HashMapCache, Loader};
use entity::{event, film, person, petition, petition_update, quote, rsvp, signature, user};
use sea_orm::sea_query::{Expr, Func};
use sea_orm::{ColumnTrait, Condition, DatabaseConnection, EntityTrait, ModelTrait, QueryFilter, QuerySelect, Value};

pub(crate) use narrowed::{Narrowed, NarrowedLoaders};
pub(crate) use scopes::{
    CreditParent, CreditScope, EventScope, FilmScope, OwnQuoteScope, OwnRsvpScope, OwnSignatureScope, PetitionScope,
    PetitionUpdateScope, QuoteParent, QuoteScope, RsvpScope, Scope, SignatureScope,
};

use crate::domain::Viewer;
use crate::domain::paging::{self, Page, PageRequest};
use crate::domain::stats::{self, Bucket};
use crate::domain::{DomainError, counters, quotes};

/// Loads rows by primary key, within an optional visibility condition.
pub(crate) struct ById<E> {
    db: DatabaseConnection,
    visible: Condition,
    entity: PhantomData<fn() -> E>,
}

impl<E> Loader<i64> for ById<E>
where
    E: Keyed,
    E::Model: Send + Sync,
{
    type Value = Arc<E::Model>;
    type Error = DomainError;

    async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, Arc<E::Model>>, DomainError> {
        let rows =
            E::find().filter(E::ID.is_in(keys.iter().copied())).filter(self.visible.clone()).all(&self.db).await?;
        Ok(rows.into_iter().filter_map(|row| Some((id_of::<E>(&row)?, Arc::new(row)))).collect())
    }
}

/// An entity whose primary key is the integer column `id`, as every fandb table has.
pub(crate) trait Keyed: EntityTrait {
    /// The `id` column.
    const ID: Self::Column;
}

macro_rules! keyed {
    ($($module:ident),*) => {
        $(impl Keyed for entity::$module::Entity {
            const ID: Self::Column = entity::$module::Column::Id;
        })*
    };
}
keyed!(film, person, credit, quote, event, rsvp, petition, signature, user, audit_event, petition_update);

/// The integer id of a row.
fn id_of<E: Keyed>(row: &E::Model) -> Option<i64> {
    match row.get(E::ID) {
        Value::BigInt(Some(id)) => Some(id),
        _ => None,
    }
}

/// One page of a parent's children.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct PageKey<S> {
    pub(crate) scope: S,
    pub(crate) page: PageRequest,
    pub(crate) parent: i64,
}

/// Loads one page of children for many parents at once (grouped by scope and page arguments).
pub(crate) struct Pages<S> {
    db: DatabaseConnection,
    scope: PhantomData<fn() -> S>,
}

/// A page of rows, shared.
pub(crate) type SharedPage<M> = Arc<Page<Arc<M>>>;

impl<S: Scope> Loader<PageKey<S>> for Pages<S>
where
    <S::Entity as EntityTrait>::Model: Send + Sync,
{
    type Value = SharedPage<<S::Entity as EntityTrait>::Model>;
    type Error = DomainError;

    async fn load(&self, keys: &[PageKey<S>]) -> Result<HashMap<PageKey<S>, Self::Value>, DomainError> {
        let mut groups: HashMap<(S, PageRequest), Vec<i64>> = HashMap::new();
        for key in keys {
            groups.entry((key.scope.clone(), key.page.clone())).or_default().push(key.parent);
        }
        let mut loaded = HashMap::with_capacity(keys.len());
        for ((scope, page), parents) in groups {
            let select = S::Entity::find().filter(scope.condition());
            let pages = paging::fetch_per_parent(
                &self.db,
                select,
                scope.parent(),
                &parents,
                scope.sort(),
                S::Entity::ID,
                &page,
            )
            .await?;
            for (parent, rows) in pages {
                loaded.insert(PageKey { scope: scope.clone(), page: page.clone(), parent }, Arc::new(rows.shared()));
            }
        }
        Ok(loaded)
    }
}

/// The number of a parent's children.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct CountKey<S> {
    pub(crate) scope: S,
    pub(crate) parent: i64,
}

/// Counts children for many parents at once with one GROUP BY per scope.
pub(crate) struct Counts<S> {
    db: DatabaseConnection,
    scope: PhantomData<fn() -> S>,
}

impl<S: Scope> Loader<CountKey<S>> for Counts<S> {
    type Value = u64;
    type Error = DomainError;

    async fn load(&self, keys: &[CountKey<S>]) -> Result<HashMap<CountKey<S>, u64>, DomainError> {
        let mut groups: HashMap<S, Vec<i64>> = HashMap::new();
        for key in keys {
            groups.entry(key.scope.clone()).or_default().push(key.parent);
        }
        let mut loaded: HashMap<CountKey<S>, u64> = keys.iter().map(|key| (key.clone(), 0)).collect();
        for (scope, parents) in groups {
            let parent = scope.parent();
            let rows: Vec<(i64, i64)> = S::Entity::find()
                .select_only()
                .column(parent)
                .column_as(Expr::from(Func::count(S::Entity::ID.into_expr())), "children")
                .filter(scope.condition())
                .filter(parent.is_in(parents.iter().copied()))
                .group_by(parent)
                .into_tuple()
                .all(&self.db)
                .await?;
            for (parent, count) in rows {
                loaded.insert(CountKey { scope: scope.clone(), parent }, u64::try_from(count).unwrap_or(0));
            }
        }
        Ok(loaded)
    }
}

/// A loader with a per-request cache.
pub(crate) type Cached<T> = DataLoader<T, HashMapCache>;

fn cached<T: Send + Sync + 'static>(loader: T) -> Cached<T> {
    DataLoader::with_cache(loader, tokio::spawn, HashMapCache::default())
}

fn by_id<E: 'static>(db: &DatabaseConnection, visible: Condition) -> Cached<ById<E>> {
    cached(ById { db: db.clone(), visible, entity: PhantomData })
}

fn pages<S: 'static>(db: &DatabaseConnection) -> Cached<Pages<S>> {
    cached(Pages { db: db.clone(), scope: PhantomData })
}

fn counts<S: 'static>(db: &DatabaseConnection) -> Cached<Counts<S>> {
    cached(Counts { db: db.clone(), scope: PhantomData })
}

/// Every loader of one request, with the viewer they filter for. The loaders are built on first
/// use: a subscription socket that only follows a counter keeps the viewer and never builds them.
pub(crate) struct Loaders {
    db: DatabaseConnection,
    built: OnceLock<Box<LoaderSet>>,
    /// The viewer these loaders filter for.
    pub(crate) viewer: Viewer,
}

impl Loaders {
    /// Loaders for one request of `viewer`, built when first used.
    pub(crate) fn new(db: &DatabaseConnection, viewer: Viewer) -> Self {
        Self { db: db.clone(), built: OnceLock::new(), viewer }
    }
}

impl Deref for Loaders {
    type Target = LoaderSet;

    fn deref(&self) -> &LoaderSet {
        self.built.get_or_init(|| Box::new(LoaderSet::new(&self.db, self.viewer)))
    }
}

/// The loaders themselves (see `Loaders`).
pub(crate) struct LoaderSet {
    pub(crate) films: Cached<ById<film::Entity>>,
    pub(crate) people: Cached<ById<person::Entity>>,
    pub(crate) quotes: Cached<ById<quote::Entity>>,
    pub(crate) events: Cached<ById<event::Entity>>,
    pub(crate) petitions: Cached<ById<petition::Entity>>,
    pub(crate) signatures: Cached<ById<signature::Entity>>,
    pub(crate) petition_updates: Cached<ById<petition_update::Entity>>,
    pub(crate) credits: Cached<ById<entity::credit::Entity>>,
    pub(crate) users: Cached<ById<user::Entity>>,
    pub(crate) film_pages: Cached<Pages<FilmScope>>,
    pub(crate) credit_pages: Cached<Pages<CreditScope>>,
    pub(crate) quote_pages: Cached<Pages<QuoteScope>>,
    pub(crate) event_pages: Cached<Pages<EventScope>>,
    pub(crate) petition_pages: Cached<Pages<PetitionScope>>,
    pub(crate) signature_pages: Cached<Pages<SignatureScope>>,
    pub(crate) film_counts: Cached<Counts<FilmScope>>,
    pub(crate) credit_counts: Cached<Counts<CreditScope>>,
    pub(crate) quote_counts: Cached<Counts<QuoteScope>>,
    pub(crate) event_counts: Cached<Counts<EventScope>>,
    pub(crate) petition_counts: Cached<Counts<PetitionScope>>,
    pub(crate) signature_counts: Cached<Counts<SignatureScope>>,
    pub(crate) petition_update_pages: Cached<Pages<PetitionUpdateScope>>,
    pub(crate) petition_update_counts: Cached<Counts<PetitionUpdateScope>>,
    pub(crate) rsvp_pages: Cached<Pages<RsvpScope>>,
    pub(crate) rsvp_counts: Cached<Counts<RsvpScope>>,
    pub(crate) own_signature_pages: Cached<Pages<OwnSignatureScope>>,
    pub(crate) own_signature_counts: Cached<Counts<OwnSignatureScope>>,
    pub(crate) own_rsvp_pages: Cached<Pages<OwnRsvpScope>>,
    pub(crate) own_rsvp_counts: Cached<Counts<OwnRsvpScope>>,
    pub(crate) own_quote_pages: Cached<Pages<OwnQuoteScope>>,
    pub(crate) own_quote_counts: Cached<Counts<OwnQuoteScope>>,
    pub(crate) viewer_signatures: Cached<ViewerSignatures>,
    pub(crate) viewer_rsvps: Cached<ViewerRsvps>,
    pub(crate) country_counts: Cached<CountryCounts>,
    pub(crate) signature_series: Cached<SignatureSeries>,
    pub(crate) rsvp_status_counts: Cached<RsvpStatusCounts>,
    /// Petitions' signature counts with their slots.
    pub(crate) signature_totals: Cached<CounterTotals>,
    /// Events' counts of fans going with their slots.
    pub(crate) going_totals: Cached<CounterTotals>,
    /// The pages and counts of nested connections narrowed by `where`.
    pub(crate) narrowed: NarrowedLoaders,
}

impl LoaderSet {
    /// Fresh loaders for one request of `viewer`.
    fn new(db: &DatabaseConnection, viewer: Viewer) -> Self {
        Self {
            films: by_id(db, Condition::all()),
            people: by_id(db, Condition::all()),
            quotes: by_id(db, quotes::visible_to(&viewer)),
            events: by_id(db, Condition::all()),
            petitions: by_id(db, Condition::all()),
            signatures: by_id(db, crate::domain::petitions::public_signatures()),
            petition_updates: by_id(db, crate::domain::petition_updates::visible_to(&viewer)),
            credits: by_id(db, Condition::all()),
            users: by_id(db, Condition::all()),
            film_pages: pages(db),
            credit_pages: pages(db),
            quote_pages: pages(db),
            event_pages: pages(db),
            petition_pages: pages(db),
            signature_pages: pages(db),
            film_counts: counts(db),
            credit_counts: counts(db),
            quote_counts: counts(db),
            event_counts: counts(db),
            petition_counts: counts(db),
            signature_counts: counts(db),
            petition_update_pages: pages(db),
            petition_update_counts: counts(db),
            rsvp_pages: pages(db),
            rsvp_counts: counts(db),
            own_signature_pages: pages(db),
            own_signature_counts: counts(db),
            own_rsvp_pages: pages(db),
            own_rsvp_counts: counts(db),
            own_quote_pages: pages(db),
            own_quote_counts: counts(db),
            viewer_signatures: cached(ViewerSignatures { db: db.clone(), user_id: viewer.user_id }),
            viewer_rsvps: cached(ViewerRsvps { db: db.clone(), user_id: viewer.user_id }),
            country_counts: cached(CountryCounts { db: db.clone() }),
            signature_series: cached(SignatureSeries { db: db.clone() }),
            rsvp_status_counts: cached(RsvpStatusCounts { db: db.clone() }),
            signature_totals: cached(CounterTotals { db: db.clone(), slotted: counters::SIGNATURES }),
            going_totals: cached(CounterTotals { db: db.clone(), slotted: counters::GOING }),
            narrowed: NarrowedLoaders::new(db),
        }
    }
}

/// The page and count loaders of a scope, found in the request's `Loaders`.
pub(crate) trait ScopeLoaders: Scope {
    /// The page loader of this scope.
    fn pages(loaders: &Loaders) -> &Cached<Pages<Self>>;
    /// The count loader of this scope.
    fn counts(loaders: &Loaders) -> &Cached<Counts<Self>>;
}

macro_rules! scope_loaders {
    ($($scope:ident => $pages:ident, $counts:ident;)*) => {
        $(impl ScopeLoaders for $scope {
            fn pages(loaders: &Loaders) -> &Cached<Pages<Self>> {
                &loaders.$pages
            }
            fn counts(loaders: &Loaders) -> &Cached<Counts<Self>> {
                &loaders.$counts
            }
        })*
    };
}
scope_loaders! {
    FilmScope => film_pages, film_counts;
    CreditScope => credit_pages, credit_counts;
    QuoteScope => quote_pages, quote_counts;
    EventScope => event_pages, event_counts;
    PetitionScope => petition_pages, petition_counts;
    SignatureScope => signature_pages, signature_counts;
    PetitionUpdateScope => petition_update_pages, petition_update_counts;
    RsvpScope => rsvp_pages, rsvp_counts;
    OwnSignatureScope => own_signature_pages, own_signature_counts;
    OwnRsvpScope => own_rsvp_pages, own_rsvp_counts;
    OwnQuoteScope => own_quote_pages, own_quote_counts;
}

/// A slotted counter of each row (see `domain::counters`), in one query for all rows of a request:
/// a row's stored column alone misses the slots not folded into it yet.
pub(crate) struct CounterTotals {
    db: DatabaseConnection,
    slotted: counters::Slotted,
}

impl Loader<i64> for CounterTotals {
    type Value = i64;
    type Error = DomainError;

    async fn load(&self, ids: &[i64]) -> Result<HashMap<i64, i64>, DomainError> {
        Ok(self.slotted.totals(&self.db, ids).await?.into_iter().map(|(id, (count, _))| (id, count)).collect())
    }
}

/// Whether the viewer signed each petition, in one query for all petitions of a request.
pub(crate) struct ViewerSignatures {
    db: DatabaseConnection,
    user_id: Option<i64>,
}

impl Loader<i64> for ViewerSignatures {
    type Value = bool;
    type Error = DomainError;

    async fn load(&self, petitions: &[i64]) -> Result<HashMap<i64, bool>, DomainError> {
        let mut signed: HashMap<i64, bool> = petitions.iter().map(|id| (*id, false)).collect();
        let Some(user_id) = self.user_id else { return Ok(signed) };
        let rows: Vec<i64> = signature::Entity::find()
            .select_only()
            .column(signature::Column::PetitionId)
            .filter(signature::Column::UserId.eq(user_id))
            .filter(signature::Column::PetitionId.is_in(petitions.iter().copied()))
            .into_tuple()
            .all(&self.db)
            .await?;
        for petition in rows {
            signed.insert(petition, true);
        }
        Ok(signed)
    }
}

/// The viewer's RSVP to each event, in one query for all events of a request.
pub(crate) struct ViewerRsvps {
    db: DatabaseConnection,
    user_id: Option<i64>,
}

impl Loader<i64> for ViewerRsvps {
    type Value = Arc<rsvp::Model>;
    type Error = DomainError;

    async fn load(&self, events: &[i64]) -> Result<HashMap<i64, Arc<rsvp::Model>>, DomainError> {
        let Some(user_id) = self.user_id else { return Ok(HashMap::new()) };
        let rows = rsvp::Entity::find()
            .filter(rsvp::Column::UserId.eq(user_id))
            .filter(rsvp::Column::EventId.is_in(events.iter().copied()))
            .all(&self.db)
            .await?;
        Ok(rows.into_iter().map(|row| (row.event_id, Arc::new(row))).collect())
    }
}

/// Signatures per country for each petition, in one GROUP BY for all petitions of a request.
pub(crate) struct CountryCounts {
    db: DatabaseConnection,
}

impl Loader<i64> for CountryCounts {
    type Value = Vec<(String, i64)>;
    type Error = DomainError;

    async fn load(&self, petitions: &[i64]) -> Result<HashMap<i64, Vec<(String, i64)>>, DomainError> {
        let rows = stats::signatures_by_country(&self.db, petitions).await?;
        let mut grouped: HashMap<i64, Vec<(String, i64)>> = petitions.iter().map(|id| (*id, Vec::new())).collect();
        for (petition, country, count) in rows {
            grouped.entry(petition).or_default().push((country, count));
        }
        Ok(grouped)
    }
}

/// Signatures per time bucket for each petition, one GROUP BY per bucket width for all petitions
/// of a request.
pub(crate) struct SignatureSeries {
    db: DatabaseConnection,
}

impl Loader<(i64, Bucket)> for SignatureSeries {
    type Value = Vec<(chrono::DateTime<chrono::Utc>, i64)>;
    type Error = DomainError;

    async fn load(&self, keys: &[(i64, Bucket)]) -> Result<HashMap<(i64, Bucket), Self::Value>, DomainError> {
        let mut series: HashMap<(i64, Bucket), Self::Value> = keys.iter().map(|key| (*key, Vec::new())).collect();
        for bucket in [Bucket::Hour, Bucket::Day, Bucket::Week] {
            let petitions: Vec<i64> = keys.iter().filter(|key| key.1 == bucket).map(|key| key.0).collect();
            if petitions.is_empty() {
                continue;
            }
            for (petition, start, count) in stats::signatures_over_time(&self.db, &petitions, bucket).await? {
                series.entry((petition, bucket)).or_default().push((start, count));
            }
        }
        Ok(series)
    }
}

/// RSVPs per status for each event, in one GROUP BY for all events of a request.
pub(crate) struct RsvpStatusCounts {
    db: DatabaseConnection,
}

impl Loader<i64> for RsvpStatusCounts {
    type Value = Vec<(entity::enums::RsvpStatus, i64)>;
    type Error = DomainError;

    async fn load(&self, events: &[i64]) -> Result<HashMap<i64, Self::Value>, DomainError> {
        let mut grouped: HashMap<i64, Self::Value> = events.iter().map(|id| (*id, Vec::new())).collect();
        for (event, status, count) in stats::rsvps_by_status(&self.db, events).await? {
            grouped.entry(event).or_default().push((status, count));
        }
        Ok(grouped)
    }
}
