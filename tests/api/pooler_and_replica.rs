//! PostgreSQL deployments (see docs/OPERATIONS.md, "Running a cluster"): fandb behind a transaction-pooling
//! PgBouncer with only two server connections, and a read replica that is down. The whole cluster,
//! with a real replica, is played by `.ci/cluster`.

use serde_json::json;

use crate::support::backends::run;
use crate::support::pgbouncer::PgBouncer;
use crate::support::{Backend, fixtures};

const SIGN: &str = "mutation($p: ID!) { signPetition(petitionId: $p) { id } }";
const WITHDRAW: &str = "mutation($p: ID!) { withdrawSignature(petitionId: $p) }";
const PETITION: &str = r#"{ petition(slug: "open-letter-to-disney-alita-sequel") { id signatureCount } }"#;
const SIGNED: &str = r#"{ petition(slug: "open-letter-to-disney-alita-sequel") { viewerHasSigned } }"#;
const READS: &str =
    "{ films(first: 5) { nodes { title credits { nodes { person { name } } } } } people(first: 5) { nodes { name } } }";

#[test]
fn fans_sign_withdraw_and_read_through_a_transaction_pooling_pgbouncer() {
    run(Backend::Postgres, |app| async move {
        let Some(bouncer) = PgBouncer::start(&app.database_url) else { return };
        let direct = app.database_url.clone();
        let through_bouncer = bouncer.url();
        let pooled = app
            .respawn(move |settings| {
                settings.database_url = through_bouncer;
                settings.database_transaction_pooler = true;
                settings.database_listen_url = Some(direct);
            })
            .await;
        let petition = pooled.data(PETITION, json!({})).await;
        let petition_id = petition["petition"]["id"].as_str().unwrap().to_owned();
        let mut fans = Vec::new();
        for n in 0..12 {
            fans.push(fixtures::fan(&app.db, &format!("Pooled Fan {n}")).await.1);
        }
        // Twelve fans sign, withdraw and sign again while others read, all at once: many clients
        // shuffled over two server connections, every statement parsed and run in one exchange.
        let work = fans.iter().map(|token| {
            let pooled = &pooled;
            let petition_id = petition_id.clone();
            async move {
                for mutation in [SIGN, WITHDRAW, SIGN] {
                    let response = pooled.graphql_as(Some(token), mutation, json!({ "p": petition_id })).await;
                    assert!(response.get("errors").is_none(), "{response}");
                    let read = pooled.graphql_as(None, READS, json!({})).await;
                    assert!(read.get("errors").is_none(), "{read}");
                }
                pooled.data_as(token, SIGNED, json!({})).await["petition"]["viewerHasSigned"].clone()
            }
        });
        let signed = futures_util::future::join_all(work).await;
        assert!(signed.iter().all(|signed| signed == true), "{signed:?}");
        let after = pooled.data(PETITION, json!({})).await;
        assert_eq!(after["petition"]["signatureCount"], 12);
        drop(bouncer);
    });
}

#[test]
fn queries_answer_from_the_primary_while_the_read_replica_is_down() {
    run(Backend::Postgres, |app| async move {
        let replicated = app
            .respawn(|settings| {
                // Nothing listens on port 1: every attempt to reach the replica is refused.
                settings.database_read_url = Some("postgres://fandb:fandb@127.0.0.1:1/fandb".to_owned());
            })
            .await;
        let (_, token) = fixtures::fan(&app.db, "Replica Fan").await;
        let petition = replicated.data(PETITION, json!({})).await;
        let petition_id = petition["petition"]["id"].as_str().unwrap().to_owned();
        for _ in 0..20 {
            let read = replicated.graphql_as(None, READS, json!({})).await;
            assert!(read.get("errors").is_none(), "{read}");
        }
        replicated.data_as(&token, SIGN, json!({ "p": petition_id })).await;
        let signed = replicated.data_as(&token, SIGNED, json!({})).await;
        assert_eq!(signed["petition"]["viewerHasSigned"], true);
        let metrics = replicated.request("GET", "/metrics", &[], None).await.body;
        assert!(metrics.contains("fandb_replica_queries_total 0"), "{metrics}");
    });
}
