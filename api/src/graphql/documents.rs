//! The parsed documents of recent requests, by their text, so that a document sent again (as
//! clients send the same few queries over and over) is neither measured nor parsed again, and is
//! validated again only for operation names and variables it has not yet passed with.
//!
//! What is kept is only what the text alone decides: the parsed document, which has already passed
//! the document budget (`limits`), and the validation *successes* of the library, each with the
//! operation name and variables it was run with, since the complexity of `first: $n` and the type
//! checks of variables depend on them. Refusals are never kept: a document refused once is
//! validated again each time, so it is refused the same way, with the same errors. The checks that
//! depend on the request (the NUL rule over variables, the viewer's guards) run on every request.
//!
//! The cache is bounded by entries and by text: a client sending endless distinct documents only
//! churns it. Nothing in it is shared state: losing it costs a parse.
//!
//! The cache also holds the persisted documents (`persisted`): the texts clients registered by
//! hash, and the trusted manifest, so the HTTP layer and the request pipeline share one store.

use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};

use async_graphql::parser::types::{ExecutableDocument, OperationType};
use async_graphql::{ValidationResult, Variables};
use async_graphql_value::ConstValue;
use lru::LruCache;
use prometheus_client::metrics::counter::Counter;

use super::persisted::PersistedDocuments;

/// The most documents kept.
const MAX_DOCUMENTS: usize = 512;
/// The most document text kept, in bytes (the parsed form takes several times as much).
const MAX_TEXT_BYTES: usize = 1024 * 1024;
/// The most validated (operation name, variables) pairs kept per document; the oldest goes first.
const MAX_VALIDATIONS: usize = 8;
/// The largest variables (roughly, in bytes) whose validation is kept; larger ones are validated
/// each time.
const MAX_VARIABLE_BYTES: usize = 1024;

/// A document that parsed and passed the document budget.
pub(crate) struct CachedDocument {
    /// The document as parsed; each request runs on its own copy.
    pub(crate) document: ExecutableDocument,
    /// Whether the document holds a mutation (see `read_your_writes`).
    pub(crate) has_mutation: bool,
    /// Whether its literal strings and variable defaults hold no NUL, so only the variables sent
    /// need looking at (see `input_text`).
    pub(crate) clean_literals: bool,
    validations: Mutex<Vec<Validation>>,
}

/// One validation the library passed.
struct Validation {
    operation_name: Option<String>,
    variables: Variables,
    result: ValidationResult,
}

impl Validation {
    /// Whether this validation ran with exactly this operation name and these variables.
    fn is_for(&self, operation_name: Option<&str>, variables: &Variables) -> bool {
        self.operation_name.as_deref() == operation_name && self.variables == *variables
    }
}

impl CachedDocument {
    /// Wraps a document that passed the budget.
    pub(crate) fn new(document: ExecutableDocument) -> Self {
        let has_mutation =
            document.operations.iter().any(|(_, operation)| operation.node.ty == OperationType::Mutation);
        let clean_literals = super::input_text::check(&document, &Variables::default()).is_ok();
        Self { document, has_mutation, clean_literals, validations: Mutex::new(Vec::new()) }
    }

    /// The result of a validation this document passed with exactly this operation name and
    /// these variables.
    pub(crate) fn validated(&self, operation_name: Option<&str>, variables: &Variables) -> Option<ValidationResult> {
        let validations = self.validations.lock().ok()?;
        validations
            .iter()
            .find(|validation| validation.is_for(operation_name, variables))
            .map(|validation| validation.result)
    }

    /// Keeps a validation this document passed, unless its variables are large.
    pub(crate) fn passed(&self, operation_name: Option<&str>, variables: &Variables, result: ValidationResult) {
        if variables.iter().map(|(name, value)| name.len() + weight(value)).sum::<usize>() > MAX_VARIABLE_BYTES {
            return;
        }
        let Ok(mut validations) = self.validations.lock() else { return };
        if validations.iter().any(|validation| validation.is_for(operation_name, variables)) {
            return;
        }
        if validations.len() >= MAX_VALIDATIONS {
            validations.remove(0);
        }
        validations.push(Validation {
            operation_name: operation_name.map(str::to_owned),
            variables: variables.clone(),
            result,
        });
    }
}

/// Roughly how many bytes a variable's value takes.
fn weight(value: &ConstValue) -> usize {
    match value {
        ConstValue::String(text) => text.len() + 8,
        ConstValue::Binary(bytes) => bytes.len() + 8,
        ConstValue::Enum(name) => name.len() + 8,
        ConstValue::List(items) => items.iter().map(weight).sum::<usize>() + 8,
        ConstValue::Object(fields) => fields.iter().map(|(name, value)| name.len() + weight(value)).sum::<usize>() + 8,
        ConstValue::Null | ConstValue::Number(_) | ConstValue::Boolean(_) => 8,
    }
}

