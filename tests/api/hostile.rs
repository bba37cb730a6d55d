//! What an attacker or an unlucky operator tried, one test per attack, so that none comes back:
//! a fragment explosion in one kilobyte, RSVP and signature storms, and a disk that fills up.
//! (Login locks, the WebSocket budget and hostile inputs have modules of their own.)

use std::time::{Duration, Instant};

use entity::enums::RsvpStatus;
use futures_util::future::join_all;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};

use crate::fan_actions::event_with_capacity;
use crate::support::TestApp;
use crate::support::fixtures;
use crate::support::process::ServerProcess;
use crate::support::ws::Subscriber;

/// `{ ...F25 }` with each fragment spreading the one below twice: 2^25 fields once expanded, in
/// about a kilobyte of text.
fn fragment_bomb(levels: usize) -> String {
    let mut document = format!("{{ ...F{levels} }} fragment F0 on Query {{ __typename }}");
    for level in 1..=levels {
        document.push_str(&format!(" fragment F{level} on Query {{ ...F{} ...F{} }}", level - 1, level - 1));
    }
    document
}

/// The peak resident memory of a process, in bytes (Linux).
fn peak_rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("read /proc/PID/status");
    let kilobytes: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/PID/status");
    kilobytes * 1024
}

fn code(response: &Value) -> &str {
    response["errors"][0]["extensions"]["code"].as_str().unwrap_or("none")
}

db_tests!(
    a_one_kilobyte_fragment_bomb_is_refused_over_post_get_and_websocket,
    documents_over_the_token_field_or_spread_limits_are_refused_and_ordinary_ones_run
);

async fn a_one_kilobyte_fragment_bomb_is_refused_over_post_get_and_websocket(app: TestApp) {
    let bomb = fragment_bomb(25);
    assert!(bomb.len() < 1100, "the bomb is about a kilobyte: {}", bomb.len());
    let server = ServerProcess::start(&app.database_url, &[("FANDB_ENV", "production")]);
    let client = awc::Client::builder().timeout(Duration::from_secs(30)).finish();

    let started = Instant::now();
    let mut response = client
        .post(format!("{}/graphql", server.address))
        .send_json(&json!({ "query": bomb }))
        .await
        .expect("the server answers the bomb over POST");
    let elapsed = started.elapsed();
    assert_eq!(response.status().as_u16(), 200);
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(code(&body), "GRAPHQL_VALIDATION_FAILED", "{body}");
    assert!(body["errors"][0]["message"].as_str().unwrap().contains("fields"), "{body}");
    eprintln!("the fragment bomb was refused over POST in {elapsed:?}");

    let mut response = client
        .get(format!("{}/graphql", server.address))
        .query(&[("query", bomb.as_str())])
        .expect("a query string")
        .send()
        .await
        .expect("the server answers the bomb over GET");
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(code(&body), "GRAPHQL_VALIDATION_FAILED", "{body}");

    let mut socket = Subscriber::start(&server.address, None, &bomb, json!({})).await.expect("a socket");
    let message = socket.receive().await.expect("an answer over the socket");
    let error = match message["type"].as_str() {
        Some("error") => &message["payload"][0],
        Some("next") => &message["payload"]["errors"][0],
        _ => panic!("expected the refusal, got {message}"),
    };
    assert_eq!(error["extensions"]["code"], "GRAPHQL_VALIDATION_FAILED", "{message}");

    // The process lives, answers, and never held the explosion in memory.
    let mut response = client
        .post(format!("{}/graphql", server.address))
        .send_json(&json!({ "query": "{ __typename }" }))
        .await
        .expect("the server still answers");
    assert_eq!(response.json::<Value>().await.unwrap()["data"]["__typename"], "Query");
    let peak = peak_rss(server.child.id());
    assert!(peak < 100 * 1024 * 1024, "peak RSS {} MB", peak / (1024 * 1024));
}

