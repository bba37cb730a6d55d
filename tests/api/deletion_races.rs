//! Contention is never internal: `deleteAccount` racing the same user's `signPetition`,
//! `withdrawSignature`, `rsvpEvent`, `cancelRsvp` and `submitQuote` answers each of them with a
//! result or a coded error (`UNAUTHENTICATED` once the account is gone), never
//! `INTERNAL_SERVER_ERROR`, and
//! leaves every counter equal to the rows it counts. The fan actions run in chains, each request
//! sent once the last answered, for as long as the deletion takes, so some are in flight while it
//! commits (no sleeps, no timing), round after round on each database.

use std::cell::Cell;

use entity::enums::{Role, RsvpStatus};
use entity::{rsvp, signature, user};
use futures_util::join;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};

use crate::support::{TestApp, fixtures};

const ROUNDS: usize = 32;
/// The password of `TestApp::sign_in_as`'s accounts.
const PASSWORD: &str = "correct horse battery";
const DELETE: &str = "mutation($password: String!) { deleteAccount(password: $password) }";
const SIGN: &str = "mutation($p: ID!) { signPetition(petitionId: $p) { id } }";
const WITHDRAW: &str = "mutation($p: ID!) { withdrawSignature(petitionId: $p) }";
const RSVP: &str = "mutation($e: ID!) { rsvpEvent(eventId: $e, status: GOING) { id } }";
const CANCEL: &str = "mutation($e: ID!) { cancelRsvp(eventId: $e) }";
const SUBMIT: &str = "mutation($input: SubmitQuoteInput!) { submitQuote(input: $input) { id } }";

/// Sends `query` as `token`: the answer of a request that was let in (200), or of one refused
/// because its account was already gone (401); either way every error carries a code, and none is
/// internal.
async fn send(app: &TestApp, token: &str, query: &str, variables: Value) -> Value {
    let authorization = format!("Bearer {token}");
    let headers = [("content-type", "application/json"), ("authorization", authorization.as_str())];
    let body = json!({ "query": query, "variables": variables }).to_string().into_bytes();
    let response = app.request("POST", "/graphql", &headers, Some(body)).await;
    assert!(matches!(response.status, 200 | 401), "{}: {}", response.status, response.body);
    let answer = response.json();
    crate::support::app::assert_invariants(&answer);
    for error in answer["errors"].as_array().into_iter().flatten() {
        assert_ne!(error["extensions"]["code"], "INTERNAL_SERVER_ERROR", "contention answered as internal: {answer}");
    }
    answer
}

/// Each counter equals the rows it counts.
async fn assert_counters(app: &TestApp, petition_id: i64, event_id: i64, round: usize) {
    let stored = crate::support::fixtures::stored_count(&app.db, "petitions", petition_id).await;
    let rows =
        signature::Entity::find().filter(signature::Column::PetitionId.eq(petition_id)).count(&app.db).await.unwrap();
    assert_eq!(stored, i64::try_from(rows).unwrap(), "round {round}: the petition's signatureCount");
    let stored = crate::support::fixtures::stored_count(&app.db, "events", event_id).await;
    let rows = rsvp::Entity::find()
        .filter(rsvp::Column::EventId.eq(event_id))
        .filter(rsvp::Column::Status.eq(RsvpStatus::Going))
        .count(&app.db)
        .await
        .unwrap();
    assert_eq!(stored, i64::try_from(rows).unwrap(), "round {round}: the event's going count");
}

/// Sends `first` and `second` in turn, again and again, until `done` (the deletion has answered)
/// or the account is found gone: each sign or RSVP adds a row that names the user while the
/// deletion runs, whenever its transaction commits.
async fn toggle(app: &TestApp, token: &str, first: (&str, Value), second: (&str, Value), done: &Cell<bool>) {
    for (query, variables) in [first, second].iter().cycle() {
        let answer = send(app, token, query, variables.clone()).await;
        if answer.get("errors").is_some() {
            assert_eq!(answer["errors"][0]["extensions"]["code"], "UNAUTHENTICATED", "{answer}");
            return;
        }
        if done.get() {
            return;
        }
    }
}

db_tests!(deleting_an_account_racing_its_own_fan_actions_is_never_internal);

async fn deleting_an_account_racing_its_own_fan_actions_is_never_internal(app: TestApp) {
    // One registration gives the password hash every round's fan shares, so only the deletions
    // check a password.
    let template = app.sign_in_as(Role::Fan).await;
    let hash = user::Entity::find_by_id(template.id).one(&app.db).await.unwrap().unwrap().password_hash;
    // Fixture petition 1 is open and never closes.
    let petition_id = fixtures::petitions(&app.db, 2).await[1].id;
    let petition = fixtures::gid("Petition", petition_id);
    let (event_id, event) = crate::fan_actions::event_with_capacity(&app, 1_000).await;
    let person = fixtures::gid("Person", fixtures::people(&app.db, 1).await[0].id);
    for round in 0..ROUNDS {
        let fan = fixtures::user_with_hash(&app.db, &format!("racing.fan.{round}@iron.city"), &hash).await;
        let (token, _) = fixtures::refreshable_session(&app.db, fan.id, Role::Fan).await;
        // A signature the deletion finds, and the first withdrawal races.
        fixtures::signature(&app.db, petition_id, fan.id, true, None).await;
        let done = Cell::new(false);
        let delete = async {
            let answer = send(&app, &token, DELETE, json!({ "password": PASSWORD })).await;
            done.set(true);
            answer
        };
        let submission = json!({ "input": { "text": "Motorball forever.", "personId": person, "source": "A fan" } });
        let (deleted, (), (), ()) = join!(
            delete,
            toggle(&app, &token, (SUBMIT, submission.clone()), (SUBMIT, submission.clone()), &done),
            toggle(&app, &token, (WITHDRAW, json!({ "p": petition })), (SIGN, json!({ "p": petition })), &done),
            toggle(&app, &token, (RSVP, json!({ "e": event })), (CANCEL, json!({ "e": event })), &done),
        );
        assert_eq!(deleted["data"]["deleteAccount"], true, "round {round}: {deleted}");
        assert!(user::Entity::find_by_id(fan.id).one(&app.db).await.unwrap().is_none(), "round {round}");
        assert_counters(&app, petition_id, event_id, round).await;
    }
}
