//! Counter subscriptions served without the schema's executor. A plain `petitionSignatureCount` or
//! `eventRsvpCount` subscription (one root field, leaf fields only, no directives or fragments) is
//! what thousands of fans keep open during the hashtag hour; run by async-graphql, each one keeps
//! its own execution state and resolves and serialises every count again. Here a subscriber is an
//! id and a version, and each count is encoded once per distinct selection (a [`Feed`]) and shared
//! by every subscriber of it.
//!
//! Only documents whose answer is certain are taken: a document this module does not recognise,
//! or whose first read fails, goes to the schema, which answers it (and any error) as before. The
//! messages are byte for byte those the schema sends for the same document.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::atomic::AtomicI64;
use std::sync::{Arc, Mutex, PoisonError, Weak};

use async_graphql::parser::types::{
    BaseType, DocumentOperations, ExecutableDocument, OperationDefinition, OperationType, Selection,
};
use async_graphql::{Request, Value as ConstValue};
use async_graphql_value::Value;
use prometheus_client::metrics::gauge::Gauge;
use sea_orm::DatabaseConnection;
use tokio::sync::broadcast::Receiver;

use super::cost::{self, Charge};
use super::documents::DocumentCache;
use super::ids::{NodeType, decode_as, global_id_text};
use crate::domain::notify::{Change, Counter, Notifier, Watching};
use crate::domain::{Viewer, events, petitions};

/// What a leaf of the selection reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Leaf {
    /// `petitionId` / `eventId`: the record's global ID.
    Id,
    /// `signatureCount` / `rsvpCount`: the count.
    Count,
    /// `goal` / `capacity`: fixed when the subscription starts, as the schema's resolver fixes it.
    Fixed,
    /// `__typename`.
    Typename,
}

/// A counter field of the subscription root, and the names its selection may use.
struct CounterField {
    root: &'static str,
    argument: &'static str,
    node_type: NodeType,
    counter: Counter,
    object: &'static str,
    id: &'static str,
    count: &'static str,
    fixed: &'static str,
}

const COUNTER_FIELDS: [CounterField; 2] = [
    CounterField {
        root: "petitionSignatureCount",
        argument: "petitionId",
        node_type: NodeType::Petition,
        counter: Counter::Petition,
        object: "PetitionCount",
        id: "petitionId",
        count: "signatureCount",
        fixed: "goal",
    },
    CounterField {
        root: "eventRsvpCount",
        argument: "eventId",
        node_type: NodeType::Event,
        counter: Counter::Event,
        object: "EventCount",
        id: "eventId",
        count: "rsvpCount",
        fixed: "capacity",
    },
];

impl CounterField {
    fn leaf(&self, name: &str) -> Option<Leaf> {
        match name {
            "__typename" => Some(Leaf::Typename),
            _ if name == self.id => Some(Leaf::Id),
            _ if name == self.count => Some(Leaf::Count),
            _ if name == self.fixed => Some(Leaf::Fixed),
            _ => None,
        }
    }
}

/// A recognised counter subscription: which field, on which record (its global ID, undecoded),
/// and the response keys it selects, in order.
struct Recognised {
    field: &'static CounterField,
    record: String,
    root_key: String,
    leaves: Vec<(String, Leaf)>,
}

/// The operation `operation_name` picks, when the document holds exactly that one.
fn only_operation<'a>(
    document: &'a ExecutableDocument,
    operation_name: Option<&str>,
) -> Option<&'a OperationDefinition> {
    match (&document.operations, operation_name) {
        (DocumentOperations::Single(operation), None) => Some(&operation.node),
        (DocumentOperations::Multiple(operations), _) if operations.len() == 1 => {
            let (name, operation) = operations.iter().next()?;
            operation_name.is_none_or(|wanted| wanted == name.as_str()).then_some(&operation.node)
        }
        _ => None,
    }
}

