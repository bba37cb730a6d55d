//! Relay connections: the generic `XConnection`/`XEdge`/`PageInfo` types, the 20/100 page rule, and
//! the two ways to fill them (a top-level list, or one parent's page through the loaders).

use std::borrow::Cow;
use std::sync::Arc;

use async_graphql::{Context, Object, OutputType, SimpleObject, TypeName};
use futures_util::future::BoxFuture;
use sea_orm::sea_query::SelectStatement;
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryTrait};

use super::aggregates::{Described, Group, GroupBy, Having, Whole};
use super::plan::{self, Planned};

use super::errors::GqlResult;
use super::{db, loaders};
use crate::domain::paging::{self, DEFAULT_PAGE_SIZE, ListOrder, MAX_PAGE_SIZE, Page, PageRequest, Sort};
use crate::domain::{DomainError, DomainResult};
use crate::loaders::{CountKey, Keyed, Loaders, PageKey, ScopeLoaders};

/// Names the connection and edge types after their node type.
pub(crate) trait NodeName {
    /// The GraphQL name of the node type.
    const NAME: &'static str;
}

/// Counts the whole list only when a client asks for `totalCount`.
type CountTotal = Arc<dyn Fn() -> BoxFuture<'static, DomainResult<u64>> + Send + Sync>;

/// A page of a list, Relay style.
pub(crate) struct Connection<N> {
    edges: Vec<Edge<N>>,
    has_next_page: bool,
    has_previous_page: bool,
    count_total: CountTotal,
    /// Every row of the list (all pages), for its aggregates.
    source: SelectStatement,
}

/// One node of a page and its cursor.
pub(crate) struct Edge<N> {
    cursor: String,
    node: N,
}

/// Where a page sits in its list.
#[derive(SimpleObject)]
pub(crate) struct PageInfo {
    /// Whether more rows follow this page.
    has_next_page: bool,
    /// Whether rows precede this page.
    has_previous_page: bool,
    /// The cursor of the first row of the page.
    start_cursor: Option<String>,
    /// The cursor of the last row of the page.
    end_cursor: Option<String>,
}

impl<N> Connection<N> {
    fn new<M>(
        page: &Page<Arc<M>>,
        wrap: impl Fn(Arc<M>) -> N,
        count_total: CountTotal,
        source: SelectStatement,
    ) -> Self {
        Self {
            edges: page
                .rows
                .iter()
                .map(|(cursor, row)| Edge { cursor: cursor.encode(), node: wrap(row.clone()) })
                .collect(),
            has_next_page: page.has_next_page,
            has_previous_page: page.has_previous_page,
            count_total,
            source,
        }
    }
}

#[Object(name_type)]
impl<N: OutputType + NodeName + 'static> Connection<N> {
    /// The rows of this page with their cursors.
    async fn edges(&self) -> &[Edge<N>] {
        &self.edges
    }

    /// The rows of this page.
    async fn nodes(&self) -> Vec<&N> {
        self.edges.iter().map(|edge| &edge.node).collect()
    }

    /// Where this page sits in the list.
    async fn page_info(&self) -> PageInfo {
        PageInfo {
            has_next_page: self.has_next_page,
            has_previous_page: self.has_previous_page,
            start_cursor: self.edges.first().map(|edge| edge.cursor.clone()),
            end_cursor: self.edges.last().map(|edge| edge.cursor.clone()),
        }
    }

    /// The number of rows in the whole list (all pages).
    async fn total_count(&self) -> GqlResult<u64> {
        Ok((self.count_total)().await?)
    }

    /// Aggregates over every row of the list (all pages): its filter and what you may see are
    /// applied first.
    async fn aggregate(&self, ctx: &Context<'_>) -> GqlResult<Planned<Described<N, Whole>>> {
        Ok(Planned::done(plan::aggregate_value(ctx, N::NAME, self.source.clone(), false).await?))
    }

    /// The list's rows (all pages) in groups by `groupBy`'s keys (`keys` lists them in that order),
    /// in key order (nulls last; at most 1,000 groups), with their aggregates; `having` keeps
    /// only some groups.
    async fn grouped_aggregates(
        &self,
        ctx: &Context<'_>,
        #[graphql(name = "groupBy")] _group_by: Vec<GroupBy<N>>,
        #[graphql(name = "having")] _having: Option<Having<N>>,
    ) -> GqlResult<Planned<Vec<Described<N, Group>>>> {
        // The arguments, validated by their types above, are read with the selection by the
        // planner, which builds the whole answer.
        Ok(Planned::done(plan::aggregate_value(ctx, N::NAME, self.source.clone(), true).await?))
    }
}

impl<N: NodeName + Send + Sync> TypeName for Connection<N> {
    fn type_name() -> Cow<'static, str> {
        Cow::Owned(format!("{}Connection", N::NAME))
    }
}

#[Object(name_type)]
impl<N: OutputType + NodeName> Edge<N> {
    /// The position of this row, for `after` and `before`.
    async fn cursor(&self) -> &str {
        &self.cursor
    }

    /// The row.
    async fn node(&self) -> &N {
        &self.node
    }
}

impl<N: NodeName + Send + Sync> TypeName for Edge<N> {
    fn type_name() -> Cow<'static, str> {
        Cow::Owned(format!("{}Edge", N::NAME))
    }
}