/// Recent documents by their text, the least recently used dropped first.
pub(crate) struct DocumentCache {
    documents: Mutex<Documents>,
    /// The documents registered by hash, and the trusted manifest.
    pub(crate) persisted: PersistedDocuments,
    hits: Counter,
    misses: Counter,
}

struct Documents {
    by_text: LruCache<String, Arc<CachedDocument>>,
    text_bytes: usize,
}

impl DocumentCache {
    /// An empty cache counting its hits and misses on the given counters.
    #[cfg(test)]
    pub(crate) fn new(hits: Counter, misses: Counter) -> Self {
        Self::with_persisted(hits, misses, PersistedDocuments::new(None))
    }

    /// An empty cache over the given persisted documents.
    pub(crate) fn with_persisted(hits: Counter, misses: Counter, persisted: PersistedDocuments) -> Self {
        let capacity = NonZeroUsize::new(MAX_DOCUMENTS).unwrap_or(NonZeroUsize::MIN);
        let documents = Mutex::new(Documents { by_text: LruCache::new(capacity), text_bytes: 0 });
        Self { documents, persisted, hits, misses }
    }

    /// The document with this text, counted as a hit or a miss.
    pub(crate) fn get(&self, text: &str) -> Option<Arc<CachedDocument>> {
        let found = self.documents.lock().ok().and_then(|mut documents| documents.by_text.get(text).cloned());
        match found {
            Some(_) => self.hits.inc(),
            None => self.misses.inc(),
        };
        found
    }

    /// The document with this text, if kept, without counting or refreshing it (for the HTTP
    /// layer's look at the operation before the request runs).
    pub(crate) fn peek(&self, text: &str) -> Option<Arc<CachedDocument>> {
        self.documents.lock().ok().and_then(|documents| documents.by_text.peek(text).cloned())
    }

    /// Keeps a document under its text, dropping the least recently used beyond the bounds.
    pub(crate) fn insert(&self, text: &str, document: Arc<CachedDocument>) {
        if text.len() > MAX_TEXT_BYTES / 16 {
            return;
        }
        let Ok(mut documents) = self.documents.lock() else { return };
        let documents = &mut *documents;
        documents.text_bytes += text.len();
        if let Some((dropped, _)) = documents.by_text.push(text.to_owned(), document) {
            documents.text_bytes -= dropped.len();
        }
        while documents.text_bytes > MAX_TEXT_BYTES {
            let Some((dropped, _)) = documents.by_text.pop_lru() else { break };
            documents.text_bytes -= dropped.len();
        }
    }
}

#[cfg(test)]
#[expect(clippy::expect_used, reason = "a failing test should fail loudly")]
mod tests {
    use super::*;

    fn document(text: &str) -> Arc<CachedDocument> {
        Arc::new(CachedDocument::new(async_graphql::parser::parse_query(text).expect("it parses")))
    }

    #[test]
    fn documents_are_kept_within_the_text_budget() {
        let cache = DocumentCache::new(Counter::default(), Counter::default());
        let long = |i: usize| format!("{{ films {{ totalCount }} }} # {i:0>60000}");
        for i in 0..40 {
            cache.insert(&long(i), document(&long(i)));
        }
        let documents = cache.documents.lock().expect("not poisoned");
        assert!(documents.text_bytes <= MAX_TEXT_BYTES);
        assert_eq!(documents.text_bytes, documents.by_text.iter().map(|(text, _)| text.len()).sum::<usize>());
        assert!(documents.by_text.peek(&long(39)).is_some(), "the newest is kept");
        assert!(documents.by_text.peek(&long(0)).is_none(), "the oldest went");
    }

    #[test]
    fn a_validation_is_reused_only_for_the_same_name_and_variables() {
        let cached = document("query Q($n: Int) { films(first: $n) { totalCount } }");
        let variables = |n: i32| Variables::from_json(serde_json::json!({ "n": n }));
        let result = ValidationResult { cache_control: Default::default(), complexity: 3, depth: 2 };
        cached.passed(Some("Q"), &variables(5), result);
        assert!(cached.validated(Some("Q"), &variables(5)).is_some());
        assert!(cached.validated(None, &variables(5)).is_none());
        assert!(cached.validated(Some("Q"), &variables(500)).is_none());
        for n in 0..20 {
            cached.passed(Some("Q"), &variables(n), result);
        }
        assert!(cached.validated(Some("Q"), &variables(19)).is_some());
        assert!(cached.validated(Some("Q"), &variables(5)).is_none(), "at most a few are kept, the oldest dropped");
    }
}
