//! The read planner: a query's root field whose whole selection it can read becomes one SQL
//! statement that builds the field's JSON in the database, and the result is handed to
//! async-graphql as the field's finished value, so no field below it resolves one by one.
//! Anything else (search, statistics, `me`, viewer-specific fields, arguments the resolvers would
//! refuse) resolves as before, and is counted by root field name in `/metrics`. What each field of
//! a type reads, the type declares next to its resolver (a `Reads`, such as `films::FILM_READS`);
//! `schema_check` holds every declaration to the schema the resolvers build.

mod aggregate;
mod cache;
mod reads;
#[cfg(test)]
mod schema_check;
mod shape;
mod sql;
mod walk;

use std::borrow::Cow;
use std::sync::Mutex;

use async_graphql::parser::types::Field;
use async_graphql::registry::Registry;
use async_graphql::{Context, ContextSelectionSet, OutputType, Positioned, ServerResult, Value};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use sea_orm::{Condition, ConnectionTrait, EntityTrait, QueryFilter};

use super::errors::GqlResult;
use super::ids::NodeType;
use super::{db, loaders};
use crate::domain::DomainError;
use crate::domain::paging::{ListOrder, PageRequest};
use crate::loaders::{ById, Cached, Keyed, Loaders};
pub(crate) use reads::{Children, Conv, Derived, Read, Reads};
use walk::{RootRows, Rows, Walk};

/// Which path a request's reads take.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum ReadPath {
    /// Planned root fields read in one statement each (the default).
    #[default]
    Planned,
    /// Every field resolves one by one (outside production, a request asks for it with
    /// `x-fandb-read-path: resolvers`, to compare the two paths).
    Resolvers,
}

/// The header that asks for the resolvers (outside production).
pub(crate) const READ_PATH_HEADER: &str = "x-fandb-read-path";

/// What one request's planned root fields read: how many were planned, and the tables their
/// statements named (`domain::tables`). The response cache keeps it with the answer.
#[derive(Debug, Default)]
pub(crate) struct TablesRead {
    planned: std::sync::atomic::AtomicUsize,
    tables: std::sync::atomic::AtomicU64,
}

impl TablesRead {
    fn note(&self, tables: u64) {
        use std::sync::atomic::Ordering;
        self.planned.fetch_add(1, Ordering::Relaxed);
        self.tables.fetch_or(tables, Ordering::Relaxed);
    }

    /// The tables read when exactly `root_fields` root fields were planned; every table when
    /// fewer were (a field the resolvers answered may have read anything).
    pub(crate) fn tables(&self, root_fields: usize) -> u64 {
        use std::sync::atomic::Ordering;
        if self.planned.load(Ordering::Relaxed) == root_fields {
            self.tables.load(Ordering::Relaxed)
        } else {
            crate::domain::tables::ALL
        }
    }
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FieldLabels {
    field: &'static str,
}

/// Root fields answered by one planned statement, and root fields that fell back to the
/// resolvers, by field name; and how often a kept plan was reused (`cache`).
#[derive(Debug, Clone, Default)]
pub(crate) struct PlanCounters {
    planned: Family<FieldLabels, Counter>,
    fallbacks: Family<FieldLabels, Counter>,
    cache_hits: Counter,
    cache_misses: Counter,
}

impl PlanCounters {
    /// Registers both families.
    pub(crate) fn register(&self, registry: &mut prometheus_client::registry::Registry) {
        registry.register(
            "read_planned",
            "Query root fields answered by one planned SQL statement, by field",
            self.planned.clone(),
        );
        registry.register(
            "read_plan_fallbacks",
            "Query root fields the planner could not plan (resolved field by field), by field",
            self.fallbacks.clone(),
        );
        registry.register(
            "read_plan_cache_hits",
            "Planned root fields that reused a kept plan (no walk, no SQL building)",
            self.cache_hits.clone(),
        );
        registry.register(
            "read_plan_cache_misses",
            "Planned root fields that were planned (no kept plan for their document, variables and viewer)",
            self.cache_misses.clone(),
        );
    }