/// The complexity of a list field: its children once per row it may return (the page size asked
/// for, or the default), so a query is costed by what it can fetch, not by how it is written.
pub(crate) fn cost(first: Option<i32>, last: Option<i32>, child_complexity: usize) -> usize {
    let rows = first.or(last).map_or(DEFAULT_PAGE_SIZE, |size| u64::try_from(size).unwrap_or(0).min(MAX_PAGE_SIZE));
    usize::try_from(rows).unwrap_or(usize::MAX).saturating_mul(child_complexity).saturating_add(1)
}

/// Checks the Relay arguments of a list field.
pub(crate) fn page_request(
    first: Option<i32>,
    after: Option<String>,
    last: Option<i32>,
    before: Option<String>,
) -> DomainResult<PageRequest> {
    PageRequest::new(first, after.as_deref(), last, before.as_deref())
}

/// A page of a top-level list: the rows of `E` matching `condition`, in `sort` order.
pub(crate) async fn list<E, N>(
    ctx: &Context<'_>,
    condition: Condition,
    sort: Sort<E::Column>,
    page: PageRequest,
    wrap: impl Fn(Arc<E::Model>) -> N,
) -> GqlResult<Connection<N>>
where
    E: Keyed,
    E::Model: Sync,
{
    let db = db(ctx)?.clone();
    let rows = paging::fetch(&db, E::find().filter(condition.clone()), sort, E::ID, &page).await?;
    let source = E::find().filter(condition.clone()).into_query();
    let count_total: CountTotal = Arc::new(move || {
        let db = db.clone();
        let condition = condition.clone();
        Box::pin(async move { paging::count(&db, E::find().filter(condition)).await })
    });
    Ok(Connection::new(&rows.shared(), wrap, count_total, source))
}

/// A page of a top-level list in an order of several keys: the rows of `E` matching `condition`.
pub(crate) async fn list_ordered<E, N>(
    ctx: &Context<'_>,
    condition: Condition,
    order: ListOrder,
    page: PageRequest,
    wrap: impl Fn(Arc<E::Model>) -> N,
) -> GqlResult<Connection<N>>
where
    E: Keyed,
    E::Model: Sync,
{
    let db = db(ctx)?.clone();
    let rows = paging::fetch_ordered(&db, E::find().filter(condition.clone()), &order, E::ID, &page).await?;
    let source = E::find().filter(condition.clone()).into_query();
    let count_total: CountTotal = Arc::new(move || {
        let db = db.clone();
        let condition = condition.clone();
        Box::pin(async move { paging::count(&db, E::find().filter(condition)).await })
    });
    Ok(Connection::new(&rows.shared(), wrap, count_total, source))
}

/// A page of one parent's children, batched with the other parents of the same request.
pub(crate) async fn children<S, N>(
    ctx: &Context<'_>,
    scope: S,
    parent: i64,
    page: PageRequest,
    wrap: impl Fn(Arc<<S::Entity as EntityTrait>::Model>) -> N,
) -> GqlResult<Connection<N>>
where
    S: ScopeLoaders,
    <S::Entity as EntityTrait>::Model: Send + Sync,
{
    paging::check_cursors(scope.sort(), &page)?;
    let loaders: Arc<Loaders> = loaders(ctx)?.clone();
    let rows = S::pages(&loaders)
        .load_one(PageKey { scope: scope.clone(), page, parent })
        .await?
        .ok_or_else(|| DomainError::Internal("a page key was not loaded".to_owned()))?;
    let source = S::Entity::find().filter(scope.condition()).filter(scope.parent().eq(parent)).into_query();
    let count_total: CountTotal = Arc::new(move || {
        let loaders = loaders.clone();
        let key = CountKey { scope: scope.clone(), parent };
        Box::pin(async move { Ok(S::counts(&loaders).load_one(key).await?.unwrap_or(0)) })
    });
    Ok(Connection::new(&rows, wrap, count_total, source))
}

/// What the read planner builds for a field of an `XConnection`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ConnectionRead {
    Edges,
    Nodes,
    PageInfo,
    TotalCount,
    Aggregate,
    GroupedAggregates,
}

/// The read declaration of every `XConnection`: each field above and what the planner builds for
/// it (the planner's test holds it to the schema).
pub(crate) const CONNECTION_READS: [(&str, ConnectionRead); 6] = [
    ("edges", ConnectionRead::Edges),
    ("nodes", ConnectionRead::Nodes),
    ("pageInfo", ConnectionRead::PageInfo),
    ("totalCount", ConnectionRead::TotalCount),
    ("aggregate", ConnectionRead::Aggregate),
    ("groupedAggregates", ConnectionRead::GroupedAggregates),
];

/// What the read planner builds for a field of an `XEdge`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EdgeRead {
    Cursor,
    Node,
}

/// The read declaration of every `XEdge`.
pub(crate) const EDGE_READS: [(&str, EdgeRead); 2] = [("cursor", EdgeRead::Cursor), ("node", EdgeRead::Node)];

/// What the read planner builds for a field of `PageInfo`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PageInfoRead {
    HasNextPage,
    HasPreviousPage,
    StartCursor,
    EndCursor,
}

/// The read declaration of `PageInfo`.
pub(crate) const PAGE_INFO_READS: [(&str, PageInfoRead); 4] = [
    ("hasNextPage", PageInfoRead::HasNextPage),
    ("hasPreviousPage", PageInfoRead::HasPreviousPage),
    ("startCursor", PageInfoRead::StartCursor),
    ("endCursor", PageInfoRead::EndCursor),
];
