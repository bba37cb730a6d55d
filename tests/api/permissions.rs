//! The permission matrix: every mutation and every query field of the built schema, against
//! anonymous, fan, moderator and admin. A new mutation or query field without an entry here fails
//! the suite, and so does one whose guard does not match its entry.

use std::collections::HashMap;

use entity::enums::Role;
use serde_json::{Value, json};

use crate::support::TestApp;

/// Who may call a mutation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Needs {
    Anyone,
    Fan,
    Moderator,
    Admin,
}

fn expected() -> HashMap<&'static str, Needs> {
    use Needs::*;
    HashMap::from([
        ("register", Anyone),
        ("login", Anyone),
        ("refreshSession", Anyone),
        ("logout", Anyone),
        ("changePassword", Fan),
        ("updateProfile", Fan),
        ("deleteAccount", Fan),
        ("verifyEmail", Anyone),
        ("resendVerification", Fan),
        ("requestPasswordReset", Anyone),
        ("resetPassword", Anyone),
        ("setUserRole", Admin),
        ("createFilm", Admin),
        ("updateFilm", Admin),
        ("deleteFilm", Admin),
        ("addCredit", Admin),
        ("removeCredit", Admin),
        ("updateCredit", Admin),
        ("upsertFilm", Admin),
        ("upsertPerson", Admin),
        ("upsertEvent", Admin),
        ("upsertPetition", Admin),
        ("createPerson", Admin),
        ("updatePerson", Admin),
        ("deletePerson", Admin),
        ("createQuote", Admin),
        ("updateQuote", Admin),
        ("deleteQuote", Admin),
        ("createEvent", Admin),
        ("updateEvent", Admin),
        ("deleteEvent", Admin),
        ("createPetition", Admin),
        ("updatePetition", Admin),
        ("deletePetition", Admin),
        ("signPetition", Fan),
        ("withdrawSignature", Fan),
        ("rsvpEvent", Fan),
        ("cancelRsvp", Fan),
        ("submitQuote", Fan),
        ("moderateQuote", Moderator),
        ("postPetitionUpdate", Moderator),
        ("editPetitionUpdate", Moderator),
        ("deletePetitionUpdate", Moderator),
    ])
}

/// Who may read each query field.
fn expected_queries() -> HashMap<&'static str, Needs> {
    use Needs::*;
    HashMap::from([
        ("node", Anyone),
        ("nodes", Anyone),
        ("film", Anyone),
        ("films", Anyone),
        ("person", Anyone),
        ("people", Anyone),
        ("quote", Anyone),
        ("quotes", Anyone),
        ("event", Anyone),
        ("events", Anyone),
        ("petition", Anyone),
        ("petitions", Anyone),
        ("search", Anyone),
        ("searchHits", Anyone),
        ("campaign", Anyone),
        ("me", Anyone),
        ("exportMyData", Fan),
        ("users", Admin),
        ("auditLog", Admin),
        ("user", Admin),
    ])
}

const INTROSPECTION: &str = r#"{ __schema { mutationType { fields { name args { name type { ...Ref } } type { ...Ref } } }
  queryType { fields { name args { name type { ...Ref } } type { ...Ref } } }
  types { name kind enumValues { name } inputFields { name type { ...Ref } } } } }
  fragment Ref on __Type { kind name ofType { kind name ofType { kind name ofType { kind name } } } }"#;

/// A literal of `type_ref` good enough to pass GraphQL validation (not the domain's rules).
fn literal(type_ref: &Value, types: &HashMap<String, Value>) -> String {
    match type_ref["kind"].as_str().unwrap() {
        "NON_NULL" => literal(&type_ref["ofType"], types),
        "LIST" => "[]".to_owned(),
        "ENUM" => types[type_ref["name"].as_str().unwrap()]["enumValues"][0]["name"].as_str().unwrap().to_owned(),
        "INPUT_OBJECT" => {
            let input = &types[type_ref["name"].as_str().unwrap()];
            let fields: Vec<String> = input["inputFields"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|field| field["type"]["kind"] == "NON_NULL")
                .map(|field| format!("{}: {}", field["name"].as_str().unwrap(), literal(&field["type"], types)))
                .collect();
            format!("{{ {} }}", fields.join(", "))
        }
        _ => match type_ref["name"].as_str().unwrap() {
            "Int" | "Money" => "1".to_owned(),
            "Float" => "1.5".to_owned(),
            "Boolean" => "true".to_owned(),
            "Date" => "\"2020-01-01\"".to_owned(),
            "DateTime" => "\"2020-01-01T00:00:00Z\"".to_owned(),
            // A well-formed global ID of a row that does not exist.
            "ID" => "\"RmlsbTo5OTk5OTk5\"".to_owned(),
            _ => "\"x\"".to_owned(),
        },
    }
}