/// Recognises a plain counter subscription: anything else (fragments, directives, several
/// operations, an argument that is not a string, a variable not declared `ID!`, a repeated response
/// key) is `None`, and the schema runs it.
fn recognise(
    document: &ExecutableDocument,
    operation_name: Option<&str>,
    variables: &async_graphql::Variables,
) -> Option<Recognised> {
    if !document.fragments.is_empty() {
        return None;
    }
    let operation = only_operation(document, operation_name)?;
    if operation.ty != OperationType::Subscription || !operation.directives.is_empty() {
        return None;
    }
    let [root] = operation.selection_set.node.items.as_slice() else { return None };
    let Selection::Field(root) = &root.node else { return None };
    let root = &root.node;
    let field = COUNTER_FIELDS.iter().find(|field| field.root == root.name.node.as_str())?;
    if !root.directives.is_empty() {
        return None;
    }
    let [(argument, value)] = root.arguments.as_slice() else { return None };
    if argument.node.as_str() != field.argument {
        return None;
    }
    let record = match (&value.node, operation.variable_definitions.as_slice()) {
        (Value::String(record), []) => record.clone(),
        (Value::Variable(used), [declared]) => {
            let declared = &declared.node;
            let id_non_null = !declared.var_type.node.nullable
                && matches!(&declared.var_type.node.base, BaseType::Named(name) if name.as_str() == "ID");
            if declared.name.node != *used
                || !id_non_null
                || declared.default_value.is_some()
                || !declared.directives.is_empty()
            {
                return None;
            }
            match variables.get(used)? {
                ConstValue::String(record) => record.clone(),
                _ => return None,
            }
        }
        _ => return None,
    };
    let mut leaves: Vec<(String, Leaf)> = Vec::new();
    for selection in &root.selection_set.node.items {
        let Selection::Field(leaf) = &selection.node else { return None };
        let leaf = &leaf.node;
        if !leaf.arguments.is_empty() || !leaf.directives.is_empty() || !leaf.selection_set.node.items.is_empty() {
            return None;
        }
        let key = leaf.alias.as_ref().unwrap_or(&leaf.name).node.to_string();
        if leaves.iter().any(|(taken, _)| *taken == key) {
            return None;
        }
        leaves.push((key, field.leaf(leaf.name.node.as_str())?));
    }
    if leaves.is_empty() {
        return None;
    }
    let root_key = root.alias.as_ref().unwrap_or(&root.name).node.to_string();
    Some(Recognised { field, record, root_key, leaves })
}

fn non_negative(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

/// What makes two subscribers' payloads the same bytes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct FeedKey {
    counter: Counter,
    id: i64,
    root_key: String,
    leaves: Vec<(String, Leaf)>,
    /// The fixed field's value as the first read found it, as JSON.
    fixed: String,
}

/// One distinct selection of one counter: every subscriber of it gets the same payload for a
/// count, encoded once.
struct Feed {
    key: FeedKey,
    object: &'static str,
    /// The latest count encoded, by version.
    latest: Mutex<Option<(i64, Arc<str>)>>,
    feeds: Weak<LiveCounts>,
}

impl Feed {
    /// The `payload` of a `next` message for `count` at `version`.
    fn payload(&self, count: i64, version: i64) -> Arc<str> {
        let mut latest = self.latest.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((encoded, payload)) = &*latest
            && *encoded == version
        {
            return payload.clone();
        }
        let payload: Arc<str> = self.encode(count).into();
        if latest.as_ref().is_none_or(|(encoded, _)| *encoded < version) {
            *latest = Some((version, payload.clone()));
        }
        payload
    }

