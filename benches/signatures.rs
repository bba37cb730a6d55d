//! Signing at scale: 64 fans sign petitions concurrently for a fixed time while a probe fan signs
//! a watched petition one signature at a time; a WebSocket subscriber to that petition times each
//! probe signature until its new count arrives, from the moment the signature was acknowledged (the
//! target: p99 under 50 ms) and from the moment the request was sent (which adds the sign request's
//! own queueing under 64 concurrent signers). Prints signatures per second, and checks that no
//! signature was lost or counted twice.
//!
//! Run on PostgreSQL: `FANDB_BENCH_POSTGRES_URL=postgres://fandb:fandb@127.0.0.1/fandb cargo bench --bench signatures`
//! (without it, SQLite). `BENCH_SECONDS` sets the length (default 10).

#[path = "support/mod.rs"]
mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use api::auth::Auth;
use entity::enums::{PetitionStatus, Role};
use entity::{petition, signature, user};
use futures_util::{SinkExt, StreamExt};
use sea_orm::{ActiveModelTrait, EntityTrait, PaginatorTrait, Set};
use serde_json::json;
use support::{client, percentile_ms, post};

const SIGNERS: usize = 64;
const LOAD_PETITIONS: usize = 400;
const PROBES: usize = 2_000;

async fn insert_user(db: &sea_orm::DatabaseConnection, name: String) -> user::Model {
    let now = chrono::Utc::now();
    user::ActiveModel {
        email: Set(format!("{name}@bench.example")),
        display_name: Set(name),
        password_hash: Set(
            "$argon2id$v=19$m=19456,t=2,p=1$YmVuY2hzYWx0YmVuY2g$YmVuY2hoYXNoYmVuY2hoYXNoYmVuY2hoYXNoYmVuY2g".to_owned(),
        ),
        role: Set(Role::Fan),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await
    .unwrap_or_else(|error| support::fail(&format!("insert a fan: {error}")))
}

async fn insert_petition(db: &sea_orm::DatabaseConnection, slug: String) -> petition::Model {
    let now = chrono::Utc::now();
    petition::ActiveModel {
        slug: Set(slug.clone()),
        title: Set(slug),
        body: Set("Bench".to_owned()),
        target: Set("Bench".to_owned()),
        goal: Set(1_000_000),
        status: Set(PetitionStatus::Open),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await
    .unwrap_or_else(|error| support::fail(&format!("insert a petition: {error}")))
}

fn sign_body(petition_id: i64) -> serde_json::Value {
    let id = api::graphql::ids::global_id(api::graphql::ids::NodeType::Petition, petition_id);
    json!({ "query": "mutation($p: ID!) { signPetition(petitionId: $p) { id } }", "variables": { "p": id.0 } })
}

fn main() {
    let seconds: u64 = std::env::var("BENCH_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(10);
    actix_web::rt::System::new().block_on(async move {
        let server = support::start().await;
        let auth = Auth::new(&server.settings.jwt_secret, &server.settings.limits);
        let token = async |user: user::Model| match api::domain::sessions::start_session(&server.db, &auth, user).await {
            Ok(session) => session.access_token,
            Err(error) => support::fail(&format!("token: {error:?}")),
        };
        let mut signers = Vec::new();
        for i in 0..SIGNERS {
            signers.push(token(insert_user(&server.db, format!("signer{i}")).await).await);
        }
        let mut probes = Vec::new();
        for i in 0..PROBES {
            probes.push(token(insert_user(&server.db, format!("probe{i}")).await).await);
        }
        let mut petitions = Vec::new();
        for i in 0..LOAD_PETITIONS {
            petitions.push(insert_petition(&server.db, format!("bench-load-{i}")).await.id);
        }
        let watched = insert_petition(&server.db, "bench-watched".to_owned()).await.id;

        // The subscriber.
        let ws_url = server.graphql.replacen("http://", "ws://", 1);
        let (_, mut socket) = match client().ws(ws_url).protocols(["graphql-transport-ws"]).connect().await {
            Ok(connected) => connected,
            Err(error) => support::fail(&format!("WebSocket: {error}")),
        };
        let send = |text: String| awc::ws::Message::Text(text.into());
        let watched_id = api::graphql::ids::global_id(api::graphql::ids::NodeType::Petition, watched).0;
        let _ = socket.send(send(json!({ "type": "connection_init", "payload": {} }).to_string())).await;
        let _ = socket.next().await;
        let subscribe = json!({ "id": "1", "type": "subscribe", "payload": {
            "query": "subscription($p: ID!) { petitionSignatureCount(petitionId: $p) { signatureCount } }", "variables": { "p": watched_id } } });
        let _ = socket.send(send(subscribe.to_string())).await;
        let _ = socket.next().await; // the current value, 0
        let (arrivals_tx, mut arrivals_rx) = tokio::sync::mpsc::unbounded_channel::<(u64, Instant)>();
        actix_web::rt::spawn(async move {
            while let Some(Ok(awc::ws::Frame::Text(bytes))) = socket.next().await {
                if let Ok(message) = serde_json::from_slice::<serde_json::Value>(&bytes)
                    && let Some(count) = message["payload"]["data"]["petitionSignatureCount"]["signatureCount"].as_u64()
                {
                    let _ = arrivals_tx.send((count, Instant::now()));
                }
            }
        });

        let started = Instant::now();
        let stop = started + Duration::from_secs(seconds);
        let signed = Arc::new(AtomicU64::new(0));
        let failed = Arc::new(AtomicU64::new(0));
        let mut tasks = Vec::new();
        for (index, token) in signers.into_iter().enumerate() {
            let (graphql, petitions, signed, failed) = (server.graphql.clone(), petitions.clone(), signed.clone(), failed.clone());
            tasks.push(actix_web::rt::spawn(async move {
                let client = client();
                for offset in 0..petitions.len() {
                    if Instant::now() >= stop {
                        break;
                    }
                    let petition = petitions[(index + offset) % petitions.len()];
                    if post(&client, &graphql, Some(&token), &sign_body(petition)).await {
                        signed.fetch_add(1, Ordering::Relaxed);
                    } else {
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }));
        }

        // The probe: one signature at a time on the watched petition, timed until its count arrives.
        let probe_client = client();
        let mut latencies = Vec::new();
        let mut after_ack = Vec::new();
        let mut sign_latencies = Vec::new();
        let mut probe_failures = 0;
        for (sent, token) in probes.iter().enumerate() {
            if Instant::now() >= stop {
                break;
            }
            let sent_at = Instant::now();
            if !post(&probe_client, &server.graphql, Some(token), &sign_body(watched)).await {
                probe_failures += 1;
                continue;
            }
            let acknowledged_at = Instant::now();
            sign_latencies.push(acknowledged_at.duration_since(sent_at).as_micros() as u64);
            let expected = (sent + 1 - probe_failures) as u64;
            loop {
                match tokio::time::timeout(Duration::from_secs(5), arrivals_rx.recv()).await {
                    Ok(Some((count, at))) if count >= expected => {
                        latencies.push(at.duration_since(sent_at).as_micros() as u64);
                        // The message may even beat the HTTP answer: NOTIFY is delivered at commit.
                        after_ack.push(at.saturating_duration_since(acknowledged_at).as_micros() as u64);
                        break;
                    }
                    Ok(Some(_)) => {}
                    _ => support::fail("a probe's count never arrived"),
                }
            }
            actix_web::rt::time::sleep(Duration::from_millis(5)).await;
        }
        for task in tasks {
            let _ = task.await;
        }
        let elapsed = started.elapsed().as_secs_f64();
        latencies.sort_unstable();
        after_ack.sort_unstable();
        sign_latencies.sort_unstable();

        let rows = signature::Entity::find().count(&server.db).await.unwrap_or_else(|error| support::fail(&error.to_string()));
        // The stored counts and their slots not folded yet.
        let counted = support::total_signatures(&server.db).await;
        let load_signed = signed.load(Ordering::Relaxed);
        let expected_rows = load_signed + latencies.len() as u64;

        println!("signatures ({}, {seconds} s, {SIGNERS} concurrent signers, 1 probe, 1 subscriber)", server.backend);
        println!("| measure | value |");
        println!("| --- | ---: |");
        println!("| signatures/s (64 signers) | {:.0} |", load_signed as f64 / elapsed);
        println!("| failed sign requests | {} |", failed.load(Ordering::Relaxed) + probe_failures as u64);
        println!("| sign request under load p50 / p99 ms | {:.2} / {:.2} |", percentile_ms(&sign_latencies, 0.5), percentile_ms(&sign_latencies, 0.99));
        println!("| signed (answer received) → subscriber message p50 / p99 ms | {:.2} / {:.2} |", percentile_ms(&after_ack, 0.5), percentile_ms(&after_ack, 0.99));
        println!("| request sent → subscriber message p50 / p99 ms | {:.2} / {:.2} |", percentile_ms(&latencies, 0.5), percentile_ms(&latencies, 0.99));
        println!("| probe samples | {} |", latencies.len());
        println!("| signature rows / counters / successful signs | {rows} / {counted} / {expected_rows} |");
        let exact = rows == expected_rows && counted as u64 == rows;
        let p99 = percentile_ms(&after_ack, 0.99);
        println!("nothing lost or double-counted: {}", if exact { "yes" } else { "NO" });
        println!("signed → subscriber p99 under 50 ms: {}", if p99 < 50.0 { "met" } else { "NOT met" });
        if !exact {
            std::process::exit(1);
        }
    });
}
