//! Persisted and trusted documents.
//!
//! Automatic persisted queries (Apollo's protocol): a request may carry
//! `extensions.persistedQuery = {version: 1, sha256Hash}`. With no `query`, the document kept
//! under that hash runs, or the request is answered `PERSISTED_QUERY_NOT_FOUND` (message
//! `PersistedQueryNotFound`, which Apollo clients look for) and the client sends it again with its
//! text; with a `query`, the hash must be the SHA-256 of the text (`PERSISTED_QUERY_HASH_MISMATCH`
//! otherwise), and the text is kept under it. The kept documents are bounded like the parsed ones
//! (`documents`) and belong to this process: behind a load balancer another process may miss, and
//! the client then simply sends the text once more, as the protocol intends.
//!
//! Trusted documents: with a manifest (`FANDB_TRUSTED_DOCUMENTS`, graphql-codegen's
//! `persisted-documents.json`: an object mapping each document's SHA-256, optionally prefixed
//! `sha256:`, to its text; start-up fails on any other key), only the
//! manifest's documents run for anyone but an admin (`PERSISTED_QUERY_NOT_ALLOWED` otherwise). A
//! manifest document may be sent by its hash alone or by its text. Clients do not register
//! documents then: the manifest is the whole list.
//!
//! The HTTP layer resolves a request's hash and refuses an untrusted document before it parses
//! anything (a GET must be a query); the request pipeline resolves any hash left (a WebSocket's)
//! and refuses untrusted documents before it parses or caches them, over HTTP and WebSocket alike,
//! so an untrusted text is never parsed nor kept for a viewer it may not run for.

use std::collections::{HashMap, HashSet};
use std::num::NonZeroUsize;
use std::path::Path;
use std::sync::{Arc, Mutex};

use async_graphql::{Request, ServerError};
use lru::LruCache;
use sha2::{Digest, Sha256};

use super::codes::persisted as code;
use crate::domain::Viewer;

/// The name of the request extension.
const EXTENSION: &str = "persistedQuery";
/// The prefix graphql-codegen gives a SHA-256 key in its manifest.
const SHA256_PREFIX: &str = "sha256:";
/// The most registered documents kept.
const MAX_REGISTERED: usize = 1024;
/// The most registered text kept, in bytes.
const MAX_REGISTERED_BYTES: usize = 2 * 1024 * 1024;

/// Why a request's persisted query cannot be used.
#[derive(Debug)]
pub(crate) enum Unresolved {
    /// The extension is not `{version: 1, sha256Hash: "<64 hex digits>"}`: a malformed request.
    Malformed(&'static str),
    /// A GraphQL error to answer with (a miss, or a hash that is not the text's).
    Refused(ServerError),
}

/// The trusted documents of a manifest.
#[derive(Debug, Default)]
pub(crate) struct Manifest {
    /// Each document by its hash (graphql-codegen's `sha256:` prefix dropped).
    by_hash: HashMap<String, Arc<str>>,
    /// The documents' texts, to trust a document sent in full.
    texts: HashSet<Arc<str>>,
}

impl Manifest {
    /// Reads and checks a manifest file: a JSON object of hash → document, each of which parses
    /// and is keyed by its SHA-256.
    pub(crate) fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|error| format!("cannot read it: {error}"))?;
        Self::parse(&text)
    }

    /// Checks a manifest's text.
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let entries: serde_json::Map<String, serde_json::Value> = serde_json::from_str(text).map_err(|error| {
            format!("not a JSON object of hash → document (graphql-codegen's persisted-documents.json): {error}")
        })?;
        if entries.is_empty() {
            return Err("it holds no documents".to_owned());
        }
        let mut manifest = Self::default();
        for (hash, document) in entries {
            let serde_json::Value::String(document) = document else {
                return Err(format!("the document under `{hash}` is not a string"));
            };
            if let Err(error) = async_graphql::parser::parse_query(&document) {
                return Err(format!("the document under `{hash}` does not parse: {error}"));
            }
            // A key that is not the document's SHA-256 (graphql-codegen's default sha1, a
            // hand-edited document) would load and then make every request by hash miss.
            let key = hash.strip_prefix(SHA256_PREFIX).unwrap_or(&hash).to_ascii_lowercase();
            if key.len() != 64 || !key.bytes().all(|byte| byte.is_ascii_hexdigit()) {
                return Err(format!(
                    "the key `{hash}` is not a SHA-256 (64 hex digits, optionally prefixed `sha256:`); \
                     generate the manifest with graphql-codegen's `hashAlgorithm: \"sha256\"`"
                ));
            }
            if sha256_hex(&document) != key {
                return Err(format!(
                    "the key `{hash}` is not the SHA-256 of its document (which is {}); regenerate the manifest",
                    sha256_hex(&document)
                ));
            }
            let hash = key;
            let document: Arc<str> = document.into();
            manifest.texts.insert(document.clone());
            manifest.by_hash.insert(hash, document);
        }
        Ok(manifest)
    }

    /// How many documents it holds.
    pub(crate) fn len(&self) -> usize {
        self.by_hash.len()
    }

    /// The names of its documents' operations: the only ones `/metrics` labels (see `metrics`).
    pub(crate) fn operation_names(&self) -> HashSet<String> {
        self.by_hash
            .values()
            .filter_map(|document| async_graphql::parser::parse_query(document.as_ref()).ok())
            .flat_map(|document| {
                document.operations.iter().filter_map(|(name, _)| name.map(|name| name.to_string())).collect::<Vec<_>>()
            })
            .collect()
    }
}

