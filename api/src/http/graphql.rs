//! `/graphql` over HTTP, per the GraphQL-over-HTTP specification: POST takes only
//! `application/json` (415 otherwise), one operation per request (an array body is 400), wrong
//! parameter types are 400; GET runs queries only (a mutation is 405 with `Allow: POST`); the
//! response media type follows `Accept`, and under `application/graphql-response+json` a request
//! error (nothing executed) is 400. A body must arrive within the read deadline (408 otherwise).
//!
//! A request may name its document by hash (`extensions.persistedQuery`, see
//! `graphql::persisted`), over POST and GET alike; with a trusted-documents manifest, a document
//! outside it is refused (but for an admin) before it is parsed. A GET answer with no viewer and
//! no error may be kept by shared caches: `Cache-Control: public, max-age=N`
//! (`FANDB_CACHE_MAX_AGE`) and an `ETag` of its body, and a GET whose `If-None-Match` holds that
//! tag gets `304 Not Modified`. Every other answer is `Cache-Control: private, no-store`.

use std::collections::HashMap;
use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};
use async_graphql::Positioned;
use async_graphql::parser::types::{DocumentOperations, OperationDefinition, OperationType};
use async_graphql::{Request, Response, ServerError, Variables};
use serde::Deserialize;

use std::time::Instant;

use super::errors::{HttpError, MediaType, Refusal};
use super::response_cache::{Cached, Lookup, ResponseCache, SentBy};
use super::{AppState, MAX_BODY_BYTES, metrics};
use crate::auth::ClientIp;
use crate::code;
use crate::config::Environment;
use crate::domain::Viewer;
use crate::domain::audit::RequestId;
use crate::domain::sessions::authenticate;
use crate::graphql::cost::{self, Budget, Charge};
use crate::graphql::documents::DocumentCache;
use crate::graphql::operation::ExecutedOperation;
use crate::graphql::persisted::{PersistedDocuments, Unresolved, sha256_hex};
use crate::graphql::plan::{READ_PATH_HEADER, ReadPath, TablesRead};
use crate::graphql::request_data;
use crate::limits::document;

const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json";
/// The longest one operation may run.
const EXECUTION_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
const JSON: &str = "application/json";

/// Picks the response media type from `Accept`: the client's preference among the two GraphQL
/// JSON types; `*/*`, `application/*` and a missing header mean `application/json`.
fn negotiate(request: &HttpRequest) -> Option<MediaType> {
    let Some(accept) = request.headers().get(header::ACCEPT).and_then(|value| value.to_str().ok()) else {
        return Some(MediaType::Json);
    };
    let mut ranges: Vec<(f32, usize, MediaType)> = Vec::new();
    for (position, range) in accept.split(',').enumerate() {
        let mut parts = range.split(';');
        let essence = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
        let quality = parts
            .filter_map(|parameter| parameter.trim().strip_prefix("q="))
            .find_map(|value| value.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        if quality <= 0.0 {
            continue;
        }
        let media_type = match essence.as_str() {
            GRAPHQL_RESPONSE_JSON => MediaType::GraphqlResponseJson,
            JSON | "application/*" | "*/*" => MediaType::Json,
            _ => continue,
        };
        ranges.push((quality, position, media_type));
    }
    ranges.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    ranges.first().map(|range| range.2)
}

/// A malformed request, refused before GraphQL runs.
fn bad_request(media_type: MediaType, message: impl Into<String>) -> HttpError {
    Refusal::BadRequest(message.into()).in_media_type(media_type)
}

fn not_acceptable() -> HttpResponse {
    HttpResponse::NotAcceptable()
        .content_type("text/plain; charset=utf-8")
        .body("accepts application/graphql-response+json or application/json")
}

/// Whether the body is declared as JSON (in UTF-8, the only charset JSON has).
fn is_json_body(request: &HttpRequest) -> bool {
    let Some(content_type) = request.headers().get(header::CONTENT_TYPE).and_then(|value| value.to_str().ok()) else {
        return false;
    };
    let mut parts = content_type.split(';');
    let essence = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
    let charset_ok = parts.all(|parameter| match parameter.trim().split_once('=') {
        Some((name, value)) if name.trim().eq_ignore_ascii_case("charset") => {
            value.trim().trim_matches('"').eq_ignore_ascii_case("utf-8")
        }
        _ => true,
    });
    essence == JSON && charset_ok
}

/// The body of a request, read within the deadline (a client that trickles it is cut off with
/// 408) and at most `MAX_BODY_BYTES` long (413).
async fn read_body(
    request: &HttpRequest,
    payload: web::Payload,
    deadline: std::time::Duration,
) -> Result<web::Bytes, HttpError> {
    let too_large = || HttpError::from(Refusal::BodyTooLarge(MAX_BODY_BYTES / 1024));
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<usize>().ok());
    if declared.is_some_and(|length| length > MAX_BODY_BYTES) {
        return Err(too_large());
    }
    let reading = payload.to_bytes_limited(MAX_BODY_BYTES);
    let read = if deadline.is_zero() { Ok(reading.await) } else { tokio::time::timeout(deadline, reading).await };
    match read {
        Ok(Ok(Ok(body))) => Ok(body),
        Ok(Ok(Err(_))) => Err(Refusal::BodyUnreadable.into()),
        Ok(Err(_)) => Err(too_large()),
        Err(_) => Err(Refusal::BodyTimeout.into()),
    }
}

