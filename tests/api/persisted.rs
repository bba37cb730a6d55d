//! Persisted and trusted documents: automatic persisted queries over POST and GET, the caching
//! headers of anonymous GET answers, and the trusted-documents manifest graphql-codegen generates
//! from the campaign client's operations (clients/campaign).

use std::process::{Command, Stdio};
use std::time::Duration;

use api::config::Environment;
use api::graphql::persisted::sha256_hex;
use entity::enums::Role;
use serde_json::{Value, json};

use crate::support::TEST_JWT_SECRET;
use crate::support::TestApp;
use crate::support::app::RawResponse;
use crate::support::ws::{Event, Subscriber};

const FILMS: &str = "query FilmCount { films { totalCount } }";

db_tests!(
    a_persisted_query_is_registered_then_run_by_its_hash_over_post_and_get,
    anonymous_get_answers_are_public_with_an_etag_and_revalidate,
    a_trusted_documents_manifest_lets_only_its_documents_run_but_for_admins,
    an_untrusted_document_is_refused_before_it_is_parsed_or_cached,
    the_campaign_operations_validate_against_the_schema,
    a_malformed_trusted_documents_manifest_stops_start_up,
    only_the_manifest_s_operation_names_label_metrics,
);

/// The `/metrics` token of the production servers here (which serve `/metrics` only with one).
const METRICS_TOKEN: &str = "metrics-token-of-the-persisted-tests-0123456789";

/// The committed manifest, as CI generates it.
fn manifest_path() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("clients/campaign/persisted-documents.json")
}

/// The committed manifest's documents, by hash (without graphql-codegen's `sha256:`).
fn manifest() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(manifest_path()).expect("the committed manifest");
    let entries: serde_json::Map<String, Value> = serde_json::from_str(&text).expect("a JSON object");
    entries
        .into_iter()
        .map(|(hash, document)| {
            (hash.trim_start_matches("sha256:").to_owned(), document.as_str().expect("a string").to_owned())
        })
        .collect()
}

/// The manifest document of the operation `name`: its hash and text. Found by the operation's
/// definition, since a fragment's type condition may spell the same name (`on CampaignTotals {`).
fn manifest_document(name: &str) -> (String, String) {
    let defines = |document: &str| {
        ["query", "mutation", "subscription"].iter().any(|kind| {
            document.contains(&format!("{kind} {name}(")) || document.contains(&format!("{kind} {name} {{"))
        })
    };
    manifest()
        .into_iter()
        .find(|(_, document)| defines(document))
        .unwrap_or_else(|| panic!("no {name} in the manifest"))
}

fn persisted(hash: &str) -> Value {
    json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } })
}

/// POSTs a body to /graphql, with a bearer token when given.
async fn post(app: &TestApp, token: Option<&str>, body: Value) -> RawResponse {
    let bearer = token.map(|token| format!("Bearer {token}"));
    let mut headers = vec![("content-type", "application/json")];
    if let Some(bearer) = &bearer {
        headers.push(("authorization", bearer));
    }
    app.request("POST", "/graphql", &headers, Some(serde_json::to_vec(&body).unwrap())).await
}

/// `GET /graphql?…` with these parameters (JSON values sent as JSON text) and headers.
async fn get(app: &TestApp, parameters: &[(&str, String)], headers: &[(&str, &str)]) -> RawResponse {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in parameters {
        query.append_pair(name, value);
    }
    app.request("GET", &format!("/graphql?{}", query.finish()), headers, None).await
}

fn code_of(response: &RawResponse) -> String {
    response.json()["errors"][0]["extensions"]["code"].as_str().unwrap_or_default().to_owned()
}

