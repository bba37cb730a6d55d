//! A live counter misses nothing when the `LISTEN` connection drops: once it is back, every open
//! subscription gets the counter's current value (when it moved), then the ordinary notices again.

use sea_orm::{ConnectionTrait, DatabaseBackend, Statement};
use serde_json::json;

use crate::support::TestApp;
use crate::support::fixtures;
use crate::support::ws::Subscriber;

const PETITION_COUNT: &str = "subscription($p: ID!) { petitionSignatureCount(petitionId: $p) { signatureCount } }";
const EVENT_COUNT: &str = "subscription($e: ID!) { eventRsvpCount(eventId: $e) { rsvpCount } }";
const SIGN: &str = "mutation($p: ID!) { signPetition(petitionId: $p) { id } }";

fn petition_count(data: &serde_json::Value) -> &serde_json::Value {
    &data["petitionSignatureCount"]["signatureCount"]
}

db_tests!(a_subscriber_gets_the_count_it_missed_while_the_listener_was_down);

async fn a_subscriber_gets_the_count_it_missed_while_the_listener_was_down(app: TestApp) {
    let petition = app.data(r#"{ petition(slug: "open-letter-to-disney-alita-sequel") { id } }"#, json!({})).await;
    let petition_gid = petition["petition"]["id"].as_str().unwrap().to_owned();
    let petition_id = fixtures::raw_id(&petition_gid);
    let mut signatures =
        Subscriber::start(&app.address, None, PETITION_COUNT, json!({ "p": petition_gid })).await.unwrap();
    assert_eq!(petition_count(&signatures.next_data().await), 0);

    if !app.database_url.starts_with("postgres") {
        // SQLite has no listener to lose: the in-process hub carries every change.
        let (_, token) = fixtures::fan(&app.db, "Live Fan").await;
        app.data_as(&token, SIGN, json!({ "p": petition_gid })).await;
        assert_eq!(petition_count(&signatures.next_data().await), 1);
        return;
    }

    let event = fixtures::events(&app.db, 1, None).await.remove(0);
    let event_gid = fixtures::gid("Event", event.id);
    let mut rsvps = Subscriber::start(&app.address, None, EVENT_COUNT, json!({ "e": event_gid })).await.unwrap();
    assert_eq!(rsvps.next_data().await["eventRsvpCount"]["rsvpCount"], 0);

    // Five signatures whose notices were lost: the count moves and no NOTIFY is sent, so the
    // subscriber can only learn of it from the re-read that follows the listener's reconnect.
    let sql = |sql: String| Statement::from_string(DatabaseBackend::Postgres, sql);
    app.db
        .execute_raw(sql(format!(
            "UPDATE petitions SET signature_count = signature_count + 5, count_version = count_version + 1 WHERE id = {petition_id}"
        )))
        .await
        .unwrap();
    let killed = app
        .db
        .query_all_raw(sql(format!(
            "SELECT pg_terminate_backend(pid) AS killed FROM pg_stat_activity \
             WHERE application_name = '{}' AND datname = current_database()",
            api::infra::listen::APPLICATION_NAME
        )))
        .await
        .unwrap();
    assert!(
        killed.iter().any(|row| row.try_get::<bool>("", "killed").unwrap()),
        "the test database has a LISTEN connection to cut"
    );

    // `next_data` waits up to 15 s; the listener comes back within a second on an idle machine.
    assert_eq!(petition_count(&signatures.next_data().await), 5, "the missed count arrives after the reconnect");

    let (_, token) = fixtures::fan(&app.db, "Live Fan").await;
    app.data_as(&token, SIGN, json!({ "p": petition_gid })).await;
    assert_eq!(petition_count(&signatures.next_data().await), 6, "live again, and the re-read value is not repeated");

    // The event did not move during the outage, so its re-read value is not sent again: the
    // next message is the next change, announced as another server process would.
    app.db
        .execute_raw(sql(format!(
            "WITH moved AS (UPDATE events SET going_count = going_count + 2, count_version = count_version + 1 \
             WHERE id = {} RETURNING id, going_count, count_version) \
             SELECT pg_notify('{}', 'e:' || id || ':' || going_count || ':' || count_version) FROM moved",
            event.id,
            api::domain::notify::CHANNEL
        )))
        .await
        .unwrap();
    assert_eq!(rsvps.next_data().await["eventRsvpCount"]["rsvpCount"], 2, "no repeat of the unchanged count");
}