    fn planned(&self, field: &'static str) {
        self.planned.get_or_create(&FieldLabels { field }).inc();
    }

    fn fallback(&self, field: &'static str) {
        self.fallbacks.get_or_create(&FieldLabels { field }).inc();
    }
}

/// Adds the plan cache (one per schema, so per process) and the per-root-field frozen time it
/// relies on (see `cache`).
pub(crate) fn install<Q, M, S>(
    builder: async_graphql::SchemaBuilder<Q, M, S>,
) -> async_graphql::SchemaBuilder<Q, M, S> {
    builder.data(std::sync::Arc::new(cache::PlanCache::default())).extension(cache::Freeze)
}

/// A root field's value: finished by the planner, or an object to resolve as before. Reports the
/// wrapped type's name and type info, so the schema does not change.
pub(crate) enum Planned<T> {
    Done(Mutex<Option<Value>>),
    Resolve(T),
}

impl<T> Planned<T> {
    /// The value the planner built.
    pub(crate) fn done(value: Value) -> Self {
        Self::Done(Mutex::new(Some(value)))
    }
}

impl<T: OutputType> OutputType for Planned<T> {
    fn type_name() -> Cow<'static, str> {
        T::type_name()
    }

    fn qualified_type_name() -> String {
        T::qualified_type_name()
    }

    fn introspection_type_name(&self) -> Cow<'static, str> {
        match self {
            Planned::Done(_) => T::type_name(),
            Planned::Resolve(inner) => inner.introspection_type_name(),
        }
    }

    fn create_type_info(registry: &mut Registry) -> String {
        T::create_type_info(registry)
    }

    async fn resolve(&self, ctx: &ContextSelectionSet<'_>, field: &Positioned<Field>) -> ServerResult<Value> {
        match self {
            Planned::Done(value) => Ok(value.lock().ok().and_then(|mut value| value.take()).unwrap_or_default()),
            Planned::Resolve(inner) => inner.resolve(ctx, field).await,
        }
    }
}

/// How a lookup names its row.
pub(crate) enum Key {
    Id(i64),
    Slug(String),
}

impl Key {
    /// The key of a root field's `id` (a global ID of a `node`) or `slug`: exactly one is given.
    pub(crate) fn given(id: Option<async_graphql::ID>, slug: Option<String>, node: NodeType) -> GqlResult<Key> {
        Ok(match super::one_of(id, slug)? {
            Ok(id) => Key::Id(super::ids::decode_as(&id, node, "id")?),
            Err(slug) => Key::Slug(slug),
        })
    }
}

/// A root field that finds one row by `key`: read in one statement when the planner can (see
/// `lookup`), else resolved field by field from the request's loader (`by_id`) or by
/// `slug_column`.
pub(crate) async fn lookup_or_resolve<E, N>(
    ctx: &Context<'_>,
    name: &'static str,
    reads: &'static Reads,
    key: Key,
    by_id: for<'l> fn(&'l Loaders) -> &'l Cached<ById<E>>,
    slug_column: E::Column,
    wrap: impl Fn(std::sync::Arc<E::Model>) -> N,
) -> GqlResult<Planned<Option<N>>>
where
    E: Keyed + Send + Sync + 'static,
    E::Model: Send + Sync,
{
    if let Some(value) = lookup(ctx, name, reads, &key).await? {
        return Ok(Planned::done(value));
    }
    let row = match key {
        Key::Id(id) => by_id(loaders(ctx)?).load_one(id).await?,
        Key::Slug(slug) => {
            use sea_orm::ColumnTrait;
            E::find().filter(slug_column.eq(slug)).one(db(ctx)?).await.map_err(DomainError::from)?.map(Into::into)
        }
    };
    Ok(Planned::Resolve(row.map(wrap)))
}