/// The persisted documents of this process: those clients registered, and the trusted manifest.
pub(crate) struct PersistedDocuments {
    registered: Mutex<Registered>,
    trusted: Option<Manifest>,
}

struct Registered {
    by_hash: LruCache<String, Arc<str>>,
    text_bytes: usize,
}

impl PersistedDocuments {
    /// An empty store; with a manifest, only its documents run for anyone but admins.
    pub(crate) fn new(trusted: Option<Manifest>) -> Self {
        let capacity = NonZeroUsize::new(MAX_REGISTERED).unwrap_or(NonZeroUsize::MIN);
        Self { registered: Mutex::new(Registered { by_hash: LruCache::new(capacity), text_bytes: 0 }), trusted }
    }

    /// Takes the request's `persistedQuery` extension, if any: fills in the text of a hash sent
    /// alone, or checks and keeps the text sent with it.
    pub(crate) fn resolve(&self, request: &mut Request) -> Result<(), Unresolved> {
        let Some(extension) = request.extensions.remove(EXTENSION) else {
            return Ok(());
        };
        let hash = requested_hash(extension)?;
        if request.query.is_empty() {
            let text = self.lookup(&hash).ok_or_else(|| Unresolved::Refused(not_found()))?;
            request.query = text.to_string();
            return Ok(());
        }
        if sha256_hex(&request.query) != hash {
            return Err(Unresolved::Refused(refusal(
                code::PERSISTED_QUERY_HASH_MISMATCH,
                "the persisted query's sha256Hash is not the SHA-256 of the query sent with it",
            )));
        }
        if self.trusted.is_none() {
            self.register(hash, &request.query);
        }
        Ok(())
    }

    /// Whether a document may run for a viewer who is not an admin.
    pub(crate) fn is_trusted(&self, text: &str) -> bool {
        self.trusted.as_ref().is_none_or(|manifest| manifest.texts.contains(text))
    }

    /// Whether a manifest is loaded and holds this document (unlike `is_trusted`, false when
    /// there is no manifest).
    pub(crate) fn in_manifest(&self, text: &str) -> bool {
        self.trusted.as_ref().is_some_and(|manifest| manifest.texts.contains(text))
    }

    /// Whether a document may run for this viewer: any for an admin, else a trusted one. Asked
    /// before the document is parsed or cached, so a refused text costs a set look-up and no more.
    pub(crate) fn may_run(&self, text: &str, viewer: Viewer) -> bool {
        viewer.is_admin() || self.is_trusted(text)
    }

    /// The refusal of a document outside the manifest.
    pub(crate) fn not_allowed() -> ServerError {
        refusal(
            code::PERSISTED_QUERY_NOT_ALLOWED,
            "only the trusted documents of this API's clients run here; send one of them (by its hash or its text)",
        )
    }

    fn lookup(&self, hash: &str) -> Option<Arc<str>> {
        if let Some(trusted) = &self.trusted {
            return trusted.by_hash.get(hash).cloned();
        }
        self.registered.lock().ok()?.by_hash.get(hash).cloned()
    }

    fn register(&self, hash: String, text: &str) {
        if text.len() > MAX_REGISTERED_BYTES / 16 {
            return;
        }
        let Ok(mut registered) = self.registered.lock() else { return };
        let registered = &mut *registered;
        if registered.by_hash.get(&hash).is_some() {
            return;
        }
        registered.text_bytes += text.len();
        if let Some((_, dropped)) = registered.by_hash.push(hash, text.into()) {
            registered.text_bytes -= dropped.len();
        }
        while registered.text_bytes > MAX_REGISTERED_BYTES {
            let Some((_, dropped)) = registered.by_hash.pop_lru() else { break };
            registered.text_bytes -= dropped.len();
        }
    }
}