async fn documents_over_the_token_field_or_spread_limits_are_refused_and_ordinary_ones_run(app: TestApp) {
    // The introspection query GraphiQL and client generators send runs as before.
    let type_ref = "kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } }";
    let introspection = format!(
        "query IntrospectionQuery {{ __schema {{ queryType {{ name }} types {{ ...FullType }} }} }}
         fragment FullType on __Type {{ kind name fields(includeDeprecated: true) {{ name args {{ ...InputValue }} type {{ ...TypeRef }} }} inputFields {{ ...InputValue }} interfaces {{ ...TypeRef }} enumValues(includeDeprecated: true) {{ name }} possibleTypes {{ ...TypeRef }} }}
         fragment InputValue on __InputValue {{ name type {{ ...TypeRef }} defaultValue }}
         fragment TypeRef on __Type {{ {type_ref} }}"
    );
    let data = app.data(&introspection, json!({})).await;
    assert!(data["__schema"]["types"].as_array().unwrap().len() > 10);

    let tokens = format!("{{ films {{ totalCount }} }} {}", "# a comment is no token\n".repeat(10));
    app.data(&tokens, json!({})).await;
    let many_tokens = format!("{{ films(first: 1) {{ nodes {{ {} }} }} }}", "title ".repeat(10_001));
    let error = app.error(&many_tokens, json!({})).await;
    assert_eq!(error["extensions"]["code"], "GRAPHQL_VALIDATION_FAILED");
    assert!(error["message"].as_str().unwrap().contains("tokens"), "{error}");

    let wide = format!("{{ ...A }} fragment A on Query {{ {} }}", "films { totalCount } ".repeat(1_001));
    let error = app.error(&wide, json!({})).await;
    assert_eq!(error["extensions"]["code"], "GRAPHQL_VALIDATION_FAILED");
    assert!(error["message"].as_str().unwrap().contains("2000 fields"), "{error}");

    let spreads = format!("{{ {} }} fragment A on Query {{ __typename }}", "...A ".repeat(501));
    let error = app.error(&spreads, json!({})).await;
    assert_eq!(error["extensions"]["code"], "GRAPHQL_VALIDATION_FAILED");
    assert!(error["message"].as_str().unwrap().contains("500 times"), "{error}");

    // The limits are the operator's to set.
    let strict = app
        .respawn(|settings| {
            settings.limits.document = api::config::DocumentLimits { max_tokens: 10, max_fields: 2, max_spreads: 1 }
        })
        .await;
    strict.data("{ films { totalCount } }", json!({})).await;
    assert_eq!(
        strict.error("{ films { totalCount nodes { title } } }", json!({})).await["extensions"]["code"],
        "GRAPHQL_VALIDATION_FAILED"
    );
}

const RSVP: &str = "mutation($e: ID!, $s: RsvpStatus) { rsvpEvent(eventId: $e, status: $s) { status } }";
const CANCEL: &str = "mutation($e: ID!) { cancelRsvp(eventId: $e) }";
const SIGN: &str = "mutation($p: ID!) { signPetition(petitionId: $p) { id } }";
const WITHDRAW: &str = "mutation($p: ID!) { withdrawSignature(petitionId: $p) }";

/// Every answer of a storm is data or a coded refusal the client can act on, never a 500.
fn assert_no_internal_errors(responses: &[Value]) {
    for response in responses {
        if let Some(errors) = response["errors"].as_array() {
            for error in errors {
                let code = error["extensions"]["code"].as_str().unwrap_or("none");
                assert!(matches!(code, "CONFLICT"), "a storm request got {code}: {response}");
            }
        }
    }
}

/// The stored count of an event's seats agrees with its GOING rows and its capacity.
async fn assert_event_counts_exact(app: &TestApp, event: i64) {
    let stored = entity::event::Entity::find_by_id(event).one(&app.db).await.unwrap().unwrap();
    let going = entity::rsvp::Entity::find()
        .filter(entity::rsvp::Column::EventId.eq(event))
        .filter(entity::rsvp::Column::Status.eq(RsvpStatus::Going))
        .count(&app.db)
        .await
        .unwrap();
    let count = crate::support::fixtures::stored_count(&app.db, "events", event).await;
    assert_eq!(count, going as i64, "going_count and its slots against the GOING rows");
    assert!(going <= stored.capacity.unwrap() as u64, "{going} going on capacity {:?}", stored.capacity);
}

async fn assert_petition_count_exact(app: &TestApp, petition: i64) {
    let stored = crate::support::fixtures::stored_count(&app.db, "petitions", petition).await;
    let rows = entity::signature::Entity::find()
        .filter(entity::signature::Column::PetitionId.eq(petition))
        .count(&app.db)
        .await
        .unwrap();
    assert_eq!(stored, rows as i64, "signature_count and its slots against the signature rows");
}