/// A root field that returns at most one row of the declared type: its finished value, or `None`
/// to resolve it.
pub(crate) async fn lookup(
    ctx: &Context<'_>,
    name: &'static str,
    reads: &'static Reads,
    key: &Key,
) -> GqlResult<Option<Value>> {
    use entity::{event, film, person, petition};
    use sea_orm::ColumnTrait;
    let viewer = loaders(ctx)?.viewer;
    let rows = match key {
        Key::Id(id) => walk::by_id(reads.node, *id, &viewer),
        Key::Slug(slug) => match reads.node {
            NodeType::Film => {
                Some(RootRows::Film(Rows::One(film::Entity::find().filter(film::Column::Slug.eq(slug.as_str())))))
            }
            NodeType::Person => {
                Some(RootRows::Person(Rows::One(person::Entity::find().filter(person::Column::Slug.eq(slug.as_str())))))
            }
            NodeType::Event => {
                Some(RootRows::Event(Rows::One(event::Entity::find().filter(event::Column::Slug.eq(slug.as_str())))))
            }
            NodeType::Petition => Some(RootRows::Petition(Rows::One(
                petition::Entity::find().filter(petition::Column::Slug.eq(slug.as_str())),
            ))),
            _ => None,
        },
    };
    let Some(rows) = rows else { return Ok(None) };
    run(ctx, name, Roots::One(reads, Box::new(rows))).await
}

