//! What a request costs the client's request budget: each root field its estimated work, so that
//! aliases cannot turn one request into fifteen searches. A lookup or a page costs 1, a list
//! filtered by text (`…Contains`) or a statistic (`campaign`, `signaturesByCountry`…) 4, a search
//! 10; at any depth a connection's `aggregate` 2 and its `groupedAggregates` 10; fragments count
//! where they are spread. The HTTP layer has spent 1 unit on the request when
//! it arrives; the pipeline spends the rest before the operation runs, over HTTP and WebSocket
//! alike, through the `Charge` the transport puts in the request's data.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;

use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, Field, OperationDefinition, Selection, SelectionSet,
};
use async_graphql::{Name, ServerError, Value, Variables};

use crate::code;
use crate::limits::request::RequestLimiter;

/// What a lookup, a page of rows or a mutation field costs.
pub(crate) const PLAIN_UNITS: u32 = 1;
/// What a list filtered by text, or a statistic, costs.
pub(crate) const HEAVY_UNITS: u32 = 4;
/// What a full-text search costs.
pub(crate) const SEARCH_UNITS: u32 = 10;
/// What a connection's `aggregate` costs: one aggregate subquery over rows the list reads anyway.
pub(crate) const AGGREGATE_UNITS: u32 = 2;
/// What a connection's `groupedAggregates` costs: a GROUP BY over every row of the filtered list
/// that answers up to `MAX_GROUPS` (1,000) groups, as much work as a search.
pub(crate) const GROUPED_UNITS: u32 = 10;

/// Root fields that run a full-text search.
const SEARCH_FIELDS: [&str; 2] = ["search", "searchHits"];
/// Fields, at any depth, that aggregate many rows.
const STATISTIC_FIELDS: [&str; 4] = ["campaign", "signaturesByCountry", "signaturesOverTime", "rsvpsByStatus"];

/// A client's request budget, which the transport (HTTP or WebSocket) lends the pipeline.
#[async_trait::async_trait]
pub(crate) trait Budget: Send + Sync {
    /// Spends `units` of `client`'s budget, or says how many seconds to wait.
    async fn spend(&self, client: IpAddr, units: u32) -> Result<(), u64>;

    /// The most units one request may cost (a bucket's size).
    fn capacity(&self) -> u32;
}

/// The budget to charge a request's cost to, and whose it is.
#[derive(Clone)]
pub(crate) struct Charge {
    pub(crate) budget: Arc<dyn Budget>,
    pub(crate) client: IpAddr,
}

/// Charges the rest of the operation's cost (the transport spent `PLAIN_UNITS` already); a
/// `RATE_LIMITED` error when the budget is empty, or when the operation costs more than a whole
/// budget holds.
pub(crate) async fn charge(
    charge: &Charge,
    document: &ExecutableDocument,
    operation_name: Option<&str>,
    variables: &Variables,
) -> Result<(), ServerError> {
    let Some(operation) = operation(document, operation_name) else { return Ok(()) };
    let cost = Cost { document, variables }.selection_set(&operation.selection_set.node, 0);
    let rest = cost.saturating_sub(PLAIN_UNITS);
    if rest == 0 {
        return Ok(());
    }
    let capacity = charge.budget.capacity();
    if cost > capacity {
        return Err(refusal(
            format!(
                "this request costs {cost} units of a budget of {capacity} (a search costs {SEARCH_UNITS}): split it"
            ),
            None,
        ));
    }
    charge
        .budget
        .spend(charge.client, rest)
        .await
        .map_err(|retry_after| refusal(format!("this request costs {cost} units; slow down"), Some(retry_after)))
}

/// The units of the operation's cost beyond the `PLAIN_UNITS` the transport spends (what `charge`
/// spends when the budget allows), for a request answered again without its document being read;
/// 0 when the document does not tell which operation runs.
pub(crate) fn units_beyond_plain(
    document: &ExecutableDocument,
    operation_name: Option<&str>,
    variables: &Variables,
) -> u32 {
    let Some(operation) = operation(document, operation_name) else { return 0 };
    Cost { document, variables }.selection_set(&operation.selection_set.node, 0).saturating_sub(PLAIN_UNITS)
}

fn refusal(message: String, retry_after: Option<u64>) -> ServerError {
    let mut error = ServerError::new(message, None);
    let extensions = error.extensions.get_or_insert_with(Default::default);
    extensions.set("code", code::RATE_LIMITED);
    if let Some(seconds) = retry_after {
        extensions.set("retryAfter", Value::from(seconds));
    }
    error
}

fn operation<'a>(document: &'a ExecutableDocument, name: Option<&str>) -> Option<&'a OperationDefinition> {
    match (&document.operations, name) {
        (DocumentOperations::Single(operation), _) => Some(&operation.node),
        (DocumentOperations::Multiple(operations), Some(name)) => {
            operations.get(&Name::new(name)).map(|operation| &operation.node)
        }
        (DocumentOperations::Multiple(operations), None) if operations.len() == 1 => {
            operations.values().next().map(|operation| &operation.node)
        }
        (DocumentOperations::Multiple(_), None) => None,
    }
}

/// Fragments spread deeper than this are not followed (validation refuses cycles anyway).
const MAX_FRAGMENT_DEPTH: usize = 32;

struct Cost<'a> {
    document: &'a ExecutableDocument,
    variables: &'a Variables,
}