async fn a_persisted_query_is_registered_then_run_by_its_hash_over_post_and_get(app: TestApp) {
    let hash = sha256_hex(FILMS);
    // A hash nobody sent before: the code and message Apollo clients look for.
    let miss = post(&app, None, json!({ "extensions": persisted(&hash) })).await;
    assert_eq!(miss.status, 200, "{}", miss.body);
    assert_eq!(code_of(&miss), "PERSISTED_QUERY_NOT_FOUND", "{}", miss.body);
    assert_eq!(miss.json()["errors"][0]["message"], "PersistedQueryNotFound");
    assert!(miss.json().get("data").is_none(), "{}", miss.body);
    let over_get = get(&app, &[("extensions", persisted(&hash).to_string())], &[]).await;
    assert_eq!(code_of(&over_get), "PERSISTED_QUERY_NOT_FOUND", "{}", over_get.body);

    // A hash that is not the query's is refused, and registers nothing.
    let wrong = sha256_hex("{ other }");
    let mismatch = post(&app, None, json!({ "query": FILMS, "extensions": persisted(&wrong) })).await;
    assert_eq!(code_of(&mismatch), "PERSISTED_QUERY_HASH_MISMATCH", "{}", mismatch.body);
    let still_missing = post(&app, None, json!({ "extensions": persisted(&wrong) })).await;
    assert_eq!(code_of(&still_missing), "PERSISTED_QUERY_NOT_FOUND", "{}", still_missing.body);

    // The text with its hash runs and registers it; then the hash alone runs it, by POST and GET.
    let expected = app.data(FILMS, json!({})).await;
    let registered = post(&app, None, json!({ "query": FILMS, "extensions": persisted(&hash) })).await;
    assert_eq!(registered.json()["data"], expected, "{}", registered.body);
    let by_hash = post(&app, None, json!({ "extensions": persisted(&hash) })).await;
    assert_eq!(by_hash.json()["data"], expected, "{}", by_hash.body);
    let upper = post(&app, None, json!({ "extensions": persisted(&hash.to_uppercase()) })).await;
    assert_eq!(upper.json()["data"], expected, "{}", upper.body);
    let by_get = get(&app, &[("extensions", persisted(&hash).to_string())], &[]).await;
    assert_eq!(by_get.status, 200, "{}", by_get.body);
    assert_eq!(by_get.json()["data"], expected, "{}", by_get.body);

    // Variables and the operation name come with the hash.
    let named = "query One($first: Int) { films(first: $first) { nodes { title } } }";
    let named_hash = sha256_hex(named);
    let variables = json!({ "first": 1 });
    post(&app, None, json!({ "query": named, "variables": variables, "extensions": persisted(&named_hash) })).await;
    let parameters = [
        ("extensions", persisted(&named_hash).to_string()),
        ("variables", variables.to_string()),
        ("operationName", "One".to_owned()),
    ];
    let one = get(&app, &parameters, &[]).await;
    assert_eq!(one.json()["data"]["films"]["nodes"].as_array().map(Vec::len), Some(1), "{}", one.body);

    // A mutation registered by hash still may not run over GET (it is refused in validation, so
    // registering it wrote nothing).
    let mutation = "mutation { createFilm(input: {}) { id } }";
    let mutation_hash = sha256_hex(mutation);
    let refused = post(&app, None, json!({ "query": mutation, "extensions": persisted(&mutation_hash) })).await;
    assert!(refused.json()["errors"].is_array(), "{}", refused.body);
    let over_get = get(&app, &[("extensions", persisted(&mutation_hash).to_string())], &[]).await;
    assert_eq!(over_get.status, 405, "{}", over_get.body);

    // A malformed extension is a bad request.
    for extension in [
        json!({ "persistedQuery": { "version": 2, "sha256Hash": hash } }),
        json!({ "persistedQuery": { "version": 1, "sha256Hash": "abc" } }),
        json!({ "persistedQuery": "yes" }),
    ] {
        let malformed = post(&app, None, json!({ "extensions": extension })).await;
        assert_eq!(malformed.status, 400, "{extension}: {}", malformed.body);
        assert_eq!(code_of(&malformed), "BAD_REQUEST", "{}", malformed.body);
    }
    // Without a hash, a query is still required.
    assert_eq!(post(&app, None, json!({ "extensions": {} })).await.status, 400);
    assert_eq!(get(&app, &[], &[]).await.status, 400);
}