db_tests!(
    one_fan_storming_rsvp_and_cancel_leaves_the_count_exact,
    many_fans_storming_rsvps_never_overbook,
    signing_and_withdrawing_storms_leave_the_count_exact,
    slots_a_dead_process_left_are_folded_by_a_live_one
);

async fn one_fan_storming_rsvp_and_cancel_leaves_the_count_exact(app: TestApp) {
    let (event, global) = event_with_capacity(&app, 5).await;
    let (_, token) = fixtures::fan(&app.db, "Storm Fan").await;
    for round in 0..10 {
        let requests = (0..20).map(|i| {
            let (query, variables) = if (i + round) % 2 == 0 {
                (RSVP, json!({ "e": global, "s": "GOING" }))
            } else {
                (CANCEL, json!({ "e": global }))
            };
            app.graphql_as(Some(&token), query, variables)
        });
        let responses = join_all(requests).await;
        assert_no_internal_errors(&responses);
        assert_event_counts_exact(&app, event).await;
    }
}

async fn many_fans_storming_rsvps_never_overbook(app: TestApp) {
    let (event, global) = event_with_capacity(&app, 5).await;
    let mut tokens = Vec::new();
    for i in 0..12 {
        tokens.push(fixtures::fan(&app.db, &format!("Crowd Fan {i}")).await.1);
    }
    for round in 0..6 {
        let requests = tokens.iter().enumerate().flat_map(|(i, token)| {
            let status = if (i + round) % 3 == 0 { "INTERESTED" } else { "GOING" };
            [
                app.graphql_as(Some(token), RSVP, json!({ "e": global, "s": status })),
                app.graphql_as(
                    Some(token),
                    if (i + round) % 2 == 0 { CANCEL } else { RSVP },
                    json!({ "e": global, "s": "GOING" }),
                ),
            ]
        });
        let responses = join_all(requests).await;
        assert_no_internal_errors(&responses);
        assert_event_counts_exact(&app, event).await;
    }
    let data = app
        .data("query($e: ID!) { node(id: $e) { ... on Event { rsvpCount capacity } } }", json!({ "e": global }))
        .await;
    let stored = crate::support::fixtures::stored_count(&app.db, "events", event).await;
    assert_eq!(data["node"]["rsvpCount"], json!(stored), "the API shows the stored count");
}

