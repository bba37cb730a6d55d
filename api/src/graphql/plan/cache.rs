//! Plan once per document: a root field planned for a request is kept, bounded and per process,
//! under everything that decides its plan (the document's text, the operation, the field's place
//! in the document, the variables' JSON and the viewer, whose id and role a plan may bind), so the
//! same request again skips the walk and the SQL building and runs the finished statement with
//! its `Out` tree.
//!
//! The one input a plan has beyond that key is the time: a root field's resolver and the walk bind
//! `domain::now()` (visible updates, open petitions, upcoming events). Each root query field
//! resolves with the time frozen (`domain::frozen`), so every "now" of one plan is the same
//! instant, and the frozen scope notes whether anything read it. A plan that never read the time
//! is kept as it is. A plan that did is kept only once two plannings at different instants agree:
//! the same text, every bound value equal except those that were exactly the first instant in the
//! first and exactly the second in the second. Those are the "now" slots, re-bound with the
//! current instant on every reuse; a value the request itself supplied cannot pass for one, since
//! it is the same in both plannings. Any other difference (a value derived from the time, such as
//! a date) and the key is never kept. A value derived from the time that did not move between the
//! two plannings can only be one that holds for a day (a date), so a plan that read the time is
//! used only on the UTC day it was confirmed, and planned again after. (What this trusts: the
//! resolvers and the walk bind the time as it is or not at all; one that bound, say, the earlier of
//! the time and a supplied value would pass for the time while that value was later.)
//!
//! The key is exact rather than a shape: the variables' JSON in full (a plan binds their values),
//! and the viewer's id and role (a plan may bind either; anonymous requests share one class). A
//! root field the walk cannot plan is not kept: it is walked again and falls back each time.

use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextParseQuery, NextResolve, ResolveInfo,
};
use async_graphql::parser::types::ExecutableDocument;
use async_graphql::{Context, ServerResult, Value as GqlValue, Variables};
use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{Statement, Value};

use super::shape::Out;
use crate::domain::{self, Viewer};

/// At most this many plans are kept.
const MAX_ENTRIES: usize = 1024;
/// At most about this many bytes of documents, variables and SQL are kept.
const MAX_BYTES: usize = 16 * 1024 * 1024;
/// A plan larger than this is not kept (it would push out many others).
const MAX_ENTRY_BYTES: usize = MAX_BYTES / 16;

/// What decides a root field's plan, besides the time.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct PlanKey {
    document: Arc<str>,
    operation: Option<String>,
    line: usize,
    column: usize,
    variables: String,
    viewer: Viewer,
}

impl PlanKey {
    /// The key of the root field `ctx` resolves, when its document is known (inside `Freeze`).
    pub(super) fn of(ctx: &Context<'_>, viewer: Viewer) -> Option<Self> {
        let document = DOCUMENT.try_with(Arc::clone).ok()?;
        let variables = serde_json::to_string(&ctx.query_env.variables).ok()?;
        let pos = ctx.item.pos;
        Some(Self {
            document,
            operation: ctx.query_env.operation_name.clone(),
            line: pos.line,
            column: pos.column,
            variables,
            viewer,
        })
    }

    fn bytes(&self) -> usize {
        self.document.len() + self.variables.len() + self.operation.as_ref().map_or(0, String::len) + 64
    }
}

/// A finished plan: the statement as planned and how to shape its JSON.
#[derive(Debug)]
pub(super) struct Plan {
    pub(super) statement: Statement,
    pub(super) out: Out,
    /// The tables the statement names (`domain::tables::named_in`), found once for all its reuses.
    pub(super) tables: std::sync::OnceLock<u64>,
}

impl Plan {
    /// The tables the statement names (its text is the same at every reuse; only values re-bind).
    pub(super) fn tables(&self) -> u64 {
        *self.tables.get_or_init(|| crate::domain::tables::named_in(&self.statement.sql))
    }

    fn bytes(&self) -> usize {
        let values = self.statement.values.as_ref().map_or(0, |values| values.0.len());
        // The `Out` tree is about as large as the SQL that selects its slots.
        self.statement.sql.len() * 2 + values * 48
    }

    fn values(&self) -> &[Value] {
        self.statement.values.as_ref().map_or(&[], |values| values.0.as_slice())
    }
}

/// What is known of one key.
enum Entry {
    /// Planned once at `at`, reading the time: waits for a second planning to confirm it.
    Candidate { plan: Arc<Plan>, at: DateTime<Utc> },
    /// Confirmed: re-bind `now_slots` on reuse, and use it only on `day` when it is set.
    Ready { plan: Arc<Plan>, now_slots: Vec<usize>, day: Option<NaiveDate> },
    /// Two plannings disagreed beyond the time: planned every time.
    Never,
}

impl Entry {
    fn bytes(&self) -> usize {
        match self {
            Entry::Candidate { plan, .. } | Entry::Ready { plan, .. } => plan.bytes(),
            Entry::Never => 0,
        }
    }
}

struct Inner {
    entries: lru::LruCache<PlanKey, Entry>,
    bytes: usize,
}

/// The plans of one process (one schema), bounded by entries and by bytes.
pub(crate) struct PlanCache {
    inner: Mutex<Inner>,
}

impl Default for PlanCache {
    fn default() -> Self {
        Self::new(MAX_ENTRIES)
    }
}

impl PlanCache {
    fn new(entries: usize) -> Self {
        let capacity = NonZeroUsize::new(entries).unwrap_or(NonZeroUsize::MIN);
        Self { inner: Mutex::new(Inner { entries: lru::LruCache::new(capacity), bytes: 0 }) }
    }

