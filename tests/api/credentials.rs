//! What an account's credentials may be: one canonical form per mailbox (no angle brackets, no
//! IP-address domains, no mixed-script look-alikes; fullwidth letters are the same mailbox as
//! their ASCII twins), and no password that is only white space or one of the most common ones.
//! A refused value is `BAD_USER_INPUT` naming the field, and changes nothing.

use entity::enums::Role;
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{Value, json};

use crate::support::{TestApp, fixtures};

const REGISTER: &str = "mutation($input: RegisterInput!) { register(input: $input) { accessToken user { email } } }";
const LOGIN: &str = "mutation($email: String!, $password: String!) { login(input: { email: $email, password: $password }) { user { email } } }";
const PASSWORD: &str = "motorball-2563";

async fn register(app: &TestApp, email: &str, password: &str) -> Value {
    app.graphql(REGISTER, json!({ "input": { "email": email, "password": password, "displayName": "Credential Fan" } }))
        .await
}

/// The code and field of the first error.
fn refusal(response: &Value) -> (&str, &str) {
    let error = &response["errors"][0]["extensions"];
    (error["code"].as_str().unwrap_or("none"), error["field"].as_str().unwrap_or("none"))
}

async fn users(app: &TestApp) -> u64 {
    entity::user::Entity::find().count(&app.db).await.unwrap()
}

db_tests!(one_mailbox_has_one_form_and_one_account, common_and_blank_passwords_are_refused_everywhere);

async fn one_mailbox_has_one_form_and_one_account(app: TestApp) {
    let registered = register(&app, "alita@iron.city", PASSWORD).await;
    assert_eq!(registered["data"]["register"]["user"]["email"], "alita@iron.city", "{registered}");
    let stored = users(&app).await;
    for email in [
        "<alita@iron.city>",
        "Alita <alita@iron.city>",
        "alita@[127.0.0.1]",
        "alita@127.0.0.1",
        // Cyrillic а (U+0430) for the Latin a, and Cyrillic о (U+043E) in the domain.
        "\u{0430}lita@iron.city",
        "alita@ir\u{043e}n.city",
        "\"alita\"@iron.city",
    ] {
        let response = register(&app, email, PASSWORD).await;
        assert_eq!(refusal(&response), ("BAD_USER_INPUT", "input.email"), "{email}: {response}");
    }
    // Fullwidth letters are the same mailbox: taken, and it signs in to the same account.
    let fullwidth = register(&app, "ａｌｉｔａ@iron.city", PASSWORD).await;
    assert_eq!(refusal(&fullwidth), ("CONFLICT", "input.email"), "{fullwidth}");
    let login = app.graphql(LOGIN, json!({ "email": "ＡＬＩＴＡ＠ｉｒｏｎ．ｃｉｔｙ", "password": PASSWORD })).await;
    assert_eq!(login["data"]["login"]["user"]["email"], "alita@iron.city", "{login}");
    assert_eq!(users(&app).await, stored, "nothing refused was stored");
}

async fn common_and_blank_passwords_are_refused_everywhere(app: TestApp) {
    let stored = users(&app).await;
    for (n, password) in
        ["password", "PassWord", "12345678", "Qwertyui", "iloveyou", "        ", "\t \t \t \t "].into_iter().enumerate()
    {
        let response = register(&app, &format!("weak{n}@iron.city"), password).await;
        assert_eq!(refusal(&response), ("BAD_USER_INPUT", "input.password"), "{password:?}: {response}");
    }
    assert_eq!(users(&app).await, stored, "no account was stored");

    let fan = app.sign_in_as(Role::Fan).await;
    let change =
        "mutation($new: String!) { changePassword(currentPassword: \"correct horse battery\", newPassword: $new) }";
    let refused = app.error_as(&fan.access_token, change, json!({ "new": "Password1" })).await;
    assert_eq!(refused["extensions"]["code"], "BAD_USER_INPUT", "{refused}");
    assert_eq!(refused["extensions"]["field"], "newPassword");

    // A refused new password leaves the reset link working.
    let token = fixtures::reset_token(&app.db, fan.id).await;
    let reset = "mutation($token: String!, $new: String!) { resetPassword(token: $token, newPassword: $new) }";
    let refused = app.graphql(reset, json!({ "token": token, "new": "iloveyou" })).await;
    assert_eq!(refusal(&refused), ("BAD_USER_INPUT", "newPassword"), "{refused}");
    let login = app.graphql(LOGIN, json!({ "email": fan.email, "password": "correct horse battery" })).await;
    assert!(login["data"]["login"]["user"].is_object(), "the password did not change: {login}");
    let done = app.graphql(reset, json!({ "token": token, "new": "a-far-less-common-one" })).await;
    assert_eq!(done["data"]["resetPassword"], true, "{done}");
}
