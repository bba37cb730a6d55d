//! A request costs its work, not 1: aliased searches spend the client's budget once each (a
//! search 10 units, a text filter or statistic 4, anything else 1), a `groupedAggregates` as much
//! as a search, a document costing more than a whole budget is refused before it runs, and another
//! client's cheap reads still pass.

use api::config::Limits;
use serde_json::{Value, json};

use crate::support::TestApp;
use crate::support::ws::Subscriber;

db_tests!(
    aliased_searches_spend_the_budget_once_each,
    a_websocket_operation_pays_its_cost_too,
    grouped_aggregates_cost_as_much_as_searches
);

fn aliased_searches(count: usize) -> String {
    let fields: Vec<String> =
        (0..count).map(|index| format!("s{index}: search(query: \"e\", first: 50) {{ __typename }}")).collect();
    format!("{{ {} }}", fields.join(" "))
}

async fn post(app: &TestApp, query: &str) -> (u16, Value) {
    let body = serde_json::to_vec(&json!({ "query": query })).unwrap();
    let response = app.request("POST", "/graphql", &[("content-type", "application/json")], Some(body)).await;
    (response.status, response.json())
}

fn code(response: &Value) -> &str {
    response["errors"][0]["extensions"]["code"].as_str().unwrap_or("none")
}

async fn aliased_searches_spend_the_budget_once_each(app: TestApp) {
    // The default burst of 50, refilled slowly so that a slow machine does not refill it as fast
    // as the test spends it.
    let limited =
        app.respawn(|settings| settings.limits = Limits { requests_per_second: 1, ..Limits::default() }).await;

    // Fifteen searches cost 150 units, more than the whole budget of 50: refused before running.
    let (_, refused) = post(&limited, &aliased_searches(15)).await;
    assert_eq!(code(&refused), "RATE_LIMITED", "{refused}");
    assert!(refused.get("data").is_none_or(Value::is_null), "{refused}");
    assert!(refused["errors"][0]["message"].as_str().unwrap().contains("150 units"), "{refused}");

    // Four searches (40 units) pass once; the bucket then lacks 40 more.
    let (_, first) = post(&limited, &aliased_searches(4)).await;
    assert!(first.get("errors").is_none(), "{first}");
    assert!(first["data"]["s3"].as_array().is_some_and(|hits| !hits.is_empty()), "{first}");
    let (_, second) = post(&limited, &aliased_searches(4)).await;
    assert_eq!(code(&second), "RATE_LIMITED", "{second}");
    assert!(second["errors"][0]["extensions"]["retryAfter"].as_u64().unwrap() >= 1, "{second}");

    // A cheap read from this client still fits what is left, and another client is untouched.
    let (_, cheap) = post(&limited, "{ films(first: 1) { totalCount } }").await;
    assert!(cheap.get("errors").is_none(), "{cheap}");
    let other = limited.graphql_from("127.0.0.2", &aliased_searches(4), json!({})).await;
    assert!(other.get("errors").is_none(), "{other}");
}

async fn a_websocket_operation_pays_its_cost_too(app: TestApp) {
    let limited =
        app.respawn(|settings| settings.limits = Limits { requests_per_second: 1, ..Limits::default() }).await;
    let mut socket = Subscriber::connect(&limited.address, None).await.unwrap();
    socket.subscribe("1", &aliased_searches(15), json!({})).await;
    let answer = socket.receive().await.unwrap();
    assert_eq!(answer["payload"]["data"], Value::Null, "{answer}");
    assert_eq!(answer["payload"]["errors"][0]["extensions"]["code"], "RATE_LIMITED", "{answer}");
}

fn aliased_grouped_aggregates(count: usize) -> String {
    let fields: Vec<String> = (0..count)
        .map(|index| {
            format!(
                "g{index}: petitions {{ aggregate {{ count }} groupedAggregates(groupBy: [STATUS]) {{ keys count }} }}"
            )
        })
        .collect();
    format!("{{ {} }}", fields.join(" "))
}

async fn grouped_aggregates_cost_as_much_as_searches(app: TestApp) {
    let limited =
        app.respawn(|settings| settings.limits = Limits { requests_per_second: 1, ..Limits::default() }).await;

    // Each list costs 1, its aggregate 2 and its groups (up to 1,000 of them) 10: four lists are
    // 52 units, more than the whole budget of 50, and nothing runs.
    let (_, refused) = post(&limited, &aliased_grouped_aggregates(4)).await;
    assert_eq!(code(&refused), "RATE_LIMITED", "{refused}");
    assert!(refused.get("data").is_none_or(Value::is_null), "{refused}");
    assert!(refused["errors"][0]["message"].as_str().unwrap().contains("52 units"), "{refused}");

    // Three (39 units) pass once and answer; the bucket then lacks 39 more.
    let (_, first) = post(&limited, &aliased_grouped_aggregates(3)).await;
    assert!(first.get("errors").is_none(), "{first}");
    assert!(first["data"]["g2"]["groupedAggregates"].as_array().is_some_and(|groups| !groups.is_empty()), "{first}");
    let (_, second) = post(&limited, &aliased_grouped_aggregates(3)).await;
    assert_eq!(code(&second), "RATE_LIMITED", "{second}");
    assert!(second["errors"][0]["extensions"]["retryAfter"].as_u64().unwrap() >= 1, "{second}");
}
