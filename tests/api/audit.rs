//! The audit trail: every admin and moderator mutation, sign-in, role change and account deletion
//! leaves one `audit_events` row written in its own transaction (a refused change leaves none),
//! holding only the changed fields and never a secret; `auditLog` reads it (admins only) and
//! `fandb audit prune` trims it.

use std::process::Command;

use chrono::{Duration, Utc};
use entity::audit_event;
use entity::enums::Role;
use sea_orm::{ActiveModelTrait, EntityTrait, PaginatorTrait, Set};
use serde_json::{Value, json};

use crate::support::TestApp;
use crate::support::fixtures::{self, gid};

const LOG: &str = "query($filter: AuditLogFilter, $first: Int, $after: String) {
  auditLog(filter: $filter, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    nodes { id actor { id } action entityType entityId before after requestId createdAt }
  }
}";

/// The audit log as `token` sees it with `filter`.
async fn log(app: &TestApp, token: &str, filter: Value) -> Value {
    app.data_as(token, LOG, json!({ "filter": filter, "first": 100 })).await["auditLog"].clone()
}

/// An event's `before` or `after` text, parsed.
fn fields(event: &Value, which: &str) -> Value {
    match event[which].as_str() {
        Some(text) => serde_json::from_str(text).expect("a JSON object"),
        None => Value::Null,
    }
}

async fn rows(app: &TestApp) -> u64 {
    audit_event::Entity::find().count(&app.db).await.expect("count audit events")
}

db_tests!(
    an_admin_update_is_logged_with_only_the_changed_field_and_the_request_id,
    every_admin_mutation_is_logged_by_name,
    upserts_and_credit_changes_are_logged_with_what_changed,
    petition_updates_are_logged_with_their_moderator,
    a_moderators_decision_is_logged,
    a_refused_mutation_writes_no_audit_row,
    an_audit_row_rolls_back_with_its_change,
    the_log_pages_newest_first_and_filters,
    a_bad_filter_is_refused_with_its_field,
    only_admins_read_the_log,
    sign_in_role_change_and_account_deletion_are_logged_without_any_secret,
    prune_removes_only_rows_older_than_the_age,
);

async fn an_admin_update_is_logged_with_only_the_changed_field_and_the_request_id(app: TestApp) {
    let admin = app.sign_in_as(Role::Admin).await;
    let film = fixtures::films(&app.db, 1).await.remove(0);
    let film_id = gid("Film", film.id);
    let body = json!({
        "query": "mutation($id: ID!) { updateFilm(id: $id, input: { title: \"A New Title\" }) { title } }",
        "variables": { "id": film_id },
    });
    let authorization = format!("Bearer {}", admin.access_token);
    let response = app
        .request(
            "POST",
            "/graphql",
            &[
                ("content-type", "application/json"),
                ("authorization", &authorization),
                ("x-request-id", "audit-test-42"),
            ],
            Some(serde_json::to_vec(&body).unwrap()),
        )
        .await;
    assert_eq!(response.json()["data"]["updateFilm"]["title"], "A New Title", "{}", response.body);

    let log = log(&app, &admin.access_token, json!({ "entityId": film_id })).await;
    assert_eq!(log["totalCount"], 1, "{log}");
    let event = &log["nodes"][0];
    assert_eq!(event["actor"]["id"], admin.global_id.as_str());
    assert_eq!(event["action"], "updateFilm");
    assert_eq!(event["entityType"], "Film");
    assert_eq!(event["entityId"], film_id.as_str());
    assert_eq!(fields(event, "before"), json!({ "title": film.title }));
    assert_eq!(fields(event, "after"), json!({ "title": "A New Title" }));
    assert_eq!(event["requestId"], "audit-test-42");
    assert!(event["createdAt"].as_str().is_some_and(|at| at.ends_with('Z')), "{event}");
}