/// `POST /graphql`.
pub(crate) async fn post(
    state: web::Data<AppState>,
    request: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, HttpError> {
    let body = read_body(&request, payload, state.limits.request_read_timeout).await?;
    let Some(media_type) = negotiate(&request) else {
        return Ok(not_acceptable());
    };
    if !is_json_body(&request) {
        return Err(Refusal::UnsupportedMediaType.in_media_type(media_type));
    }
    if let Some(answer) = answered_as_sent(&state, &request, SentBy::Post, &body, media_type).await {
        return Ok(answer);
    }
    let value: serde_json::Value =
        serde_json::from_slice(&body).map_err(|_| bad_request(media_type, "the body is not valid JSON"))?;
    if value.is_array() {
        return Err(bad_request(media_type, "batched requests are not supported; send one operation"));
    }
    let Some(parameters) = value.as_object() else {
        return Err(bad_request(media_type, "the body must be a JSON object"));
    };
    // A persisted query's hash may stand for its text.
    let by_hash = parameters.get("extensions").and_then(|extensions| extensions.get("persistedQuery")).is_some();
    let query_ok = match parameters.get("query") {
        Some(query) => query.is_string(),
        None => by_hash,
    };
    if !query_ok {
        return Err(bad_request(media_type, "`query` must be a string"));
    }
    let nullable_of = |name: &str, check: fn(&serde_json::Value) -> bool| {
        parameters.get(name).is_none_or(|value| value.is_null() || check(value))
    };
    if !nullable_of("operationName", serde_json::Value::is_string)
        || !nullable_of("variables", serde_json::Value::is_object)
        || !nullable_of("extensions", serde_json::Value::is_object)
    {
        return Err(bad_request(media_type, "`operationName` must be a string, `variables` and `extensions` objects"));
    }
    let mut graphql_request: Request = serde_json::from_value(value)
        .map_err(|error| bad_request(media_type, format!("invalid GraphQL request: {error}")))?;
    if let Err(refused) = resolve_persisted(&state, &mut graphql_request, media_type)? {
        return Ok(refused);
    }
    let viewer = match trusted(&state, &request, &graphql_request.query, media_type).await? {
        Ok(viewer) => viewer,
        Err(refused) => return Ok(refused),
    };
    // A document sent by hash alone is answered again as sent only when the manifest trusts it:
    // a hash the automatic store forgot must be answered `PERSISTED_QUERY_NOT_FOUND`.
    let sent = (!by_hash || state.documents.persisted.in_manifest(&graphql_request.query)).then_some(body);
    execute(&state, &request, graphql_request, viewer, media_type, SentBy::Post, sent).await
}

/// Replaces a persisted query's hash with its text; a malformed extension is a bad request, and a
/// miss or a wrong hash is answered with its GraphQL error (the inner `Err`).
fn resolve_persisted(
    state: &AppState,
    request: &mut Request,
    media_type: MediaType,
) -> Result<Result<(), HttpResponse>, HttpError> {
    match state.documents.persisted.resolve(request) {
        Ok(()) => Ok(Ok(())),
        Err(Unresolved::Malformed(message)) => Err(bad_request(media_type, message)),
        Err(Unresolved::Refused(error)) => Ok(Err(refused(error, media_type)?)),
    }
}

/// With a trusted-documents manifest, refuses a document outside it (the inner `Err`) unless the
/// viewer is an admin, before anything parses it: an anonymous client cannot make the server
/// parse or keep arbitrary text. The viewer, when it had to be known for that.
async fn trusted(
    state: &AppState,
    request: &HttpRequest,
    text: &str,
    media_type: MediaType,
) -> Result<Result<Option<Viewer>, HttpResponse>, HttpError> {
    let persisted = &state.documents.persisted;
    if persisted.is_trusted(text) {
        return Ok(Ok(None));
    }
    let viewer = viewer_of(state, request, media_type).await?;
    if persisted.may_run(text, viewer) {
        return Ok(Ok(Some(viewer)));
    }
    Ok(Err(refused(PersistedDocuments::not_allowed(), media_type)?))
}

/// The answer to a request refused with a GraphQL error before it ran.
fn refused(error: ServerError, media_type: MediaType) -> Result<HttpResponse, HttpError> {
    let (status, body) = serialize(&Response::from_errors(vec![error]), media_type)?;
    Ok(HttpResponse::build(status)
        .content_type(media_type.content_type())
        .insert_header((header::CACHE_CONTROL, PRIVATE))
        .body(body))
}

/// The parameters of `GET /graphql`.
#[derive(Debug, Deserialize)]
pub(crate) struct GetParameters {
    query: Option<String>,
    #[serde(rename = "operationName")]
    operation_name: Option<String>,
    variables: Option<String>,
    extensions: Option<String>,
}

/// `GET /graphql?query=…` (or `extensions={"persistedQuery":…}`): queries only.
pub(crate) async fn get(state: web::Data<AppState>, request: HttpRequest) -> Result<HttpResponse, HttpError> {
    let Some(media_type) = negotiate(&request) else {
        return Ok(not_acceptable());
    };
    let sent = request.query_string().as_bytes();
    if let Some(answer) = answered_as_sent(&state, &request, SentBy::Get, sent, media_type).await {
        return Ok(answer);
    }
    let parameters = web::Query::<GetParameters>::from_query(request.query_string())
        .map_err(|_| bad_request(media_type, "invalid query string"))?
        .into_inner();
    let extensions =
        match parameters.extensions.as_deref().map(serde_json::from_str::<HashMap<String, async_graphql::Value>>) {
            None => HashMap::new(),
            Some(Ok(extensions)) => extensions,
            Some(Err(_)) => return Err(bad_request(media_type, "`extensions` must be a JSON object")),
        };
    // An empty `query` stands for the persisted query's hash too (`persisted::resolve`).
    let by_text = parameters.query.as_deref().is_some_and(|query| !query.is_empty());
    let query = match parameters.query {
        Some(query) => query,
        // A persisted query's hash may stand for its text.
        None if extensions.contains_key("persistedQuery") => String::new(),
        None => return Err(bad_request(media_type, "the `query` parameter is required")),
    };
    let mut graphql_request = Request::new(query);
    for (name, value) in extensions {
        graphql_request.extensions.insert(name, value);
    }
    if let Err(refused) = resolve_persisted(&state, &mut graphql_request, media_type)? {
        return Ok(refused);
    }
    let viewer = match trusted(&state, &request, &graphql_request.query, media_type).await? {
        Ok(viewer) => viewer,
        Err(refused) => return Ok(refused),
    };
    let query = &graphql_request.query;
    if document::too_deep(query) {
        return Err(Refusal::TooDeep(document::MAX_NESTING).in_media_type(media_type));
    }
    // A document sent before is not parsed again; one parsed here is handed on with the request.
    let cached = state.documents.peek(query);
    let parsed = if cached.is_some() { None } else { async_graphql::parser::parse_query(query).ok() };
    if cached.as_ref().map(|cached| &cached.document).or(parsed.as_ref()).is_some_and(|document| {
        selected_operation(&document.operations, parameters.operation_name.as_deref())
            .is_some_and(|operation| operation.node.ty != OperationType::Query)
    }) {
        return Err(Refusal::MutationOverGet.in_media_type(media_type));
    }
    let variables = match parameters.variables.as_deref().map(serde_json::from_str::<serde_json::Value>) {
        None => Variables::default(),
        Some(Ok(value @ serde_json::Value::Object(_))) => Variables::from_json(value),
        Some(Ok(serde_json::Value::Null)) => Variables::default(),
        Some(_) => return Err(bad_request(media_type, "`variables` must be a JSON object")),
    };
    let mut graphql_request = graphql_request.variables(variables);
    if let Some(parsed) = parsed {
        graphql_request.set_parsed_query(parsed);
    }
    if let Some(name) = parameters.operation_name {
        graphql_request = graphql_request.operation_name(name);
    }
    // As for `post`: by hash alone only when the manifest trusts the document.
    let sent = (by_text || state.documents.persisted.in_manifest(&graphql_request.query))
        .then(|| web::Bytes::copy_from_slice(request.query_string().as_bytes()));
    execute(&state, &request, graphql_request, viewer, media_type, SentBy::Get, sent).await
}

/// Any other method on `/graphql`.
pub(crate) async fn method_not_allowed() -> HttpResponse {
    HttpResponse::MethodNotAllowed()
        .insert_header((header::ALLOW, HeaderValue::from_static("GET, HEAD, POST")))
        .finish()
}

/// The operation a request would run, if it can be told.
fn selected_operation<'a>(
    operations: &'a DocumentOperations,
    name: Option<&str>,
) -> Option<&'a Positioned<OperationDefinition>> {
    match (operations, name) {
        (DocumentOperations::Single(operation), _) => Some(operation),
        (DocumentOperations::Multiple(operations), Some(name)) => operations.get(name),
        (DocumentOperations::Multiple(operations), None) if operations.len() == 1 => operations.values().next(),
        (DocumentOperations::Multiple(_), None) => None,
    }
}

