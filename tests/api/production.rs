//! The production switches: introspection and GraphiQL for admins only, no "did you mean"
//! suggestions; development keeps all three open.

use crate::support::TestApp;
use api::config::Environment;
use entity::enums::Role;
use serde_json::json;

const INTROSPECTION: &str = "{ __schema { queryType { name } } }";

db_tests!(in_production_only_admins_introspect_and_open_graphiql, in_production_unknown_names_get_no_suggestions);

async fn in_production_only_admins_introspect_and_open_graphiql(app: TestApp) {
    let production = app.respawn(|settings| settings.environment = Environment::Production).await;
    let fan = production.sign_in_as(Role::Fan).await;
    let admin = production.sign_in_as(Role::Admin).await;

    let anonymous = production.error(INTROSPECTION, json!({})).await;
    assert_eq!(anonymous["extensions"]["code"], "UNAUTHENTICATED");
    let type_lookup = production.error("{ __type(name: \"Film\") { name } }", json!({})).await;
    assert_eq!(type_lookup["extensions"]["code"], "UNAUTHENTICATED");
    let as_fan = production.error_as(&fan.access_token, INTROSPECTION, json!({})).await;
    assert_eq!(as_fan["extensions"]["code"], "FORBIDDEN");
    let as_admin = production.data_as(&admin.access_token, INTROSPECTION, json!({})).await;
    assert_eq!(as_admin["__schema"]["queryType"]["name"], "Query");
    // Clients still get __typename, and ordinary queries run.
    let data = production.data("{ __typename films { totalCount } }", json!({})).await;
    assert_eq!(data["__typename"], "Query");

    assert_eq!(production.get("/graphiql").await.status, 404);
    let bearer = format!("Bearer {}", fan.access_token);
    assert_eq!(production.request("GET", "/graphiql", &[("authorization", &bearer)], None).await.status, 404);
    let bearer = format!("Bearer {}", admin.access_token);
    let page = production.request("GET", "/graphiql", &[("authorization", &bearer)], None).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("GraphiQL"));

    // Development: open to all.
    assert_eq!(app.get("/graphiql").await.status, 200);
    app.data(INTROSPECTION, json!({})).await;
}

async fn in_production_unknown_names_get_no_suggestions(app: TestApp) {
    let typo = "{ films { nodes { titl } } }";
    let development = app.error(typo, json!({})).await;
    assert!(development["message"].as_str().unwrap().contains("Did you mean"), "{development}");
    let production = app.respawn(|settings| settings.environment = Environment::Production).await;
    let error = production.error(typo, json!({})).await;
    assert_eq!(error["extensions"]["code"], "GRAPHQL_VALIDATION_FAILED");
    assert!(!error["message"].as_str().unwrap().contains("Did you mean"), "{error}");
    assert!(!error["message"].as_str().unwrap().contains("title"), "{error}");
}