async fn every_admin_mutation_is_logged_by_name(app: TestApp) {
    let admin = app.sign_in_as(Role::Admin).await;
    let token = admin.access_token.as_str();
    let id = |data: &Value, field: &str| data[field]["id"].as_str().expect("an id").to_owned();

    let film = app
        .data_as(
            token,
            r#"mutation { createFilm(input: { title: "Audit Film", status: ANNOUNCED }) { id } }"#,
            json!({}),
        )
        .await;
    let film = id(&film, "createFilm");
    let person =
        app.data_as(token, r#"mutation { createPerson(input: { name: "Audit Person" }) { id } }"#, json!({})).await;
    let person = id(&person, "createPerson");
    app.data_as(
        token,
        "mutation($id: ID!) { updatePerson(id: $id, input: { bio: \"A bio.\" }) { id } }",
        json!({ "id": person }),
    )
    .await;
    let credit = app
        .data_as(
            token,
            "mutation($film: ID!, $person: ID!) { addCredit(input: { filmId: $film, personId: $person, role: CREW }) { id } }",
            json!({ "film": film, "person": person }),
        )
        .await;
    let credit = id(&credit, "addCredit");
    app.data_as(token, "mutation($id: ID!) { removeCredit(id: $id) }", json!({ "id": credit })).await;
    let quote = app
        .data_as(
            token,
            "mutation($person: ID!) { createQuote(input: { text: \"Said.\", personId: $person, source: \"Somewhere\" }) { id } }",
            json!({ "person": person }),
        )
        .await;
    let quote = id(&quote, "createQuote");
    app.data_as(
        token,
        "mutation($id: ID!) { updateQuote(id: $id, input: { text: \"Said again.\" }) { id } }",
        json!({ "id": quote }),
    )
    .await;
    app.data_as(token, "mutation($id: ID!) { deleteQuote(id: $id) }", json!({ "id": quote })).await;
    let event = app
        .data_as(
            token,
            r#"mutation { createEvent(input: { title: "Audit Meetup", kind: MEETUP, startsAt: "2030-01-01T18:00:00Z", timeZone: "Europe/London" }) { id } }"#,
            json!({}),
        )
        .await;
    let event = id(&event, "createEvent");
    app.data_as(
        token,
        "mutation($id: ID!) { updateEvent(id: $id, input: { capacity: 12 }) { id } }",
        json!({ "id": event }),
    )
    .await;
    app.data_as(token, "mutation($id: ID!) { deleteEvent(id: $id) }", json!({ "id": event })).await;
    let petition = app
        .data_as(
            token,
            r#"mutation { createPetition(input: { title: "Audit Petition", body: "Please.", target: "A studio", goal: 10 }) { id } }"#,
            json!({}),
        )
        .await;
    let petition = id(&petition, "createPetition");
    app.data_as(
        token,
        "mutation($id: ID!) { updatePetition(id: $id, input: { goal: 20 }) { id } }",
        json!({ "id": petition }),
    )
    .await;
    app.data_as(token, "mutation($id: ID!) { deletePetition(id: $id) }", json!({ "id": petition })).await;
    app.data_as(token, "mutation($id: ID!) { deletePerson(id: $id) }", json!({ "id": person })).await;
    app.data_as(token, "mutation($id: ID!) { deleteFilm(id: $id) }", json!({ "id": film })).await;

    let log = log(&app, token, json!({})).await;
    let mut actions: Vec<&str> =
        log["nodes"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    actions.reverse();
    assert_eq!(
        actions,
        [
            "createFilm",
            "createPerson",
            "updatePerson",
            "addCredit",
            "removeCredit",
            "createQuote",
            "updateQuote",
            "deleteQuote",
            "createEvent",
            "updateEvent",
            "deleteEvent",
            "createPetition",
            "updatePetition",
            "deletePetition",
            "deletePerson",
            "deleteFilm",
        ]
    );
    for event in log["nodes"].as_array().unwrap() {
        assert_eq!(event["actor"]["id"], admin.global_id.as_str(), "{event}");
        let (before, after) = (fields(event, "before"), fields(event, "after"));
        match event["action"].as_str().unwrap() {
            action if action.starts_with("create") || action == "addCredit" => {
                assert!(before.is_null() && after["id"].is_number(), "{event}");
            }
            action if action.starts_with("delete") || action == "removeCredit" => {
                assert!(after.is_null() && before["id"].is_number(), "{event}");
            }
            _ => assert_eq!(before.as_object().unwrap().len(), 1, "one changed field: {event}"),
        }
    }
    let petition_event = log["nodes"].as_array().unwrap().iter().find(|e| e["action"] == "updatePetition").unwrap();
    assert_eq!(
        (fields(petition_event, "before"), fields(petition_event, "after")),
        (json!({"goal": 10}), json!({"goal": 20}))
    );
    let deleted_film = &log["nodes"][0];
    assert_eq!(deleted_film["entityId"], film.as_str());
    assert_eq!(fields(deleted_film, "before")["title"], "Audit Film");
}

async fn upserts_and_credit_changes_are_logged_with_what_changed(app: TestApp) {
    let admin = app.sign_in_as(Role::Admin).await;
    let token = admin.access_token.as_str();
    let upsert = "mutation($tagline: String, $person: PersonRef!) { upsertFilm(input: { slug: \"audit-upsert\", title: \"Audit Upsert\", status: ANNOUNCED, tagline: $tagline, credits: [{ person: $person, role: CREW }] }) { created film { id credits { nodes { id } } } } }";
    let created = json!({ "create": { "name": "Audit Crew" } });
    let first = app.data_as(token, upsert, json!({ "tagline": "First.", "person": created })).await;
    assert_eq!(first["upsertFilm"]["created"], true);
    let second = app.data_as(token, upsert, json!({ "tagline": "Second.", "person": { "slug": "audit-crew" } })).await;
    assert_eq!(second["upsertFilm"]["created"], false);
    let credit = second["upsertFilm"]["film"]["credits"]["nodes"][0]["id"].as_str().expect("a credit").to_owned();
    app.data_as(
        token,
        "mutation($id: ID!) { updateCredit(id: $id, input: { billingOrder: 3 }) { id } }",
        json!({ "id": credit }),
    )
    .await;

    let log = log(&app, token, json!({})).await;
    let events: Vec<&Value> = log["nodes"].as_array().unwrap().iter().rev().collect();
    let actions: Vec<&str> = events.iter().map(|event| event["action"].as_str().unwrap()).collect();
    // The person and credit the first upsert creates inside it come first, each with its row.
    assert_eq!(actions, ["createPerson", "addCredit", "upsertFilm", "upsertFilm", "updateCredit"]);
    assert!(fields(events[2], "before").is_null(), "a created film has no before: {}", events[2]);
    assert_eq!(fields(events[2], "after")["tagline"], "First.");
    assert_eq!(fields(events[3], "before"), json!({ "tagline": "First." }));
    assert_eq!(fields(events[3], "after"), json!({ "tagline": "Second." }));
    assert_eq!(events[3]["entityId"], second["upsertFilm"]["film"]["id"]);
    assert_eq!(fields(events[4], "before"), json!({ "billingOrder": null }));
    assert_eq!(fields(events[4], "after"), json!({ "billingOrder": 3 }));
    assert_eq!(events[4]["entityId"], credit.as_str());
}

async fn petition_updates_are_logged_with_their_moderator(app: TestApp) {
    let moderator = app.sign_in_as(Role::Moderator).await;
    let admin = app.sign_in_as(Role::Admin).await;
    let petition = fixtures::petitions(&app.db, 1).await.remove(0);
    let token = moderator.access_token.as_str();
    let posted = app
        .data_as(
            token,
            "mutation($p: ID!, $input: PostPetitionUpdateInput!) { postPetitionUpdate(petitionId: $p, input: $input) { id } }",
            json!({ "p": gid("Petition", petition.id), "input": { "title": "News", "body": "We *won*." } }),
        )
        .await;
    let update = posted["postPetitionUpdate"]["id"].as_str().expect("an id").to_owned();
    app.data_as(
        token,
        "mutation($id: ID!) { editPetitionUpdate(id: $id, input: { title: \"More news\" }) { id } }",
        json!({ "id": update }),
    )
    .await;
    app.data_as(token, "mutation($id: ID!) { deletePetitionUpdate(id: $id) }", json!({ "id": update })).await;

    let log = log(&app, &admin.access_token, json!({ "entityType": "PetitionUpdate" })).await;
    let events: Vec<&Value> = log["nodes"].as_array().unwrap().iter().rev().collect();
    let actions: Vec<&str> = events.iter().map(|event| event["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["postPetitionUpdate", "editPetitionUpdate", "deletePetitionUpdate"]);
    for event in &events {
        assert_eq!(event["actor"]["id"], moderator.global_id.as_str(), "{event}");
        assert_eq!(event["entityId"], update.as_str(), "{event}");
    }
    assert_eq!(fields(events[0], "after")["bodyHtml"], "<p>We <em>won</em>.</p>\n");
    assert_eq!(fields(events[1], "before"), json!({ "title": "News" }));
    assert_eq!(fields(events[1], "after"), json!({ "title": "More news" }));
    assert_eq!(fields(events[2], "before")["title"], "More news");
}

async fn a_moderators_decision_is_logged(app: TestApp) {
    let moderator = app.sign_in_as(Role::Moderator).await;
    let admin = app.sign_in_as(Role::Admin).await;
    let person = fixtures::people(&app.db, 1).await.remove(0);
    let quote = fixtures::quotes(&app.db, person.id, None, 1, entity::enums::QuoteStatus::Pending).await.remove(0);
    app.data_as(
        &moderator.access_token,
        "mutation($id: ID!) { moderateQuote(id: $id, status: PUBLISHED) { status } }",
        json!({ "id": gid("Quote", quote.id) }),
    )
    .await;
    let log = log(&app, &admin.access_token, json!({ "actorId": moderator.global_id })).await;
    assert_eq!(log["totalCount"], 1, "{log}");
    let event = &log["nodes"][0];
    assert_eq!(event["action"], "moderateQuote");
    assert_eq!(event["entityId"], gid("Quote", quote.id).as_str());
    assert_eq!(fields(event, "before"), json!({ "status": "PENDING" }));
    assert_eq!(fields(event, "after"), json!({ "status": "PUBLISHED" }));
}

async fn a_refused_mutation_writes_no_audit_row(app: TestApp) {
    let admin = app.sign_in_as(Role::Admin).await;
    let token = admin.access_token.as_str();
    let film = fixtures::films(&app.db, 1).await.remove(0);
    let refused = [
        // Bad input, caught before anything is written.
        (
            "mutation($id: ID!) { updateFilm(id: $id, input: { runtimeMinutes: 0 }) { id } }",
            json!({ "id": gid("Film", film.id) }),
            "BAD_USER_INPUT",
        ),
        // A conflict found inside the transaction.
        (
            "mutation($slug: String!) { createFilm(input: { title: \"Dup\", slug: $slug, status: ANNOUNCED }) { id } }",
            json!({ "slug": film.slug }),
            "CONFLICT",
        ),
        ("mutation($id: ID!) { deleteFilm(id: $id) }", json!({ "id": gid("Film", 999_999) }), "NOT_FOUND"),
        // The last admin cannot be demoted: refused after the user was read, inside its transaction.
        (
            "mutation($id: ID!) { setUserRole(userId: $id, role: FAN) { id } }",
            json!({ "id": admin.global_id }),
            "CONFLICT",
        ),
    ];
    for (operation, variables, code) in refused {
        let error = app.error_as(token, operation, variables).await;
        assert_eq!(error["extensions"]["code"], code, "{operation}: {error}");
    }
    let fan = app.sign_in_as(Role::Fan).await;
    let error =
        app.error_as(&fan.access_token, "mutation { deleteAccount(password: \"not the password\") }", json!({})).await;
    assert_eq!(error["extensions"]["field"], "password");
    assert_eq!(rows(&app).await, 0);
}

/// The row is written in the change's own transaction: when a later step of the same mutation
/// fails, the change and its audit row roll back together.
async fn an_audit_row_rolls_back_with_its_change(app: TestApp) {
    use api::domain::{DomainError, DomainResult, audit, films, write};
    let film = fixtures::films(&app.db, 1).await.remove(0);
    let actor = audit::Actor { user_id: None, request_id: Some("rolled-back".to_owned()) };
    let result: DomainResult<()> = write::transaction(&app.db, async |txn| {
        let changes = films::FilmChanges { title: Some("Rolled Back".to_owned()), ..Default::default() };
        let change = films::update(txn, film.id, changes, None);
        audit::updating::<entity::film::Entity, _>(txn, &actor, "updateFilm", film.id, change).await?;
        assert_eq!(audit_event::Entity::find().count(txn).await?, 1, "written inside the transaction");
        Err(DomainError::Forbidden)
    })
    .await;
    assert!(result.is_err());
    assert_eq!(rows(&app).await, 0);
    let stored = entity::film::Entity::find_by_id(film.id).one(&app.db).await.unwrap().unwrap();
    assert_eq!(stored.title, film.title);
}

async fn the_log_pages_newest_first_and_filters(app: TestApp) {
    let admin = app.sign_in_as(Role::Admin).await;
    let token = admin.access_token.as_str();
    let mut films = Vec::new();
    for title in ["Paged One", "Paged Two", "Paged Three"] {
        let data = app
            .data_as(
                token,
                "mutation($title: String!) { createFilm(input: { title: $title, status: ANNOUNCED }) { id } }",
                json!({ "title": title }),
            )
            .await;
        films.push(data["createFilm"]["id"].as_str().unwrap().to_owned());
    }
    let middle = Utc::now();
    app.data_as(
        token,
        "mutation($id: ID!) { updateFilm(id: $id, input: { tagline: \"Paged.\" }) { id } }",
        json!({ "id": films[0] }),
    )
    .await;
    app.data_as(token, r#"mutation { createPerson(input: { name: "Paged Person" }) { id } }"#, json!({})).await;

    let first = app.data_as(token, LOG, json!({ "first": 2 })).await["auditLog"].clone();
    assert_eq!(first["totalCount"], 5);
    assert_eq!(first["pageInfo"]["hasNextPage"], true);
    let actions = |page: &Value| -> Vec<String> {
        page["nodes"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap().to_owned()).collect()
    };
    assert_eq!(actions(&first), ["createPerson", "updateFilm"]);
    let second =
        app.data_as(token, LOG, json!({ "first": 2, "after": first["pageInfo"]["endCursor"] })).await["auditLog"]
            .clone();
    assert_eq!(actions(&second), ["createFilm", "createFilm"]);
    assert_eq!(second["nodes"][0]["entityId"], films[2].as_str());

    assert_eq!(log(&app, token, json!({ "entityType": "Film" })).await["totalCount"], 4);
    assert_eq!(log(&app, token, json!({ "entityType": "Person" })).await["totalCount"], 1);
    let one_film = log(&app, token, json!({ "entityType": "Film", "entityId": films[0] })).await;
    assert_eq!(actions(&one_film), ["updateFilm", "createFilm"]);
    assert_eq!(log(&app, token, json!({ "actorId": admin.global_id })).await["totalCount"], 5);
    let at = middle.to_rfc3339();
    assert_eq!(actions(&log(&app, token, json!({ "after": at })).await), ["createPerson", "updateFilm"]);
    assert_eq!(log(&app, token, json!({ "before": at })).await["totalCount"], 3);
}

async fn a_bad_filter_is_refused_with_its_field(app: TestApp) {
    let admin = app.sign_in_as(Role::Admin).await;
    let cases = [
        (json!({ "actorId": "not-an-id" }), "filter.actorId"),
        (json!({ "actorId": gid("Film", 1) }), "filter.actorId"),
        (json!({ "entityId": "bm9wZQ==" }), "filter.entityId"),
        (json!({ "entityType": "Person", "entityId": gid("Film", 1) }), "filter.entityId"),
        (json!({ "entityType": "x".repeat(65) }), "filter.entityType"),
    ];
    for (filter, field) in cases {
        let error = app.error_as(&admin.access_token, LOG, json!({ "filter": filter })).await;
        assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT", "{filter}: {error}");
        assert_eq!(error["extensions"]["field"], field, "{filter}: {error}");
    }
}

async fn only_admins_read_the_log(app: TestApp) {
    let query = "{ auditLog { totalCount } }";
    let anonymous = app.error(query, json!({})).await;
    assert_eq!(anonymous["extensions"]["code"], "UNAUTHENTICATED");
    for role in [Role::Fan, Role::Moderator] {
        let viewer = app.sign_in_as(role).await;
        let error = app.error_as(&viewer.access_token, query, json!({})).await;
        assert_eq!(error["extensions"]["code"], "FORBIDDEN", "{role:?}");
    }
}

async fn sign_in_role_change_and_account_deletion_are_logged_without_any_secret(app: TestApp) {
    let admin = app.sign_in_as(Role::Admin).await;
    let fan = app.sign_in_as(Role::Fan).await;
    let login = "mutation($email: String!) { login(input: { email: $email, password: \"correct horse battery\" }) { accessToken refreshToken } }";
    app.data(login, json!({ "email": fan.email })).await;

    let signed_in = log(&app, &admin.access_token, json!({ "entityId": fan.global_id })).await;
    assert_eq!(signed_in["totalCount"], 1, "{signed_in}");
    let event = &signed_in["nodes"][0];
    assert_eq!(event["action"], "signIn");
    assert_eq!(event["actor"]["id"], fan.global_id.as_str());
    assert!(fields(event, "before")["lastLoginAt"].is_null());
    assert!(fields(event, "after")["lastLoginAt"].is_string(), "{event}");

    app.data_as(
        &admin.access_token,
        "mutation($id: ID!) { setUserRole(userId: $id, role: MODERATOR) { role } }",
        json!({ "id": fan.global_id }),
    )
    .await;
    let session = app.data(login, json!({ "email": fan.email })).await["login"].clone();
    app.data_as(
        session["accessToken"].as_str().unwrap(),
        "mutation { deleteAccount(password: \"correct horse battery\") }",
        json!({}),
    )
    .await;

    let trail = log(&app, &admin.access_token, json!({ "entityType": "User", "entityId": fan.global_id })).await;
    let events = trail["nodes"].as_array().unwrap();
    let actions: Vec<&str> = events.iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["deleteAccount", "signIn", "setUserRole", "signIn"]);
    let deleted = &events[0];
    assert!(deleted["actor"].is_null(), "the deleted account no longer names anyone: {deleted}");
    assert_eq!(fields(deleted, "before")["role"], "MODERATOR");
    assert!(fields(deleted, "before").get("email").is_none(), "the address goes with the account: {deleted}");
    let role_change = &events[2];
    assert_eq!(role_change["actor"]["id"], admin.global_id.as_str());
    assert_eq!(
        (fields(role_change, "before"), fields(role_change, "after")),
        (json!({"role": "FAN"}), json!({"role": "MODERATOR"}))
    );

    // No row, whatever its action, holds a password, hash or token, by key or by value.
    let user = entity::user::Entity::find_by_id(admin.id).one(&app.db).await.unwrap().unwrap();
    let secrets = [
        user.password_hash.as_str(),
        "correct horse battery",
        session["refreshToken"].as_str().unwrap(),
        &admin.access_token,
    ];
    for row in audit_event::Entity::find().all(&app.db).await.unwrap() {
        let text = format!("{} {}", row.before.unwrap_or_default(), row.after.unwrap_or_default());
        let lower = text.to_lowercase();
        for marker in ["password", "hash", "token", "secret"] {
            assert!(!lower.contains(marker), "`{marker}` in audit row {}: {text}", row.action);
        }
        for secret in secrets {
            assert!(!text.contains(secret), "a secret in audit row {}", row.action);
        }
    }
}

fn prune(database_url: &str, age: &str) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_fandb"))
        .args(["--database-url", database_url, "audit", "prune", &format!("--older-than={age}")])
        .output()
        .expect("run fandb audit prune")
}

async fn prune_removes_only_rows_older_than_the_age(app: TestApp) {
    for days in [400, 366, 30, 0] {
        audit_event::ActiveModel {
            action: Set(format!("aged{days}")),
            entity_type: Set("Film".to_owned()),
            created_at: Set(Utc::now() - Duration::days(days)),
            ..Default::default()
        }
        .insert(&app.db)
        .await
        .unwrap();
    }
    let output = prune(&app.database_url, "365d");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(String::from_utf8_lossy(&output.stdout).contains("removed 2 audit events"), "{output:?}");
    let left: Vec<String> =
        audit_event::Entity::find().all(&app.db).await.unwrap().into_iter().map(|row| row.action).collect();
    assert_eq!(left, ["aged30", "aged0"]);

    let output = prune(&app.database_url, "48h");
    assert!(String::from_utf8_lossy(&output.stdout).contains("removed 1 audit events"), "{output:?}");
    assert_eq!(rows(&app).await, 1);

    for garbage in ["365", "12x", "-1d", "0d", "soon"] {
        let output = prune(&app.database_url, garbage);
        assert!(!output.status.success(), "{garbage} was accepted");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("--older-than") && stderr.contains("365d"), "{garbage}: {stderr}");
    }
    assert_eq!(rows(&app).await, 1);
}