    /// `{"data":{root:{leaf:value,…}}}`, as the schema's executor writes it.
    fn encode(&self, count: i64) -> String {
        let key = &self.key;
        let mut out = String::with_capacity(64 + key.leaves.len() * 32);
        out.push_str(r#"{"data":{"#);
        push_json_string(&mut out, &key.root_key);
        out.push_str(":{");
        for (index, (name, leaf)) in key.leaves.iter().enumerate() {
            if index > 0 {
                out.push(',');
            }
            push_json_string(&mut out, name);
            out.push(':');
            match leaf {
                Leaf::Id => {
                    let node_type = if key.counter == Counter::Event { "Event" } else { "Petition" };
                    push_json_string(&mut out, &global_id_text(node_type, key.id));
                }
                Leaf::Count => {
                    let _ = write!(out, "{}", non_negative(count));
                }
                Leaf::Fixed => out.push_str(&key.fixed),
                Leaf::Typename => push_json_string(&mut out, self.object),
            }
        }
        out.push_str("}}}");
        out
    }
}

impl Drop for Feed {
    fn drop(&mut self) {
        if let Some(feeds) = self.feeds.upgrade() {
            let mut by_key = feeds.feeds.lock().unwrap_or_else(PoisonError::into_inner);
            if by_key.get(&self.key).is_some_and(|feed| feed.strong_count() == 0) {
                by_key.remove(&self.key);
            }
        }
    }
}

fn push_json_string(out: &mut String, text: &str) {
    // A string always serialises.
    out.push_str(&serde_json::to_string(text).unwrap_or_default());
}

/// A counter subscription served by [`LiveCounts`]: its feed, the version last sent, and its
/// claim on the counter (so re-reads after lost notices include it).
pub(crate) struct LiveCount {
    feed: Arc<Feed>,
    version: i64,
    _watching: Watching,
    served: ServedGauge,
}

/// The gauge of subscriptions served here (`fandb_live_counts_served`).
pub(crate) type ServedGauge = Gauge<i64, AtomicI64>;

impl Drop for LiveCount {
    fn drop(&mut self) {
        self.served.dec();
    }
}

impl LiveCount {
    /// The payload to send for `change`, when it carries a newer value of this count.
    pub(crate) fn next(&mut self, change: &Change) -> Option<Arc<str>> {
        let notice = change.value_of(self.feed.key.counter, self.feed.key.id)?;
        if notice.version <= self.version {
            return None;
        }
        self.version = notice.version;
        Some(self.feed.payload(notice.count, notice.version))
    }
}

/// The process's counter subscriptions outside the executor, and their shared feeds.
pub(crate) struct LiveCounts {
    documents: Arc<DocumentCache>,
    db: DatabaseConnection,
    notifier: Arc<Notifier>,
    feeds: Mutex<HashMap<FeedKey, Weak<Feed>>>,
    served: ServedGauge,
}

impl LiveCounts {
    /// Serves counter subscriptions from `db`'s counts and `notifier`'s notices; documents are
    /// taken from `documents` only once the schema has parsed and kept them.
    pub(crate) fn new(
        documents: Arc<DocumentCache>,
        db: DatabaseConnection,
        notifier: Arc<Notifier>,
        served: ServedGauge,
    ) -> Arc<Self> {
        Arc::new(Self { documents, db, notifier, feeds: Mutex::new(HashMap::new()), served })
    }

    /// Receives every change from now on: a socket serving counters takes one before its first
    /// read, and it serves all of them.
    pub(crate) fn changes(&self) -> Receiver<Change> {
        self.notifier.subscribe()
    }

    /// Asks for every watched counter to be read afresh (after a receiver lagged); the values
    /// arrive as a change.
    pub(crate) async fn reread(&self) -> Result<(), crate::domain::DomainError> {
        self.notifier.reread(&self.db).await
    }

    /// Starts `request` as a counter subscription served here, with the payload of its first
    /// `next`; `None` when the schema must run it (not a plain counter subscription, a document
    /// the schema has not parsed yet, one that may not run for anyone, a bad ID, a record that is
    /// not there, a budget spent, a read that failed). `changes` must have been taken before.
    pub(crate) async fn start(
        self: &Arc<Self>,
        mut request: Request,
        charge: Option<&Charge>,
    ) -> Option<(LiveCount, Arc<str>)> {
        self.documents.persisted.resolve(&mut request).ok()?;
        if !self.documents.persisted.may_run(&request.query, Viewer::anonymous()) {
            return None;
        }
        let document = self.documents.peek(&request.query)?;
        let operation_name = request.operation_name.as_deref();
        let recognised = recognise(&document.document, operation_name, &request.variables)?;
        let field = recognised.field;
        let id = decode_as(&recognised.record, field.node_type, field.argument).ok()?;
        if let Some(charge) = charge {
            cost::charge(charge, &document.document, operation_name, &request.variables).await.ok()?;
        }
        let watching = self.notifier.watch(field.counter, id);
        let (fixed, count, version) = match field.counter {
            Counter::Event => {
                let (event, count, version) = events::counter(&self.db, id).await.ok()?;
                let capacity = event.capacity.map_or_else(|| "null".to_owned(), |capacity| capacity.to_string());
                (capacity, count, version)
            }
            _ => {
                let (petition, count, version) = petitions::counter(&self.db, id).await.ok()?;
                (non_negative(petition.goal).to_string(), count, version)
            }
        };
        let key =
            FeedKey { counter: field.counter, id, root_key: recognised.root_key, leaves: recognised.leaves, fixed };
        let feed = self.feed(key, field.object);
        let first = feed.payload(count, version);
        self.served.inc();
        Some((LiveCount { feed, version, _watching: watching, served: self.served.clone() }, first))
    }