/// Whether a request may read from the replica: its operation is a query that does not ask for
/// `me` (the viewer's own account is read where it was written). A document that does not parse
/// stays on the primary (it runs nothing anyway).
fn reads_only(documents: &DocumentCache, request: &mut Request) -> bool {
    runs_query(documents, request, |operation, document| {
        !selects_me(&operation.selection_set.node, document, &mut std::collections::HashSet::new())
    })
}

/// Whether a request's operation is a query for which `also` holds. A document that does not
/// parse, or does not tell which operation runs, is no query.
fn runs_query(
    documents: &DocumentCache,
    request: &mut Request,
    also: impl FnOnce(&OperationDefinition, &async_graphql::parser::types::ExecutableDocument) -> bool,
) -> bool {
    let name = request.operation_name.clone();
    let cached = documents.peek(&request.query);
    let document = match &cached {
        Some(cached) => &cached.document,
        None => match request.parsed_query() {
            Ok(document) => document,
            Err(_) => return false,
        },
    };
    selected_operation(&document.operations, name.as_deref())
        .is_some_and(|operation| operation.node.ty == OperationType::Query && also(&operation.node, document))
}

/// How many distinct response keys a root selection set has (through fragments); `None` when
/// a directive or a fragment the document lacks makes that uncertain. Each fragment is read once:
/// spreading it again adds no key, and a document may spread fragments exponentially often.
fn root_response_keys(
    selection_set: &async_graphql::parser::types::SelectionSet,
    document: &async_graphql::parser::types::ExecutableDocument,
) -> Option<usize> {
    use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
    use std::collections::HashSet;
    fn collect<'a>(
        selection_set: &'a SelectionSet,
        document: &'a ExecutableDocument,
        keys: &mut HashSet<&'a str>,
        read: &mut HashSet<&'a str>,
    ) -> Option<()> {
        for selection in &selection_set.items {
            match &selection.node {
                Selection::Field(field) if field.node.directives.is_empty() => {
                    keys.insert(field.node.response_key().node.as_str());
                }
                Selection::InlineFragment(fragment) if fragment.node.directives.is_empty() => {
                    collect(&fragment.node.selection_set.node, document, keys, read)?;
                }
                Selection::FragmentSpread(spread) if spread.node.directives.is_empty() => {
                    let name = spread.node.fragment_name.node.as_str();
                    if read.insert(name) {
                        let fragment = document.fragments.get(&spread.node.fragment_name.node)?;
                        collect(&fragment.node.selection_set.node, document, keys, read)?;
                    }
                }
                _ => return None,
            }
        }
        Some(())
    }
    let (mut keys, mut read) = (HashSet::new(), HashSet::new());
    collect(selection_set, document, &mut keys, &mut read)?;
    Some(keys.len())
}