async fn anonymous_get_answers_are_public_with_an_etag_and_revalidate(app: TestApp) {
    let default = get(&app, &[("query", FILMS.to_owned())], &[]).await;
    assert_eq!(default.header("cache-control"), "public, max-age=0", "0 seconds unless configured");

    let cached = app.respawn(|settings| settings.cache_max_age = 60).await;
    let hash = sha256_hex(FILMS);
    post(&cached, None, json!({ "query": FILMS, "extensions": persisted(&hash) })).await;
    for parameters in [vec![("query", FILMS.to_owned())], vec![("extensions", persisted(&hash).to_string())]] {
        let first = get(&cached, &parameters, &[]).await;
        assert_eq!(first.status, 200, "{}", first.body);
        assert_eq!(first.header("cache-control"), "public, max-age=60");
        let tag = first.header("etag").to_owned();
        assert!(tag.starts_with('"') && tag.len() > 10, "an ETag: {tag:?}");
        assert!(first.header("vary").contains("Authorization"), "{:?}", first.headers);

        // The same answer again: the same tag, and a client holding it gets 304 with no body.
        let again = get(&cached, &parameters, &[]).await;
        assert_eq!(again.header("etag"), tag);
        let revalidated = get(&cached, &parameters, &[("if-none-match", &tag)]).await;
        assert_eq!(revalidated.status, 304);
        assert_eq!(revalidated.body, "");
        assert_eq!(revalidated.header("etag"), tag);
        let listed = format!("\"other\", W/{tag}");
        assert_eq!(get(&cached, &parameters, &[("if-none-match", &listed)]).await.status, 304);
        let stale = get(&cached, &parameters, &[("if-none-match", "\"other\"")]).await;
        assert_eq!(stale.status, 200);
        assert_eq!(stale.json()["data"], first.json()["data"]);
        // Another media type is another answer, with another tag.
        let other_type = get(&cached, &parameters, &[("accept", "application/graphql-response+json")]).await;
        assert_ne!(other_type.header("etag"), tag);
    }

    // A viewer's answer is the viewer's alone, and so are errors and POST answers.
    let fan = cached.sign_in_as(Role::Fan).await;
    let bearer = format!("Bearer {}", fan.access_token);
    let as_fan = get(&cached, &[("query", FILMS.to_owned())], &[("authorization", &bearer)]).await;
    assert_eq!(as_fan.status, 200, "{}", as_fan.body);
    assert_eq!(as_fan.header("cache-control"), "private, no-store");
    assert_eq!(as_fan.header("etag"), "");
    let tag = get(&cached, &[("query", FILMS.to_owned())], &[]).await.header("etag").to_owned();
    let as_fan =
        get(&cached, &[("query", FILMS.to_owned())], &[("authorization", &bearer), ("if-none-match", &tag)]).await;
    assert_eq!(as_fan.status, 200, "no 304 for a viewer");
    let failed = get(&cached, &[("query", "{ films { nope } }".to_owned())], &[]).await;
    assert_eq!(failed.header("cache-control"), "private, no-store");
    assert_eq!(failed.header("etag"), "");
    let posted = post(&cached, None, json!({ "query": FILMS })).await;
    assert_eq!(posted.header("cache-control"), "private, no-store");
    assert_eq!(posted.header("etag"), "");
}