impl Cost<'_> {
    /// The units of a selection set: at the root (`depth` 0) every field costs at least
    /// `PLAIN_UNITS`; below it only statistics, text filters and aggregates cost.
    fn selection_set(&self, set: &SelectionSet, depth: usize) -> u32 {
        let mut units = 0_u32;
        for selection in &set.items {
            let cost = match &selection.node {
                Selection::Field(field) => self.field(&field.node, depth),
                Selection::InlineFragment(fragment) => self.selection_set(&fragment.node.selection_set.node, depth),
                Selection::FragmentSpread(spread) if depth < MAX_FRAGMENT_DEPTH => self
                    .document
                    .fragments
                    .get(&spread.node.fragment_name.node)
                    .map_or(0, |fragment| self.selection_set(&fragment.node.selection_set.node, depth)),
                Selection::FragmentSpread(_) => 0,
            };
            units = units.saturating_add(cost);
        }
        units
    }

    fn field(&self, field: &Field, depth: usize) -> u32 {
        let name = field.name.node.as_str();
        let own = if depth == 0 && SEARCH_FIELDS.contains(&name) {
            SEARCH_UNITS
        } else if depth > 0 && name == "groupedAggregates" {
            GROUPED_UNITS
        } else if depth > 0 && name == "aggregate" {
            AGGREGATE_UNITS
        } else if STATISTIC_FIELDS.contains(&name) || self.filters_by_text(field) {
            HEAVY_UNITS
        } else if depth == 0 && name != "__typename" {
            PLAIN_UNITS
        } else {
            0
        };
        own.saturating_add(self.selection_set(&field.selection_set.node, depth + 1))
    }

    /// Whether the field's `filter` argument gives a `…Contains` text, or its `where` argument
    /// scans text (`where_types::scans_text`).
    fn filters_by_text(&self, field: &Field) -> bool {
        let argument = |name: &str| {
            let value = field.get_argument(name)?;
            value.node.clone().into_const_with(|name| self.variables.get(&name).cloned().ok_or(())).ok()
        };
        if argument("where").is_some_and(|given| super::where_types::scans_text(&given)) {
            return true;
        }
        match argument("filter") {
            Some(Value::Object(fields)) => {
                fields.iter().any(|(name, value)| name.as_str().ends_with("Contains") && !matches!(value, Value::Null))
            }
            _ => false,
        }
    }
}

/// The request budget (`limits::request`): a request's cost comes out of the bucket its first
/// request was taken from.
#[async_trait::async_trait]
impl Budget for RequestLimiter {
    async fn spend(&self, client: IpAddr, units: u32) -> Result<(), u64> {
        match NonZeroU32::new(units) {
            Some(units) => self.spend_units(client, units).await,
            None => Ok(()),
        }
    }

    fn capacity(&self) -> u32 {
        self.burst()
    }
}

#[cfg(test)]
mod tests {
    use async_graphql::parser::parse_query;

    use super::*;

    fn cost_of(query: &str) -> u32 {
        let document = parse_query(query).unwrap_or_else(|error| unreachable!("{error}"));
        let Some(operation) = operation(&document, None) else { unreachable!("one operation") };
        Cost { document: &document, variables: &Variables::default() }.selection_set(&operation.selection_set.node, 0)
    }

    #[test]
    fn aliases_and_fragments_pay_for_every_search() {
        assert_eq!(cost_of("{ a: search(query: \"e\") { __typename } b: search(query: \"e\") { __typename } }"), 20);
        assert_eq!(cost_of("{ ...S ...S } fragment S on Query { searchHits(query: \"e\") { rank } }"), 20);
    }

    #[test]
    fn text_filters_and_statistics_cost_more_than_lookups() {
        assert_eq!(cost_of("{ film(slug: \"x\") { title } films { totalCount } }"), 2);
        assert_eq!(cost_of("{ films(filter: { titleContains: \"a\" }) { totalCount } }"), HEAVY_UNITS);
        assert_eq!(cost_of("{ films(where: { slug: { eq: \"a\" } }) { totalCount } }"), PLAIN_UNITS);
        assert_eq!(cost_of("{ films(where: { or: [{ title: { startsWith: \"a\" } }] }) { totalCount } }"), HEAVY_UNITS);
        assert_eq!(cost_of("{ films(where: { tagline: { eq: \"a\" } }) { totalCount } }"), HEAVY_UNITS);
        assert_eq!(
            cost_of("{ films { nodes { quotes(where: { person: { bio: { isNull: true } } }) { totalCount } } } }"),
            PLAIN_UNITS + HEAVY_UNITS,
            "a nested connection's where counts too"
        );
        assert_eq!(
            cost_of("{ petitions { nodes { signaturesByCountry { count } } } campaign { totals { films } } }"),
            PLAIN_UNITS + 2 * HEAVY_UNITS
        );
    }

    #[test]
    fn grouped_aggregates_cost_as_much_as_a_search_and_an_aggregate_a_little() {
        assert_eq!(
            cost_of("{ petitions { aggregate { count } groupedAggregates(groupBy: [STATUS]) { count } } }"),
            PLAIN_UNITS + AGGREGATE_UNITS + GROUPED_UNITS
        );
        assert_eq!(
            cost_of(
                "{ films { nodes { quotes { a: groupedAggregates(groupBy: [STATUS]) { count } b: groupedAggregates(groupBy: [STATUS]) { count } } } } }"
            ),
            PLAIN_UNITS + 2 * GROUPED_UNITS
        );
    }
}