async fn signing_and_withdrawing_storms_leave_the_count_exact(app: TestApp) {
    let data = app.data(r#"{ petition(slug: "open-letter-to-disney-alita-sequel") { id } }"#, json!({})).await;
    let global = data["petition"]["id"].as_str().unwrap().to_owned();
    let petition = fixtures::raw_id(&global);
    let mut tokens = Vec::new();
    for i in 0..8 {
        tokens.push(fixtures::fan(&app.db, &format!("Signing Fan {i}")).await.1);
    }
    let (app, global) = (&app, global.as_str());
    for round in 0..5 {
        let requests = tokens.iter().enumerate().flat_map(|(i, token)| {
            (0..3).map(move |j| {
                let query = if (i + j + round) % 2 == 0 { SIGN } else { WITHDRAW };
                app.graphql_as(Some(token), query, json!({ "p": global }))
            })
        });
        let responses = join_all(requests).await;
        assert_no_internal_errors(&responses);
        assert_petition_count_exact(app, petition).await;
    }
    assert_folded(app, petition).await;
}

/// A process killed between its signers' commits and its next fold leaves slot rows behind that no
/// live process moved: the server folds them too, without a restart and without a new signature.
async fn slots_a_dead_process_left_are_folded_by_a_live_one(app: TestApp) {
    use sea_orm::{ConnectionTrait, Statement};
    let data =
        app.data(r#"{ petition(slug: "open-letter-to-disney-alita-sequel") { id signatureCount } }"#, json!({})).await;
    let petition = fixtures::raw_id(data["petition"]["id"].as_str().unwrap());
    let global = data["petition"]["id"].as_str().unwrap().to_owned();
    for i in 0..3 {
        let token = fixtures::fan(&app.db, &format!("Early Signer {i}")).await.1;
        app.data_as(&token, SIGN, json!({ "p": global })).await;
    }
    assert_folded(&app, petition).await;
    let data =
        app.data(r#"{ petition(slug: "open-letter-to-disney-alita-sequel") { signatureCount } }"#, json!({})).await;
    let before = data["petition"]["signatureCount"].clone();
    // What the dead process committed: three of the column's signatures counted in slots instead.
    let backend = app.db.get_database_backend();
    for sql in [
        format!("UPDATE petitions SET signature_count = signature_count - 3 WHERE id = {petition}"),
        format!("INSERT INTO petition_count_slots (petition_id, slot, delta, version) VALUES ({petition}, 3, 1, 1)"),
        format!("INSERT INTO petition_count_slots (petition_id, slot, delta, version) VALUES ({petition}, 11, 2, 2)"),
    ] {
        app.db.execute_raw(Statement::from_string(backend, sql)).await.unwrap();
    }
    let data =
        app.data(r#"{ petition(slug: "open-letter-to-disney-alita-sequel") { signatureCount } }"#, json!({})).await;
    assert_eq!(data["petition"]["signatureCount"], before, "the slots count before they are folded");
    assert_folded(&app, petition).await;
}

/// Within a deadline the server's fold moves every slot back into the petition's own column, which
/// then equals the signature rows (the storm is over, so nothing moves meanwhile).
async fn assert_folded(app: &TestApp, petition: i64) {
    use sea_orm::{ConnectionTrait, Statement};
    let rows = entity::signature::Entity::find()
        .filter(entity::signature::Column::PetitionId.eq(petition))
        .count(&app.db)
        .await
        .unwrap();
    let backend = app.db.get_database_backend();
    let slots = Statement::from_string(
        backend,
        format!("SELECT COUNT(*) AS slots FROM petition_count_slots WHERE petition_id = {petition}"),
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        // Slots first: a fold empties them and fills the column in one transaction.
        let left: i64 = app.db.query_one_raw(slots.clone()).await.unwrap().unwrap().try_get("", "slots").unwrap();
        if left == 0 {
            let stored = entity::petition::Entity::find_by_id(petition).one(&app.db).await.unwrap().unwrap();
            assert_eq!(stored.signature_count, rows as i64, "after the fold, signature_count is the rows");
            return;
        }
        assert!(std::time::Instant::now() < deadline, "{left} slots still not folded");
        actix_web::rt::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// A tmpfs of a few megabytes mounted for one test, unmounted when dropped.
struct SmallDisk {
    path: std::path::PathBuf,
}

impl SmallDisk {
    /// Mounts one, or says in one line why it cannot (and fails under `CI=true`).
    fn mount(megabytes: u32) -> Option<Self> {
        let path = std::env::temp_dir().join(format!("fandb_small_disk_{}", crate::support::backends::unique_name()));
        std::fs::create_dir_all(&path).expect("create the mount point");
        let mounted = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={megabytes}m"), "tmpfs"])
            .arg(&path)
            .output();
        match mounted {
            Ok(output) if output.status.success() => Some(Self { path }),
            other => {
                let why = match other {
                    Ok(output) => String::from_utf8_lossy(&output.stderr).trim().to_owned(),
                    Err(error) => error.to_string(),
                };
                assert!(
                    std::env::var("CI").is_err(),
                    "CI must run the disk-full test, but mounting a tmpfs failed: {why}"
                );
                eprintln!("skipped: the disk-full test needs to mount a tmpfs (run as root): {why}");
                None
            }
        }
    }

    /// Gives the filesystem more room, as an operator freeing space would.
    fn grow(&self, megabytes: u32) {
        let status = std::process::Command::new("mount")
            .args(["-o", &format!("remount,size={megabytes}m")])
            .arg(&self.path)
            .status()
            .expect("run mount");
        assert!(status.success(), "remount the tmpfs larger");
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg("-l").arg(&self.path).status();
        let _ = std::fs::remove_dir(&self.path);
    }
}

const ADMIN_PASSWORD: &str = "full-disk-admin-password";
const CREATE_FILM: &str = "mutation($input: CreateFilmInput!) { createFilm(input: $input) { id } }";

/// POSTs an operation to a server process.
async fn post(client: &awc::Client, address: &str, token: Option<&str>, query: &str, variables: Value) -> Value {
    let mut request = client.post(format!("{address}/graphql"));
    if let Some(token) = token {
        request = request.insert_header(("authorization", format!("Bearer {token}")));
    }
    let mut response =
        request.send_json(&json!({ "query": query, "variables": variables })).await.expect("the server answers");
    assert_eq!(response.status().as_u16(), 200, "HTTP {}", response.status());
    let body: Value = response.json().limit(16 * 1024 * 1024).await.expect("JSON");
    crate::support::app::assert_invariants(&body);
    body
}

async fn admin_token(client: &awc::Client, address: &str) -> String {
    let login = "mutation($p: String!) { login(input: { email: \"admin@full.disk\", password: $p }) { accessToken } }";
    let body = post(client, address, None, login, json!({ "p": ADMIN_PASSWORD })).await;
    body["data"]["login"]["accessToken"].as_str().unwrap_or_else(|| panic!("login: {body}")).to_owned()
}

#[test]
fn a_full_disk_acknowledges_nothing_that_is_lost_and_recovers_without_a_restart() {
    let Some(disk) = SmallDisk::mount(4) else { return };
    let database_url = format!("sqlite://{}?mode=rwc", disk.path.join("fandb.sqlite").display());
    let created = std::process::Command::new(env!("CARGO_BIN_EXE_fandb"))
        .args([
            "--database-url",
            &database_url,
            "create-admin",
            "--email",
            "admin@full.disk",
            "--display-name",
            "Admin",
        ])
        .env("FANDB_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("FANDB_JWT_SECRET", crate::support::TEST_JWT_SECRET)
        .output()
        .expect("run create-admin");
    assert!(created.status.success(), "create-admin: {}", String::from_utf8_lossy(&created.stderr));
    actix_web::rt::System::new().block_on(async {
        let client = awc::Client::builder().timeout(Duration::from_secs(60)).finish();
        let mut server = ServerProcess::start(&database_url, &[]);
        let token = admin_token(&client, &server.address).await;
        let synopsis = "A cyborg who remembers. ".repeat(400);
        let mut acknowledged = Vec::new();
        let (mut refused, mut refused_in_a_row) = (0, 0);
        for i in 0..2_000 {
            let input = json!({ "title": format!("Filler {i}"), "status": "RELEASED", "synopsis": synopsis });
            let body = post(&client, &server.address, Some(&token), CREATE_FILM, json!({ "input": input })).await;
            if let Some(id) = body["data"]["createFilm"]["id"].as_str() {
                acknowledged.push(id.to_owned());
                refused_in_a_row = 0;
            } else {
                assert_eq!(code(&body), "SERVICE_UNAVAILABLE", "a failed write on a full disk: {body}");
                refused += 1;
                refused_in_a_row += 1;
                if refused_in_a_row == 10 {
                    break;
                }
            }
        }
        assert!(refused >= 10, "the disk never filled ({} films written)", acknowledged.len());

        // While the disk is full, every read agrees with itself and with what was acknowledged.
        for _ in 0..10 {
            let body = post(&client, &server.address, None, "{ films(first: 100) { totalCount nodes { id } } }", json!({})).await;
            let nodes = body["data"]["films"]["nodes"].as_array().unwrap().len();
            let total = body["data"]["films"]["totalCount"].as_u64().unwrap() as usize;
            assert_eq!(nodes.min(100), total.min(100), "a list and its count disagree: {body}");
        }

        // Space returns: writes and sign-ins work again without a restart.
        disk.grow(64);
        let register = "mutation { register(input: { email: \"after@full.disk\", password: \"a-long-password\", displayName: \"After\" }) { accessToken } }";
        let body = post(&client, &server.address, None, register, json!({})).await;
        assert!(body["data"]["register"]["accessToken"].is_string(), "register after space returned: {body}");
        let fresh = admin_token(&client, &server.address).await;
        let body = post(&client, &server.address, Some(&fresh), CREATE_FILM, json!({ "input": { "title": "After the flood", "status": "RELEASED" } })).await;
        acknowledged.push(body["data"]["createFilm"]["id"].as_str().unwrap_or_else(|| panic!("write after space returned: {body}")).to_owned());

        // A crash now loses nothing that was acknowledged.
        server.child.kill().expect("kill the server");
        server.child.wait().expect("reap the server");
        let restarted = ServerProcess::start(&database_url, &[]);
        let mut missing = Vec::new();
        for ids in acknowledged.chunks(100) {
            let body = post(&client, &restarted.address, None, "query($ids: [ID!]!) { nodes(ids: $ids) { id } }", json!({ "ids": ids })).await;
            let found = body["data"]["nodes"].as_array().unwrap_or_else(|| panic!("nodes: {body}"));
            missing.extend(ids.iter().zip(found).filter(|(_, node)| node.is_null()).map(|(id, _)| id.clone()));
        }
        assert!(missing.is_empty(), "acknowledged films lost: {missing:?} of {}", acknowledged.len());
    });
    drop(disk);
}