async fn a_trusted_documents_manifest_lets_only_its_documents_run_but_for_admins(app: TestApp) {
    // Signed in on the development server: the tokens hold on the production one (same secret),
    // whose manifest has no sign-in document of the test helpers.
    let fan = app.sign_in_as(Role::Fan).await;
    let admin = app.sign_in_as(Role::Admin).await;
    let trusted = app
        .respawn(|settings| {
            settings.environment = Environment::Production;
            settings.trusted_documents = Some(manifest_path());
        })
        .await;
    let (hash, text) = manifest_document("CampaignPage");
    assert_eq!(sha256_hex(&text), hash, "graphql-codegen keys each document by its SHA-256");

    // A manifest document, by hash and by text, for anyone.
    let by_hash = post(&trusted, None, json!({ "extensions": persisted(&hash) })).await;
    assert!(by_hash.json().get("errors").is_none(), "{}", by_hash.body);
    assert!(by_hash.json()["data"]["campaign"]["totals"]["signatures"].is_number(), "{}", by_hash.body);
    let by_text = post(&trusted, None, json!({ "query": text })).await;
    assert_eq!(by_text.json()["data"], by_hash.json()["data"]);
    let over_get = get(&trusted, &[("extensions", persisted(&hash).to_string())], &[]).await;
    assert_eq!(over_get.json()["data"], by_hash.json()["data"], "{}", over_get.body);
    let as_fan = post(&trusted, Some(&fan.access_token), json!({ "extensions": persisted(&hash) })).await;
    assert!(as_fan.json()["data"]["me"]["displayName"].is_string(), "{}", as_fan.body);

    // Any other document: refused for the anonymous and for a fan, by text or by hash.
    for token in [None, Some(fan.access_token.as_str())] {
        let refused = post(&trusted, token, json!({ "query": FILMS })).await;
        assert_eq!(code_of(&refused), "PERSISTED_QUERY_NOT_ALLOWED", "{}", refused.body);
        assert!(refused.json().get("data").is_none(), "{}", refused.body);
        let registering =
            post(&trusted, token, json!({ "query": FILMS, "extensions": persisted(&sha256_hex(FILMS)) })).await;
        assert_eq!(code_of(&registering), "PERSISTED_QUERY_NOT_ALLOWED", "{}", registering.body);
        let unknown = post(&trusted, token, json!({ "extensions": persisted(&sha256_hex(FILMS)) })).await;
        assert_eq!(code_of(&unknown), "PERSISTED_QUERY_NOT_FOUND", "{}", unknown.body);
        // A manifest document's text changed by a space is another document.
        let altered = post(&trusted, token, json!({ "query": format!("{text} ") })).await;
        assert_eq!(code_of(&altered), "PERSISTED_QUERY_NOT_ALLOWED", "{}", altered.body);
    }
    let over_get = get(&trusted, &[("query", FILMS.to_owned())], &[]).await;
    assert_eq!(code_of(&over_get), "PERSISTED_QUERY_NOT_ALLOWED", "{}", over_get.body);

    // Over the WebSocket too.
    let mut socket = Subscriber::connect(&trusted.address, Some(&fan.access_token)).await.unwrap();
    socket.send(json!({ "id": "1", "type": "subscribe", "payload": { "query": FILMS } })).await;
    let Event::Message(message) = socket.event().await else { panic!("the socket closed") };
    assert_eq!(message["type"], "next", "{message}");
    assert!(message["payload"]["data"].is_null(), "{message}");
    assert_eq!(message["payload"]["errors"][0]["extensions"]["code"], "PERSISTED_QUERY_NOT_ALLOWED", "{message}");

    // The campaign's live count, subscribed to by its hash alone.
    let (live_hash, _) = manifest_document("LiveCount");
    let petition = by_hash.json()["data"]["campaign"]["topPetitions"][0]["id"].as_str().unwrap().to_owned();
    let subscribe = json!({ "variables": { "petitionId": petition }, "extensions": persisted(&live_hash) });
    socket.send(json!({ "id": "2", "type": "subscribe", "payload": subscribe })).await;
    let message = loop {
        let Event::Message(message) = socket.event().await else { panic!("the socket closed") };
        // The refused operation completes first.
        if message["id"] == "2" {
            break message;
        }
    };
    assert_eq!(message["type"], "next", "{message}");
    assert!(message["payload"]["data"]["petitionSignatureCount"]["signatureCount"].is_number(), "{message}");

    // An admin runs any document.
    let as_admin = post(&trusted, Some(&admin.access_token), json!({ "query": FILMS })).await;
    assert!(as_admin.json()["data"]["films"]["totalCount"].is_number(), "{}", as_admin.body);
}

/// The document cache's (hits, misses): every document the pipeline parses or finds is one of them.
async fn document_cache_counts(app: &TestApp) -> (u64, u64) {
    let bearer = format!("Bearer {METRICS_TOKEN}");
    let metrics = app.request("GET", "/metrics", &[("authorization", &bearer)], None).await.body;
    let value = |name: &str| {
        metrics
            .lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
            .unwrap_or_else(|| panic!("no `{name}` in\n{metrics}"))
            .parse::<u64>()
            .unwrap()
    };
    (value("fandb_document_cache_hits_total"), value("fandb_document_cache_misses_total"))
}