    /// The kept plan for `key`, with its "now" slots bound to `now` (the request's frozen instant).
    pub(super) fn reuse(&self, key: &PlanKey, now: DateTime<Utc>) -> Option<(Arc<Plan>, Statement)> {
        let mut inner = self.inner.lock().ok()?;
        let Some(Entry::Ready { plan, now_slots, day }) = inner.entries.get(key) else { return None };
        if day.is_some_and(|day| day != now.date_naive()) {
            return None;
        }
        let mut statement = plan.statement.clone();
        if let Some(values) = statement.values.as_mut() {
            for slot in now_slots.iter() {
                if let Some(value) = values.0.get_mut(*slot) {
                    *value = Value::from(now);
                }
            }
        }
        Some((Arc::clone(plan), statement))
    }

    /// Keeps (or confirms) `plan`, planned for `key` with the time frozen at `at`; `read_time`
    /// says whether the planning read it.
    pub(super) fn keep(&self, key: PlanKey, plan: Arc<Plan>, at: DateTime<Utc>, read_time: bool) {
        let Ok(mut inner) = self.inner.lock() else { return };
        let entry = if !read_time {
            Entry::Ready { plan, now_slots: Vec::new(), day: None }
        } else {
            match inner.entries.peek(&key) {
                Some(Entry::Never) => return,
                Some(Entry::Candidate { plan: first, at: first_at }) if *first_at != at => {
                    match now_slots(first, *first_at, &plan, at) {
                        Some(now_slots) => Entry::Ready { plan, now_slots, day: Some(at.date_naive()) },
                        None => Entry::Never,
                    }
                }
                _ => Entry::Candidate { plan, at },
            }
        };
        let bytes = key.bytes() + entry.bytes();
        if bytes > MAX_ENTRY_BYTES {
            return;
        }
        if let Some(old) = inner.entries.pop(&key) {
            inner.bytes = inner.bytes.saturating_sub(key.bytes() + old.bytes());
        }
        while inner.bytes + bytes > MAX_BYTES || inner.entries.len() >= inner.entries.cap().get() {
            let Some((old_key, old)) = inner.entries.pop_lru() else { break };
            inner.bytes = inner.bytes.saturating_sub(old_key.bytes() + old.bytes());
        }
        inner.bytes += bytes;
        inner.entries.put(key, entry);
    }
}

/// Where two plannings of one key, at `first_at` and at `second_at`, bound the time: `None` when
/// they differ in anything else.
fn now_slots(first: &Plan, first_at: DateTime<Utc>, second: &Plan, second_at: DateTime<Utc>) -> Option<Vec<usize>> {
    if first.statement.sql != second.statement.sql || first.values().len() != second.values().len() {
        return None;
    }
    let (first_now, second_now) = (Value::from(first_at), Value::from(second_at));
    let mut slots = Vec::new();
    for (slot, (one, two)) in first.values().iter().zip(second.values()).enumerate() {
        if one == two {
            continue;
        }
        if *one == first_now && *two == second_now {
            slots.push(slot);
        } else {
            return None;
        }
    }
    Some(slots)
}

tokio::task_local! {
    /// The text of the document the current root field belongs to.
    static DOCUMENT: Arc<str>;
}

/// Resolves each root query field with the time frozen and its document known, so its plan can
/// be kept (see the module doc).
pub(crate) struct Freeze;

impl ExtensionFactory for Freeze {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(FreezeRequest { document: std::sync::OnceLock::new() })
    }
}

struct FreezeRequest {
    document: std::sync::OnceLock<Arc<str>>,
}

#[async_trait::async_trait]
impl Extension for FreezeRequest {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let _ = self.document.set(Arc::from(query));
        next.run(ctx, query, variables).await
    }

    async fn resolve(
        &self,
        ctx: &ExtensionContext<'_>,
        info: ResolveInfo<'_>,
        next: NextResolve<'_>,
    ) -> ServerResult<Option<GqlValue>> {
        let root_query_field = info.path_node.parent.is_none() && info.parent_type == "Query";
        match self.document.get() {
            Some(document) if root_query_field => {
                DOCUMENT.scope(Arc::clone(document), domain::frozen(next.run(ctx, info))).await
            }
            _ => next.run(ctx, info).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(values: Vec<Value>) -> Plan {
        let statement = Statement::from_sql_and_values(sea_orm::DatabaseBackend::Sqlite, "SELECT ?, ?", values);
        Plan { statement, out: Out::Const("Film"), tables: Default::default() }
    }

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + seconds, 0).unwrap_or_default()
    }

    #[test]
    fn the_time_is_a_slot_and_a_supplied_value_equal_to_it_is_not() {
        let first = plan(vec![Value::from(at(0)), Value::from(at(0))]);
        let second = plan(vec![Value::from(at(1)), Value::from(at(0))]);
        assert_eq!(now_slots(&first, at(0), &second, at(1)), Some(vec![0]));
    }

    #[test]
    fn a_value_derived_from_the_time_is_never_kept() {
        let first = plan(vec![Value::from(at(-60)), Value::from(1)]);
        let second = plan(vec![Value::from(at(-59)), Value::from(1)]);
        assert_eq!(now_slots(&first, at(0), &second, at(1)), None);
    }

    #[test]
    fn the_cache_holds_at_most_its_entries() {
        let cache = PlanCache::new(2);
        let key = |line| PlanKey {
            document: Arc::from("{ films { totalCount } }"),
            operation: None,
            line,
            column: 3,
            variables: "{}".to_owned(),
            viewer: Viewer::anonymous(),
        };
        for line in 0..5 {
            cache.keep(key(line), Arc::new(plan(vec![Value::from(1), Value::from(2)])), at(0), false);
        }
        let inner = cache.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        assert_eq!(inner.entries.len(), 2);
        assert!(inner.entries.peek(&key(4)).is_some() && inner.entries.peek(&key(0)).is_none());
    }
}