/// Whether a root selection set (through fragments) selects `me`.
fn selects_me(
    selection_set: &async_graphql::parser::types::SelectionSet,
    document: &async_graphql::parser::types::ExecutableDocument,
    read: &mut std::collections::HashSet<String>,
) -> bool {
    use async_graphql::parser::types::Selection;
    // A fragment read before answered no (a yes ends the walk), so each is read once: a
    // document may spread fragments exponentially often, and cycles are refused only later.
    selection_set.items.iter().any(|selection| match &selection.node {
        Selection::Field(field) => field.node.name.node == "me",
        Selection::InlineFragment(fragment) => selects_me(&fragment.node.selection_set.node, document, read),
        Selection::FragmentSpread(spread) => {
            let name = &spread.node.fragment_name.node;
            read.insert(name.to_string())
                && document
                    .fragments
                    .get(name)
                    .is_none_or(|fragment| selects_me(&fragment.node.selection_set.node, document, read))
        }
    })
}

/// Whether nothing was executed: every error is a request error (no path) and there is no data.
fn is_request_error(response: &Response) -> bool {
    !response.errors.is_empty()
        && response.data == async_graphql::Value::Null
        && response.errors.iter().all(|error| error.path.is_empty())
}

/// The read path a request asks for: outside production, `x-fandb-read-path: resolvers` turns
/// the planner off for it (to compare both paths); anything else plans.
fn read_path(request: &HttpRequest, environment: Environment) -> ReadPath {
    let asked = request.headers().get(READ_PATH_HEADER).and_then(|value| value.to_str().ok());
    match (environment, asked) {
        (Environment::Development, Some("resolvers")) => ReadPath::Resolvers,
        _ => ReadPath::Planned,
    }
}