/// The hash a `persistedQuery` extension names, lower-case.
fn requested_hash(extension: async_graphql::Value) -> Result<String, Unresolved> {
    let malformed = Unresolved::Malformed(
        "`extensions.persistedQuery` must be {\"version\": 1, \"sha256Hash\": \"<64 hex digits>\"}",
    );
    let async_graphql::Value::Object(fields) = extension else {
        return Err(malformed);
    };
    let version_one = matches!(fields.get("version"), Some(async_graphql::Value::Number(n)) if n.as_u64() == Some(1));
    let hash = match fields.get("sha256Hash") {
        Some(async_graphql::Value::String(hash))
            if hash.len() == 64 && hash.bytes().all(|byte| byte.is_ascii_hexdigit()) =>
        {
            hash.to_ascii_lowercase()
        }
        _ => return Err(malformed),
    };
    if !version_one {
        return Err(Unresolved::Malformed("only version 1 of `extensions.persistedQuery` is supported"));
    }
    Ok(hash)
}

/// The SHA-256 of some bytes, in lower-case hex.
pub fn sha256_hex(bytes: impl AsRef<[u8]>) -> String {
    use std::fmt::Write;
    Sha256::digest(bytes.as_ref()).iter().fold(String::with_capacity(64), |mut hex, byte| {
        let _ = write!(hex, "{byte:02x}");
        hex
    })
}

/// The answer to a hash nobody registered: the message and code Apollo clients look for.
fn not_found() -> ServerError {
    refusal(code::PERSISTED_QUERY_NOT_FOUND, "PersistedQueryNotFound")
}

fn refusal(value: &str, message: &str) -> ServerError {
    let mut error = ServerError::new(message, None);
    error.extensions.get_or_insert_with(Default::default).set("code", value);
    error
}

#[cfg(test)]
#[expect(clippy::expect_used, reason = "a failing test should fail loudly")]
mod tests {
    use super::*;

    fn with_hash(query: &str, hash: &str) -> Request {
        let mut request = Request::new(query);
        let extension = serde_json::json!({ "version": 1, "sha256Hash": hash });
        request.extensions.insert(EXTENSION.to_owned(), async_graphql::Value::from_json(extension).expect("json"));
        request
    }

    #[test]
    fn a_registered_text_is_found_by_its_hash() {
        let store = PersistedDocuments::new(None);
        let query = "{ films { totalCount } }";
        let hash = sha256_hex(query);
        assert!(matches!(store.resolve(&mut with_hash("", &hash)), Err(Unresolved::Refused(_))));
        store.resolve(&mut with_hash(query, &hash)).expect("registers");
        let mut request = with_hash("", &hash);
        store.resolve(&mut request).expect("found");
        assert_eq!(request.query, query);
        assert!(matches!(store.resolve(&mut with_hash("{ x }", &hash)), Err(Unresolved::Refused(_))));
    }

    #[test]
    fn registered_text_stays_within_its_budget() {
        let store = PersistedDocuments::new(None);
        for i in 0..200 {
            let query = format!("{{ films {{ totalCount }} }} # {i} {}", "x".repeat(100_000));
            store.resolve(&mut with_hash(&query, &sha256_hex(&query))).expect("registers");
        }
        let registered = store.registered.lock().expect("not poisoned");
        assert!(registered.text_bytes <= MAX_REGISTERED_BYTES);
        assert_eq!(registered.text_bytes, registered.by_hash.iter().map(|(_, text)| text.len()).sum::<usize>());
    }

    #[test]
    fn a_manifest_must_be_an_object_of_parsing_documents() {
        assert!(Manifest::parse("[]").is_err());
        assert!(Manifest::parse("{}").is_err());
        assert!(Manifest::parse(r#"{"sha256:ab": 3}"#).is_err());
        assert!(Manifest::parse(r#"{"sha256:ab": "query {"}"#).is_err());
        let document = "{ films { totalCount } }";
        let hash = sha256_hex(document);
        let manifest_of = |key: &str| Manifest::parse(&serde_json::json!({ key: document }).to_string());
        let manifest = manifest_of(&format!("sha256:{}", hash.to_uppercase())).expect("parses");
        assert!(manifest.by_hash.contains_key(&hash));
        manifest_of(&hash).expect("the prefix is optional");
    }

    #[test]
    fn a_manifest_key_must_be_its_documents_sha256() {
        let document = "{ films { totalCount } }";
        let manifest_of = |key: &str| Manifest::parse(&serde_json::json!({ key: document }).to_string());
        let short = manifest_of("sha256:ab").expect_err("too short");
        assert!(short.contains("`sha256:ab`") && short.contains("64 hex digits"), "{short}");
        // graphql-codegen's default: sha1, 40 hex digits.
        assert!(manifest_of("0123456789abcdef0123456789abcdef01234567").is_err());
        assert!(manifest_of(&"g".repeat(64)).is_err());
        let other = sha256_hex("{ films { nodes { title } } }");
        let wrong = manifest_of(&other).expect_err("another document's hash");
        assert!(wrong.contains(&other) && wrong.contains("not the SHA-256 of its document"), "{wrong}");
    }
}