async fn an_untrusted_document_is_refused_before_it_is_parsed_or_cached(app: TestApp) {
    let fan = app.sign_in_as(Role::Fan).await;
    let admin = app.sign_in_as(Role::Admin).await;
    let trusted = app
        .respawn(|settings| {
            settings.environment = Environment::Production;
            settings.trusted_documents = Some(manifest_path());
            settings.metrics_token = Some(api::config::Secret::new(METRICS_TOKEN));
        })
        .await;
    let before = document_cache_counts(&trusted).await;

    // Over POST (by text, and by text with its hash), GET and the WebSocket, anonymous or a fan:
    // refused, and the cache never sees the text (no miss counted, so nothing parsed or kept).
    for token in [None, Some(fan.access_token.as_str())] {
        let refused = post(&trusted, token, json!({ "query": FILMS })).await;
        assert_eq!(code_of(&refused), "PERSISTED_QUERY_NOT_ALLOWED", "{}", refused.body);
        let with_hash =
            post(&trusted, token, json!({ "query": FILMS, "extensions": persisted(&sha256_hex(FILMS)) })).await;
        assert_eq!(code_of(&with_hash), "PERSISTED_QUERY_NOT_ALLOWED", "{}", with_hash.body);
        assert_eq!(document_cache_counts(&trusted).await, before, "over POST, a refused document reached the cache");
        let bearer = token.map(|token| format!("Bearer {token}"));
        let headers: Vec<(&str, &str)> = bearer.iter().map(|bearer| ("authorization", bearer.as_str())).collect();
        let over_get = get(&trusted, &[("query", FILMS.to_owned())], &headers).await;
        assert_eq!(code_of(&over_get), "PERSISTED_QUERY_NOT_ALLOWED", "{}", over_get.body);
        assert_eq!(document_cache_counts(&trusted).await, before, "over GET, a refused document reached the cache");
        // Not even parsed: a text that would not parse gets the same refusal.
        let garbage = post(&trusted, token, json!({ "query": "{ films { " })).await;
        assert_eq!(code_of(&garbage), "PERSISTED_QUERY_NOT_ALLOWED", "{}", garbage.body);

        let mut socket = Subscriber::connect(&trusted.address, token).await.unwrap();
        socket.send(json!({ "id": "1", "type": "subscribe", "payload": { "query": FILMS } })).await;
        let Event::Message(message) = socket.event().await else { panic!("the socket closed") };
        assert_eq!(message["payload"]["errors"][0]["extensions"]["code"], "PERSISTED_QUERY_NOT_ALLOWED", "{message}");
        assert_eq!(
            document_cache_counts(&trusted).await,
            before,
            "over the WebSocket, a refused document reached the cache"
        );
    }

    // The counts do move for documents that run: a manifest document (parsed once, then found),
    // and any document of an admin's.
    let (_, text) = manifest_document("CampaignPage");
    for _ in 0..2 {
        let page = post(&trusted, None, json!({ "query": text })).await;
        assert!(page.json().get("errors").is_none(), "{}", page.body);
    }
    let as_admin = post(&trusted, Some(&admin.access_token), json!({ "query": FILMS })).await;
    assert!(as_admin.json()["data"]["films"]["totalCount"].is_number(), "{}", as_admin.body);
    let admin_over_get =
        get(&trusted, &[("query", FILMS.to_owned())], &[("authorization", &format!("Bearer {}", admin.access_token))])
            .await;
    assert_eq!(admin_over_get.json()["data"], as_admin.json()["data"], "{}", admin_over_get.body);
    let (hits, misses) = document_cache_counts(&trusted).await;
    assert_eq!((hits - before.0, misses - before.1), (2, 2), "the page parsed once and found once, FILMS likewise");
}

async fn the_campaign_operations_validate_against_the_schema(app: TestApp) {
    let documents = manifest();
    assert_eq!(documents.len(), 12, "every operation of clients/campaign/*.graphql");
    let page = app.data(&manifest_document("CampaignPage").1, json!({})).await;
    let petition = page["campaign"]["topPetitions"][0]["id"].as_str().expect("a petition").to_owned();
    let fan = app.sign_in_as(Role::Fan).await;
    for (_, document) in documents {
        let operation_type =
            document.split_whitespace().find(|word| ["query", "mutation", "subscription"].contains(word));
        if operation_type == Some("subscription") {
            let mut live =
                Subscriber::start(&app.address, None, &document, json!({ "petitionId": petition })).await.unwrap();
            let first = live.next_data().await;
            assert!(first["petitionSignatureCount"]["signatureCount"].is_number(), "{document}: {first}");
            continue;
        }
        // Values of the right types: each runs past validation (a refusal after it, such as a
        // wrong password, is fine; the operations are only checked against the schema).
        let variables = json!({
            "id": petition,
            "t": "not-a-refresh-token",
            "email": "campaign-client@iron.city",
            "token": "not-a-reset-token",
            "newPassword": "campaign-client-new-password",
            "input": if document.contains("RegisterInput") {
                json!({ "email": "campaign-client@iron.city", "password": "campaign-client-password", "displayName": "Client" })
            } else {
                json!({ "email": "campaign-client@iron.city", "password": "wrong-password-for-this" })
            },
        });
        let answer = post(&app, Some(&fan.access_token), json!({ "query": document, "variables": variables })).await;
        let body = answer.json();
        for error in body["errors"].as_array().into_iter().flatten() {
            let code = error["extensions"]["code"].as_str().unwrap_or_default();
            // An unknown reset token is refused once the operation runs, past validation.
            let unknown_token = code == "BAD_USER_INPUT" && error["extensions"]["field"] == "token";
            assert!(
                unknown_token
                    || !["GRAPHQL_PARSE_FAILED", "GRAPHQL_VALIDATION_FAILED", "BAD_USER_INPUT"].contains(&code),
                "{document}: {body}"
            );
        }
    }
}