/// The viewer of a request, or the refusal of its credentials.
async fn viewer_of(state: &AppState, request: &HttpRequest, media_type: MediaType) -> Result<Viewer, HttpError> {
    match super::bearer(request) {
        Ok(None) => Ok(Viewer::anonymous()),
        Ok(Some(token)) => authenticate(&state.db, &state.auth, token)
            .await
            .map_err(|error| Refusal::from(error).in_media_type(media_type)),
        Err(()) => Err(Refusal::Unauthenticated.in_media_type(media_type)),
    }
}

/// The replica to run a request on, when there is one it may read from (see `reads_only`).
async fn replica_for(
    state: &AppState,
    graphql_request: &mut Request,
    viewer: Viewer,
    client_ip: ClientIp,
) -> Option<sea_orm::DatabaseConnection> {
    match &state.read_routing {
        Some(routing) if reads_only(&state.documents, graphql_request) => {
            routing.for_query(viewer.user_id, client_ip.0).await
        }
        _ => None,
    }
}

/// The kept answer to an anonymous request sent byte for byte as one answered before (see
/// `ResponseCache::lookup_sent`), its cost charged as if it ran; `None` when it must go the whole
/// way (a viewer, another read path, nothing kept, or a budget that refuses it: running it says why).
async fn answered_as_sent(
    state: &AppState,
    request: &HttpRequest,
    method: SentBy,
    sent: &[u8],
    media_type: MediaType,
) -> Option<HttpResponse> {
    let cache = state.response_cache.as_deref()?;
    if !matches!(super::bearer(request), Ok(None)) || read_path(request, state.environment) != ReadPath::Planned {
        return None;
    }
    let started = Instant::now();
    let (hit, units) = cache.lookup_sent(method, sent)?;
    if units > 0
        && let Some(client) = super::client_ip::client_ip(request)
    {
        Budget::spend(state.request_limiter.as_ref(), client, units).await.ok()?;
    }
    cache.count_hit();
    Some(answer_from_cache(state, request, hit, started, media_type, method))
}