    fn feed(self: &Arc<Self>, key: FeedKey, object: &'static str) -> Arc<Feed> {
        let mut feeds = self.feeds.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(feed) = feeds.get(&key).and_then(Weak::upgrade) {
            return feed;
        }
        let feed = Arc::new(Feed { key: key.clone(), object, latest: Mutex::new(None), feeds: Arc::downgrade(self) });
        feeds.insert(key, Arc::downgrade(&feed));
        feed
    }
}

#[cfg(test)]
#[expect(clippy::expect_used, reason = "a failing test should fail loudly")]
mod tests {
    use super::*;

    fn recognised(query: &str, variables: serde_json::Value) -> Option<Recognised> {
        let document = async_graphql::parser::parse_query(query).ok()?;
        let variables = async_graphql::Variables::from_json(variables);
        recognise(&document, None, &variables)
    }

    #[test]
    fn a_plain_counter_subscription_is_recognised_with_its_keys_in_order() {
        let found = recognised(
            "subscription($p: ID!) { live: petitionSignatureCount(petitionId: $p) { n: signatureCount __typename petitionId goal } }",
            serde_json::json!({ "p": "UGV0aXRpb246MQ==" }),
        )
        .expect("a plain counter subscription");
        assert_eq!(found.root_key, "live");
        assert_eq!(found.record, "UGV0aXRpb246MQ==");
        let keys: Vec<_> = found.leaves.iter().map(|(key, leaf)| (key.as_str(), *leaf)).collect();
        assert_eq!(
            keys,
            [("n", Leaf::Count), ("__typename", Leaf::Typename), ("petitionId", Leaf::Id), ("goal", Leaf::Fixed)]
        );
    }

    #[test]
    fn anything_but_a_plain_counter_subscription_is_left_to_the_schema() {
        let p = serde_json::json!({ "p": "UGV0aXRpb246MQ==" });
        for query in [
            "subscription($p: ID!) { petitionSignatureCount(petitionId: $p) { signatureCount @include(if: true) } }",
            "subscription($p: ID!) { petitionSignatureCount(petitionId: $p) @skip(if: false) { signatureCount } }",
            "subscription($p: ID!) { petitionSignatureCount(petitionId: $p) { ...F } } fragment F on PetitionCount { goal }",
            "subscription($p: ID!) { petitionSignatureCount(petitionId: $p) { ... on PetitionCount { goal } } }",
            "subscription($p: ID) { petitionSignatureCount(petitionId: $p) { goal } }",
            "subscription($p: ID! = \"x\") { petitionSignatureCount(petitionId: $p) { goal } }",
            "subscription($p: ID!, $q: Int) { petitionSignatureCount(petitionId: $p) { goal } }",
            "subscription($p: ID!) { petitionSignatureCount(petitionId: $p) { goal goal } }",
            "subscription($p: ID!) { petitionSignatureCount(petitionId: $p) { goal rsvpCount } }",
            "subscription($p: ID!) { eventRsvpCount(eventId: $p) { goal } }",
            "subscription { petitionSignatureCount(petitionId: 1) { goal } }",
            "subscription($p: ID!) { petitionUpdates(petitionId: $p) { id } }",
            "query($p: ID!) { node(id: $p) { id } }",
            "subscription A($p: ID!) { petitionSignatureCount(petitionId: $p) { goal } } subscription B($p: ID!) { petitionSignatureCount(petitionId: $p) { goal } }",
        ] {
            assert!(recognised(query, p.clone()).is_none(), "{query}");
        }
        assert!(
            recognised(
                "subscription($p: ID!) { petitionSignatureCount(petitionId: $p) { goal } }",
                serde_json::json!({ "p": 1 })
            )
            .is_none()
        );
        assert!(
            recognised(
                "subscription($p: ID!) { petitionSignatureCount(petitionId: $p) { goal } }",
                serde_json::json!({})
            )
            .is_none()
        );
    }
}