/// A root field that returns one row per global id (`nodes`): its finished value, or `None` to
/// resolve it.
pub(crate) async fn lookups(
    ctx: &Context<'_>,
    name: &'static str,
    keys: &[(&'static Reads, i64)],
) -> GqlResult<Option<Value>> {
    let viewer = loaders(ctx)?.viewer;
    let lookups = keys.iter().map(|(reads, id)| Some((*reads, walk::by_id(reads.node, *id, &viewer)?))).collect();
    let Some(lookups) = lookups else { return Ok(None) };
    run(ctx, name, Roots::Many(lookups)).await
}

/// A root list: read in one statement when the planner can (see `list`), else resolved field by
/// field from `connection::list`.
pub(crate) async fn list_or_resolve<E, N>(
    ctx: &Context<'_>,
    name: &'static str,
    reads: &'static Reads,
    condition: Condition,
    order: ListOrder,
    page: PageRequest,
    wrap: impl Fn(std::sync::Arc<E::Model>) -> N,
) -> GqlResult<Planned<super::connection::Connection<N>>>
where
    E: Keyed,
    E::Model: Sync,
    RootRows: From<Rows<E>>,
{
    if let Some(value) = list::<E>(ctx, name, reads, &condition, &order, &page).await? {
        return Ok(Planned::done(value));
    }
    Ok(Planned::Resolve(super::connection::list_ordered::<E, N>(ctx, condition, order, page, wrap).await?))
}

/// A root list of `E` rows, read as `reads` declares: its finished value, or `None` to resolve it.
async fn list<E: Keyed>(
    ctx: &Context<'_>,
    name: &'static str,
    reads: &'static Reads,
    condition: &Condition,
    order: &ListOrder,
    page: &PageRequest,
) -> GqlResult<Option<Value>>
where
    RootRows: From<Rows<E>>,
{
    let select = E::find().filter(condition.clone());
    let rows = Rows::Ordered { select, order: order.clone(), page: page.clone() };
    run(ctx, name, Roots::One(reads, Box::new(RootRows::from(rows)))).await
}

/// The value of a connection's `aggregate` (or, with `grouped`, `groupedAggregates`) on the
/// resolver path: the subquery the planner puts in a root field's statement, run alone over the
/// rows `source` selects.
pub(crate) async fn aggregate_value(
    ctx: &Context<'_>,
    node: &'static str,
    source: sea_orm::sea_query::SelectStatement,
    grouped: bool,
) -> GqlResult<Value> {
    let db = db(ctx)?;
    let backend = db.get_database_backend();
    let mut walk = Walk::new(backend, loaders(ctx)?.viewer, ctx.query_env, &ctx.schema_env.registry);
    let field = &ctx.item.node;
    let spec = super::aggregates::spec(node);
    let Some((subquery, out)) = walk.aggregate(node, spec, field, source, grouped) else {
        let name = field.name.node.to_string();
        return Err(DomainError::invalid(&name, "this selection cannot be aggregated").into());
    };
    let statement = sql::root_statement(backend, subquery);
    let row = db.query_one_raw(statement).await.map_err(DomainError::from)?;
    let text: String = match row {
        Some(row) => row.try_get_by_index(0).map_err(DomainError::from)?,
        None => return Err(DomainError::Internal("the aggregate statement returned no row".to_owned()).into()),
    };
    let json: serde_json::Value =
        serde_json::from_str(&text).map_err(|error| DomainError::Internal(format!("aggregate JSON: {error}")))?;
    Ok(out.value(&json))
}

/// What a root field reads: one lookup or list, or several lookups (`nodes`).
enum Roots {
    One(&'static Reads, Box<RootRows>),
    Many(Vec<(&'static Reads, RootRows)>),
}

async fn run(ctx: &Context<'_>, name: &'static str, rows: Roots) -> GqlResult<Option<Value>> {
    if ctx.data_opt::<ReadPath>() == Some(&ReadPath::Resolvers) {
        return Ok(None);
    }
    let counters = ctx.data_opt::<PlanCounters>();
    let db = db(ctx)?;
    let backend = db.get_database_backend();
    let viewer = loaders(ctx)?.viewer;
    // The plan cache works inside a root query field's frozen time (`cache::Freeze`).
    let cache = ctx.data_opt::<std::sync::Arc<cache::PlanCache>>().zip(crate::domain::frozen_now());
    let key = cache.and_then(|_| cache::PlanKey::of(ctx, viewer));
    let kept = match (cache, &key) {
        (Some((cache, (now, _))), Some(key)) => cache.reuse(key, now),
        _ => None,
    };
    let (plan, statement) = match kept {
        Some(kept) => {
            if let Some(counters) = counters {
                counters.cache_hits.inc();
            }
            kept
        }
        None => {
            let walk = Walk::new(backend, viewer, ctx.query_env, &ctx.schema_env.registry);
            let field = &ctx.item.node;
            let planned = match rows {
                Roots::One(reads, rows) => walk.root(reads, field, *rows),
                Roots::Many(lookups) => walk.roots(field, lookups),
            };
            let Some(planned) = planned else {
                if let Some(counters) = counters {
                    counters.fallback(name);
                }
                return Ok(None);
            };
            let statement = sql::root_statement(backend, planned.root);
            let plan = std::sync::Arc::new(cache::Plan {
                statement: statement.clone(),
                out: planned.out,
                tables: Default::default(),
            });
            if let Some(counters) = counters {
                counters.cache_misses.inc();
            }
            // Whether the resolver or the walk read the time is known now, before shaping reads it.
            if let (Some((cache, _)), Some(key), Some((at, read_time))) = (cache, key, crate::domain::frozen_now()) {
                cache.keep(key, std::sync::Arc::clone(&plan), at, read_time);
            }
            (plan, statement)
        }
    };
    if let Some(read) = ctx.data_opt::<std::sync::Arc<TablesRead>>() {
        read.note(plan.tables());
    }
    let row = db.query_one_raw(statement).await.map_err(DomainError::from)?;
    let text: String = match row {
        Some(row) => row.try_get_by_index(0).map_err(DomainError::from)?,
        None => return Err(DomainError::Internal("the planned statement returned no row".to_owned()).into()),
    };
    let json: serde_json::Value =
        serde_json::from_str(&text).map_err(|error| DomainError::Internal(format!("planned JSON: {error}")))?;
    let root = match &json {
        serde_json::Value::Array(items) => items.as_slice(),
        _ => &[],
    };
    if let Some(counters) = counters {
        counters.planned(name);
    }
    Ok(Some(shape::root_value(&plan.out, root)))
}