/// Runs a request for its viewer (authenticated here unless `viewer` is already known). `sent` is
/// the request as sent (a `GET`'s query string, a `POST`'s body), when its answer may be handed
/// out again to the same bytes.
async fn execute(
    state: &AppState,
    request: &HttpRequest,
    graphql_request: Request,
    viewer: Option<Viewer>,
    media_type: MediaType,
    method: SentBy,
    sent: Option<web::Bytes>,
) -> Result<HttpResponse, HttpError> {
    if document::too_deep(&graphql_request.query) {
        return Err(Refusal::TooDeep(document::MAX_NESTING).in_media_type(media_type));
    }
    let viewer = match viewer {
        Some(viewer) => viewer,
        None => viewer_of(state, request, media_type).await?,
    };
    let client_ip = ClientIp(super::client_ip::client_ip(request));
    let operation = ExecutedOperation::default();
    let read_path = read_path(request, state.environment);
    let request_id = request.extensions().get::<RequestId>().cloned();
    let mut graphql_request = with_request_id(graphql_request.data(read_path), request_id.clone());
    // The request's cost beyond its first unit; a retry on the primary (below) is not charged again.
    if let Some(client) = client_ip.0 {
        let budget: Arc<dyn Budget> = state.request_limiter.clone();
        graphql_request = graphql_request.data(Charge { budget, client });
    }
    // An anonymous query through the planner may be answered from the response cache.
    let cache = state.response_cache.as_deref().filter(|_| viewer.user_id.is_none() && read_path == ReadPath::Planned);
    let mut root_fields = None;
    let cache_key = match cache {
        Some(_)
            if runs_query(&state.documents, &mut graphql_request, |operation, document| {
                root_fields = root_response_keys(&operation.selection_set.node, document);
                true
            }) =>
        {
            ResponseCache::key(
                &graphql_request.query,
                graphql_request.operation_name.as_deref(),
                &graphql_request.variables,
            )
        }
        _ => None,
    };
    // What the planned root fields read, kept with the answer so that only a change to those
    // tables drops it.
    let tables_read = cache_key.as_ref().map(|_| Arc::new(TablesRead::default()));
    if let Some(tables_read) = &tables_read {
        graphql_request = graphql_request.data(tables_read.clone());
    }
    // The request as sent, with the units its cost charges beyond the first, once its document is
    // known (the second time it comes).
    let sent = match (sent, cache, &cache_key) {
        (Some(sent), Some(_), Some(_)) => state.documents.peek(&graphql_request.query).map(|document| {
            let name = graphql_request.operation_name.as_deref();
            (sent, cost::units_beyond_plain(&document.document, name, &graphql_request.variables))
        }),
        _ => None,
    };
    // A request the replica answers may take a kept answer, but neither reads for others nor
    // waits for another's read: what the replica answers is not kept.
    let mut replica = None;
    let mut routed = false;
    let lead = match (cache, &cache_key) {
        (Some(cache), Some(key)) => {
            let hit = match cache.lookup_kept(key) {
                Some(hit) => Ok(Some(hit)),
                None => {
                    replica = replica_for(state, &mut graphql_request, viewer, client_ip).await;
                    routed = true;
                    if replica.is_some() {
                        cache.count_miss();
                        Ok(None)
                    } else {
                        match cache.lookup(key) {
                            Lookup::Hit(hit) => Ok(Some(hit)),
                            Lookup::Follow(follow) => {
                                // The read it waits for may itself wait for the one before.
                                let answer = follow.answer(2 * EXECUTION_TIMEOUT).await;
                                if answer.is_some() {
                                    cache.count_hit()
                                } else {
                                    cache.count_miss()
                                }
                                Ok(answer)
                            }
                            Lookup::Lead(mut lead) => {
                                lead.wait_turn(EXECUTION_TIMEOUT).await;
                                Err(lead)
                            }
                        }
                    }
                }
            };
            match hit {
                Ok(Some(hit)) => {
                    let answered = from_cache(state, request, &graphql_request, client_ip, hit, media_type, method);
                    if let Some(answer) = answered.await {
                        if let Some((sent, units)) = sent {
                            cache.remember_sent(method, sent, key, units);
                        }
                        return Ok(answer);
                    }
                    None
                }
                Ok(None) => None,
                Err(lead) => Some(lead),
            }
        }
        _ => None,
    };
    if !routed {
        replica = replica_for(state, &mut graphql_request, viewer, client_ip).await;
    }
    let started = Instant::now();
    // The replica may trail the primary: what it answers is not kept.
    let from_replica = replica.is_some();
    let executed = match (replica, &state.read_routing) {
        (Some(replica), Some(routing)) => {
            // The same request again, in case the replica fails under it.
            let mut again = Request::new(graphql_request.query.clone()).variables(graphql_request.variables.clone());
            again.operation_name.clone_from(&graphql_request.operation_name);
            again.extensions.clone_from(&graphql_request.extensions);
            let again = with_request_id(again.data(read_path), request_id);
            let request = graphql_request.data(request_data(&replica, viewer)).data(replica).data(client_ip);
            let executed = run(state, request.data(operation.clone())).await;
            if executed.as_ref().is_ok_and(|response| !response.errors.iter().any(is_unavailable)) {
                state.metrics.replica_query();
                executed
            } else {
                state.metrics.replica_fallback();
                // A query only reads, so running it again on the primary is safe; the replica is
                // skipped from now until the watcher sees it answer again.
                routing.replica_failed();
                let request = again.data(request_data(&state.db, viewer)).data(client_ip);
                run(state, request.data(operation.clone())).await
            }
        }
        _ => {
            let request = graphql_request.data(request_data(&state.db, viewer)).data(client_ip);
            run(state, request.data(operation.clone())).await
        }
    };
    let codes: Vec<&str> = match &executed {
        Ok(response) => response.errors.iter().filter_map(error_code).collect(),
        Err(_) => vec![code::SERVICE_UNAVAILABLE],
    };
    let operation_name = operation.name().filter(|name| metrics::is_graphql_name(name));
    if let Some(name) = operation_name {
        tracing::Span::current().record("operation", name);
    }
    state.metrics.operation(operation_name, started.elapsed(), &codes);
    // On a timeout the execution future is dropped, and with it any open transaction, which rolls
    // back.
    let response = executed.map_err(|_| Refusal::TimedOut.in_media_type(media_type))?;
    let (status, body) = serialize(&response, media_type)?;
    let body = web::Bytes::from(body);
    let clean = response.errors.is_empty();
    if let (Some(cache), Some(key), Some(lead)) = (cache, cache_key, lead)
        && clean
        && !from_replica
        && status == StatusCode::OK
    {
        let tables = match (&tables_read, root_fields) {
            (Some(read), Some(root_fields)) => read.tables(root_fields),
            _ => crate::domain::tables::ALL,
        };
        let digest: Arc<str> = Arc::from(sha256_hex(&body));
        let cached = Cached { body: body.clone(), digest, operation: operation_name.map(Arc::from), tables, ticket: 0 };
        if let Some((sent, units)) = sent {
            cache.remember_sent(method, sent, &key, units);
        }
        cache.store(&state.db, lead, cached).await;
    }
    let body = Body { bytes: body, digest: None };
    Ok(respond(request, method, viewer.user_id.is_none() && clean, status, body, media_type, state.cache_max_age))
}