fn returns_object(type_ref: &Value) -> bool {
    match type_ref["kind"].as_str().unwrap() {
        "NON_NULL" | "LIST" => returns_object(&type_ref["ofType"]),
        kind => kind == "OBJECT" || kind == "INTERFACE" || kind == "UNION",
    }
}

async fn code_of(app: &TestApp, token: Option<&str>, operation: &str) -> String {
    let response = app.graphql_as(token, operation, json!({})).await;
    response["errors"][0]["extensions"]["code"].as_str().unwrap_or("OK").to_owned()
}

/// Calls every field of `root` (`mutationType` or `queryType`) as anonymous, fan, moderator and
/// admin, and checks each is refused or let through as `expected` says.
async fn check_matrix(app: &TestApp, root: &str, keyword: &str, expected: HashMap<&'static str, Needs>) {
    let schema = app.data(INTROSPECTION, json!({})).await;
    let types: HashMap<String, Value> = schema["__schema"]["types"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["name"].as_str().unwrap().to_owned(), t.clone()))
        .collect();
    let fields = schema["__schema"][root]["fields"].as_array().unwrap().clone();
    let names: Vec<&str> = fields.iter().map(|m| m["name"].as_str().unwrap()).collect();
    for name in &names {
        assert!(expected.contains_key(name), "{keyword} field `{name}` has no entry in the permission matrix");
    }
    assert_eq!(names.len(), expected.len(), "the matrix names {keyword} fields the schema lacks");

    let fan = app.sign_in_as(Role::Fan).await;
    let moderator = app.sign_in_as(Role::Moderator).await;
    let admin = app.sign_in_as(Role::Admin).await;
    let viewers = [
        (Needs::Anyone, None),
        (Needs::Fan, Some(fan.access_token.as_str())),
        (Needs::Moderator, Some(moderator.access_token.as_str())),
        (Needs::Admin, Some(admin.access_token.as_str())),
    ];
    for field in &fields {
        let name = field["name"].as_str().unwrap();
        let args: Vec<String> = field["args"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|arg| keyword == "mutation" || arg["type"]["kind"] == "NON_NULL")
            .map(|arg| format!("{}: {}", arg["name"].as_str().unwrap(), literal(&arg["type"], &types)))
            .collect();
        let arguments = if args.is_empty() { String::new() } else { format!("({})", args.join(", ")) };
        let selection = if returns_object(&field["type"]) { " { __typename }" } else { "" };
        let operation = format!("{keyword} {{ {name}{arguments}{selection} }}");
        let needs = expected[name];
        let mut public_codes = Vec::new();
        for (level, token) in viewers {
            let code = code_of(app, token, &operation).await;
            if needs == Needs::Anyone {
                public_codes.push(code);
            } else if level < needs {
                let refusal = if token.is_none() { "UNAUTHENTICATED" } else { "FORBIDDEN" };
                assert_eq!(code, refusal, "{operation} as {level:?}");
            } else {
                assert!(
                    code != "UNAUTHENTICATED" && code != "FORBIDDEN",
                    "{operation} as {level:?} was refused: {code}"
                );
            }
        }
        if needs == Needs::Anyone {
            assert!(
                public_codes.iter().all(|code| code == &public_codes[0]),
                "{operation} depends on the viewer: {public_codes:?}"
            );
            assert!(public_codes[0] != "FORBIDDEN", "{operation}");
        }
    }
}

db_tests!(every_mutation_is_guarded_as_declared, every_query_field_is_guarded_as_declared);

async fn every_mutation_is_guarded_as_declared(app: TestApp) {
    check_matrix(&app, "mutationType", "mutation", expected()).await;
}

async fn every_query_field_is_guarded_as_declared(app: TestApp) {
    // `exportMyData` carries the instant of the export, so two calls in a row differ.
    let app = app.without_differential();
    check_matrix(&app, "queryType", "query", expected_queries()).await;
}