async fn a_malformed_trusted_documents_manifest_stops_start_up(app: TestApp) {
    let directory = std::env::temp_dir().join(format!("fandb-manifest-{}", std::process::id()));
    std::fs::create_dir_all(&directory).unwrap();
    let cases = [
        ("missing.json", None, "cannot read it"),
        ("array.json", Some("[\"query { films { totalCount } }\"]"), "not a JSON object"),
        ("broken.json", Some("{\"sha256:ab\": \"query {\"}"), "does not parse"),
    ];
    let document = "query { films { totalCount } }";
    // graphql-codegen's default hash (sha1), and another document's SHA-256.
    let sha1_key = "sha256:0123456789abcdef0123456789abcdef01234567".to_owned();
    let other_key = format!("sha256:{}", sha256_hex("query { films { nodes { title } } }"));
    let wrong_keys = [
        ("sha1.json", json!({ &sha1_key: document }).to_string(), format!("the key `{sha1_key}` is not a SHA-256")),
        (
            "wrong-hash.json",
            json!({ &other_key: document }).to_string(),
            format!("the key `{other_key}` is not the SHA-256"),
        ),
    ];
    let cases = cases
        .into_iter()
        .map(|(name, contents, reason)| (name, contents.map(str::to_owned), reason.to_owned()))
        .chain(wrong_keys.into_iter().map(|(name, contents, reason)| (name, Some(contents), reason)));
    for (name, contents, reason) in cases {
        let path = directory.join(format!("{}-{name}", app.database_url.len()));
        if let Some(contents) = contents {
            std::fs::write(&path, contents).unwrap();
        }
        let output = Command::new(env!("CARGO_BIN_EXE_fandb"))
            .args(["--database-url", &app.database_url, "--listen", "127.0.0.1:0", "--env", "production", "serve"])
            .env("FANDB_JWT_SECRET", TEST_JWT_SECRET)
            .env("FANDB_TRUSTED_DOCUMENTS", &path)
            .stdin(Stdio::null())
            .output_with_timeout(Duration::from_secs(60));
        assert!(!output.status.success(), "{name}: started anyway");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("FANDB_TRUSTED_DOCUMENTS") && stderr.contains(&reason), "{name}: {stderr}");
        let _ = std::fs::remove_file(&path);
    }
}

/// `Command::output`, failing the test if the process runs longer than `limit` (a server that
/// started despite the bad manifest would serve forever).
trait OutputWithTimeout {
    fn output_with_timeout(&mut self, limit: Duration) -> std::process::Output;
}

impl OutputWithTimeout for Command {
    fn output_with_timeout(&mut self, limit: Duration) -> std::process::Output {
        let mut child = self.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("start the fandb binary");
        let started = std::time::Instant::now();
        while child.try_wait().expect("wait").is_none() {
            if started.elapsed() > limit {
                let _ = child.kill();
                panic!("fandb kept running with a bad manifest");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        child.wait_with_output().expect("the output")
    }
}

async fn only_the_manifest_s_operation_names_label_metrics(app: TestApp) {
    let admin = app.sign_in_as(Role::Admin).await;
    let trusted =
        app.respawn(|settings| settings.trusted_documents = Some(manifest_path())).await.without_differential();
    let (hash, _) = manifest_document("CampaignPage");
    let page = post(&trusted, None, json!({ "extensions": persisted(&hash) })).await;
    assert!(page.json().get("errors").is_none(), "{}", page.body);
    // An admin runs any document, under any name: none of them gets a series of its own.
    for name in ["Intruder0", "Intruder1", "Intruder2"] {
        let any =
            post(&trusted, Some(&admin.access_token), json!({ "query": format!("query {name} {{ __typename }}") }))
                .await;
        assert!(any.json().get("errors").is_none(), "{}", any.body);
    }
    // Refused documents are not counted at all.
    post(&trusted, None, json!({ "query": "query Stranger { __typename }" })).await;
    let metrics = trusted.get("/metrics").await.body;
    let count = |operation: &str| {
        let prefix = format!("fandb_graphql_operation_duration_seconds_count{{operation=\"{operation}\"}} ");
        metrics.lines().find_map(|line| line.strip_prefix(&prefix).map(str::to_owned))
    };
    assert_eq!(count("CampaignPage").as_deref(), Some("1"), "{metrics}");
    assert_eq!(count("other").as_deref(), Some("3"), "{metrics}");
    assert!(!metrics.contains("Intruder") && !metrics.contains("Stranger"), "{metrics}");
}