/// An answer from the response cache, its cost charged as if it ran; `None` when it must run
/// after all (its document was forgotten, or the budget refuses it: running it says why).
async fn from_cache(
    state: &AppState,
    request: &HttpRequest,
    graphql_request: &Request,
    client_ip: ClientIp,
    hit: Cached,
    media_type: MediaType,
    method: SentBy,
) -> Option<HttpResponse> {
    let started = Instant::now();
    if let Some(client) = client_ip.0 {
        let document = state.documents.peek(&graphql_request.query)?;
        let charge = Charge { budget: state.request_limiter.clone(), client };
        let operation_name = graphql_request.operation_name.as_deref();
        cost::charge(&charge, &document.document, operation_name, &graphql_request.variables).await.ok()?;
    }
    Some(answer_from_cache(state, request, hit, started, media_type, method))
}

/// The HTTP answer of a kept answer, recorded in the operation metrics like one that ran.
fn answer_from_cache(
    state: &AppState,
    request: &HttpRequest,
    hit: Cached,
    started: Instant,
    media_type: MediaType,
    method: SentBy,
) -> HttpResponse {
    let operation_name = hit.operation.as_deref();
    if let Some(name) = operation_name {
        tracing::Span::current().record("operation", name);
    }
    state.metrics.operation(operation_name, started.elapsed(), &[]);
    let body = Body { bytes: hit.body, digest: Some(hit.digest) };
    respond(request, method, true, StatusCode::OK, body, media_type, state.cache_max_age)
}

/// An answer's body, with the SHA-256 of its bytes (hex) when already known: a kept answer's,
/// hashed once when it was kept rather than at every hit.
struct Body {
    bytes: web::Bytes,
    digest: Option<Arc<str>>,
}

/// The HTTP answer: a GET answer with no viewer and no error (`public`) may be kept by shared
/// caches, every other is private.
fn respond(
    request: &HttpRequest,
    method: SentBy,
    public: bool,
    status: StatusCode,
    body: Body,
    media_type: MediaType,
    max_age: u32,
) -> HttpResponse {
    let mut answer = HttpResponse::build(status);
    answer.content_type(media_type.content_type());
    if method == SentBy::Get && public {
        return shared(request, answer, body, media_type, max_age);
    }
    answer.insert_header((header::CACHE_CONTROL, PRIVATE)).body(body.bytes)
}

/// The `Cache-Control` of an answer no shared cache may keep.
const PRIVATE: &str = "private, no-store";

/// The status and body of a GraphQL response: under `application/graphql-response+json` a
/// request error (nothing executed) is 400, and it has no `data` at all.
fn serialize(response: &Response, media_type: MediaType) -> Result<(StatusCode, Vec<u8>), HttpError> {
    let request_error = is_request_error(response);
    let status = if media_type == MediaType::GraphqlResponseJson && request_error {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    // Serializing the response itself keeps field order.
    let body = if request_error {
        serde_json::to_vec(&RequestErrors { errors: &response.errors })
    } else {
        serde_json::to_vec(response)
    };
    let body =
        body.map_err(|error| Refusal::Internal(format!("serializing a response: {error}")).in_media_type(media_type))?;
    Ok((status, body))
}

/// An answer shared caches may keep: public for `max_age` seconds, tagged with a hash of its
/// media type and the hash of its body; `304 Not Modified` with no body when the client holds
/// that tag already.
fn shared(
    request: &HttpRequest,
    mut answer: actix_web::HttpResponseBuilder,
    body: Body,
    media_type: MediaType,
    max_age: u32,
) -> HttpResponse {
    let digest = body.digest.unwrap_or_else(|| Arc::from(sha256_hex(&body.bytes)));
    let tagged = format!("{}\0{digest}", media_type.content_type());
    let tag = format!("\"{}\"", &sha256_hex(tagged.as_bytes())[..32]);
    // The answer depends on who asks and in which media type: a cache must not hand it to a
    // request with credentials, nor in another type.
    answer
        .insert_header((header::CACHE_CONTROL, format!("public, max-age={max_age}")))
        .insert_header((header::ETAG, tag.clone()))
        .insert_header((header::VARY, "Accept, Authorization"));
    if holds_tag(request, &tag) {
        return answer.status(StatusCode::NOT_MODIFIED).finish();
    }
    answer.body(body.bytes)
}

/// Whether the request's `If-None-Match` names the tag (or is `*`); weak tags compare too.
fn holds_tag(request: &HttpRequest, tag: &str) -> bool {
    request.headers().get_all(header::IF_NONE_MATCH).filter_map(|value| value.to_str().ok()).any(|value| {
        value.split(',').map(str::trim).any(|held| held == "*" || held.strip_prefix("W/").unwrap_or(held) == tag)
    })
}

/// `request` with the HTTP request's id in its data, for the audit trail.
fn with_request_id(request: Request, id: Option<RequestId>) -> Request {
    match id {
        Some(id) => request.data(id),
        None => request,
    }
}

/// Runs one request within the execution deadline.
async fn run(state: &AppState, request: Request) -> Result<Response, tokio::time::error::Elapsed> {
    tokio::time::timeout(EXECUTION_TIMEOUT, state.schema.execute(request)).await
}

fn is_unavailable(error: &async_graphql::ServerError) -> bool {
    error_code(error) == Some(code::SERVICE_UNAVAILABLE)
}

/// The `extensions.code` of an error.
fn error_code(error: &async_graphql::ServerError) -> Option<&str> {
    match error.extensions.as_ref()?.get("code")? {
        async_graphql::Value::String(code) => Some(code.as_str()),
        _ => None,
    }
}

/// The body of a response to a request error.
#[derive(serde::Serialize)]
struct RequestErrors<'a> {
    errors: &'a [async_graphql::ServerError],
}
