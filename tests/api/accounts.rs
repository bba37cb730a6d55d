//! Accounts: the whole life cycle of a session, and what a role change or deletion does at once.

use entity::enums::Role;
use serde_json::{Value, json};

use crate::support::TestApp;

const REGISTER: &str = "mutation($input: RegisterInput!) { register(input: $input) { accessToken refreshToken expiresAt user { id email role displayName } } }";
const LOGIN: &str = "mutation($email: String!, $password: String!) { login(input: { email: $email, password: $password }) { accessToken refreshToken user { email } } }";
const REFRESH: &str = "mutation($token: String!) { refreshSession(refreshToken: $token) { accessToken refreshToken } }";
const CREATE_FILM: &str =
    r#"mutation { createFilm(input: { title: "Alita: Battle Angel III", status: ANNOUNCED }) { slug } }"#;

async fn register(app: &TestApp, email: &str, password: &str) -> Value {
    app.graphql(REGISTER, json!({ "input": { "email": email, "password": password, "displayName": "Iron City Fan" } }))
        .await
}

async fn refresh(app: &TestApp, token: &str) -> Value {
    app.graphql(REFRESH, json!({ "token": token })).await
}

fn code(response: &Value) -> &str {
    response["errors"][0]["extensions"]["code"].as_str().unwrap_or("none")
}

db_tests!(
    the_full_account_life_cycle,
    an_unknown_email_and_a_wrong_password_get_the_same_answer,
    registration_checks_its_input_before_anything_is_stored,
    a_demoted_admin_loses_access_at_once_and_a_deleted_user_is_refused,
    the_last_admin_cannot_be_demoted,
    create_admin_bootstraps_an_admin_who_can_create_a_film_and_a_fan_cannot,
    emails_are_private_to_their_owner_and_admins,
    of_two_password_changes_from_one_password_only_one_wins
);

async fn the_full_account_life_cycle(app: TestApp) {
    // Register: a fan, signed in, who sees their own email; the stored email is normalised.
    let registered = register(&app, "  Hunter@Iron.City ", "motorball-2563").await;
    let payload = &registered["data"]["register"];
    assert_eq!(payload["user"]["role"], "FAN");
    assert_eq!(payload["user"]["email"], "hunter@iron.city");
    let access = payload["accessToken"].as_str().unwrap().to_owned();
    let first_refresh = payload["refreshToken"].as_str().unwrap().to_owned();
    let me = app.data_as(&access, "{ me { email displayName role } }", json!({})).await;
    assert_eq!(me["me"], json!({ "email": "hunter@iron.city", "displayName": "Iron City Fan", "role": "FAN" }));

    // Refresh rotates: the new pair works, the old refresh token does not.
    let rotated = refresh(&app, &first_refresh).await;
    let second_refresh = rotated["data"]["refreshSession"]["refreshToken"].as_str().unwrap().to_owned();
    assert_ne!(second_refresh, first_refresh);
    let new_access = rotated["data"]["refreshSession"]["accessToken"].as_str().unwrap().to_owned();
    assert_eq!(app.data_as(&new_access, "{ me { role } }", json!({})).await["me"]["role"], "FAN");

    // Reusing the rotated token is theft: it fails and revokes the whole session.
    assert_eq!(code(&refresh(&app, &first_refresh).await), "UNAUTHENTICATED");
    assert_eq!(code(&refresh(&app, &second_refresh).await), "UNAUTHENTICATED", "the session was revoked");

    // A fresh login (email in any case) starts a new session; logout ends it.
    let login = app.graphql(LOGIN, json!({ "email": "HUNTER@iron.city", "password": "motorball-2563" })).await;
    let session_refresh = login["data"]["login"]["refreshToken"].as_str().unwrap().to_owned();
    let logout = app.data("mutation($t: String!) { logout(refreshToken: $t) }", json!({ "t": session_refresh })).await;
    assert_eq!(logout["logout"], true);
    assert_eq!(code(&refresh(&app, &session_refresh).await), "UNAUTHENTICATED");
    let again = app.data("mutation($t: String!) { logout(refreshToken: $t) }", json!({ "t": session_refresh })).await;
    assert_eq!(again["logout"], false);

    // Changing the password needs the current one, then ends every session.
    let other = app.graphql(LOGIN, json!({ "email": "hunter@iron.city", "password": "motorball-2563" })).await;
    let other_refresh = other["data"]["login"]["refreshToken"].as_str().unwrap().to_owned();
    let session_access = other["data"]["login"]["accessToken"].as_str().unwrap().to_owned();
    let change = "mutation($c: String!, $n: String!) { changePassword(currentPassword: $c, newPassword: $n) }";
    let wrong =
        app.error_as(&session_access, change, json!({ "c": "not-my-password", "n": "zalem-forever-2563" })).await;
    assert_eq!(wrong["extensions"]["code"], "BAD_USER_INPUT");
    assert_eq!(wrong["extensions"]["field"], "currentPassword");
    let short = app.error_as(&session_access, change, json!({ "c": "motorball-2563", "n": "short" })).await;
    assert_eq!(short["extensions"]["field"], "newPassword");
    let changed =
        app.data_as(&session_access, change, json!({ "c": "motorball-2563", "n": "zalem-forever-2563" })).await;
    assert_eq!(changed["changePassword"], true);
    assert_eq!(
        code(&refresh(&app, &other_refresh).await),
        "UNAUTHENTICATED",
        "old sessions end with a password change"
    );
    let old = app.graphql(LOGIN, json!({ "email": "hunter@iron.city", "password": "motorball-2563" })).await;
    assert_eq!(code(&old), "UNAUTHENTICATED");
    let new = app.graphql(LOGIN, json!({ "email": "hunter@iron.city", "password": "zalem-forever-2563" })).await;
    assert!(new["data"]["login"]["accessToken"].is_string());
}

async fn an_unknown_email_and_a_wrong_password_get_the_same_answer(app: TestApp) {
    register(&app, "ido@iron.city", "cyber-surgeon-1").await;
    let wrong_password = app.graphql(LOGIN, json!({ "email": "ido@iron.city", "password": "not-the-password" })).await;
    let unknown_email =
        app.graphql(LOGIN, json!({ "email": "nobody@iron.city", "password": "not-the-password" })).await;
    assert_eq!(code(&wrong_password), "UNAUTHENTICATED");
    assert_eq!(wrong_password["errors"][0]["message"], unknown_email["errors"][0]["message"]);
    assert_eq!(wrong_password["errors"][0]["extensions"], unknown_email["errors"][0]["extensions"]);
}

async fn registration_checks_its_input_before_anything_is_stored(app: TestApp) {
    let cases = [
        ("not-an-email", "long-enough-password", "input.email", "BAD_USER_INPUT"),
        ("a@b.co", "short", "input.password", "BAD_USER_INPUT"),
        ("a@b.co", &"x".repeat(129), "input.password", "BAD_USER_INPUT"),
    ];
    for (email, password, field, expected) in cases {
        let response = register(&app, email, password).await;
        assert_eq!(code(&response), expected, "{email}");
        assert_eq!(response["errors"][0]["extensions"]["field"], field);
    }
    register(&app, "gally@iron.city", "long-enough-password").await;
    let duplicate = register(&app, "GALLY@iron.city ", "long-enough-password").await;
    assert_eq!(code(&duplicate), "CONFLICT");
    assert_eq!(duplicate["errors"][0]["extensions"]["field"], "input.email");
    let blank_name = app
        .graphql(
            REGISTER,
            json!({ "input": { "email": "new@iron.city", "password": "long-enough-password", "displayName": "  " } }),
        )
        .await;
    assert_eq!(blank_name["errors"][0]["extensions"]["field"], "input.displayName");
    let login = app.graphql(LOGIN, json!({ "email": "a@b.co", "password": "long-enough-password" })).await;
    assert_eq!(code(&login), "UNAUTHENTICATED", "no account was stored by the refused registrations");
}

async fn a_demoted_admin_loses_access_at_once_and_a_deleted_user_is_refused(app: TestApp) {
    let admin = app.sign_in_as(Role::Admin).await;
    assert!(app.data_as(&admin.access_token, CREATE_FILM, json!({})).await["createFilm"]["slug"].is_string());
    // The role is read fresh: a changed role takes effect on the same token (`setUserRole` goes
    // further and ends the user's sessions, see `sessions`).
    {
        use sea_orm::{ActiveModelTrait, ActiveValue, EntityTrait};
        let user = entity::user::Entity::find_by_id(admin.id).one(&app.db).await.unwrap().unwrap();
        let mut model: entity::user::ActiveModel = user.into();
        model.role = ActiveValue::Set(Role::Fan);
        model.update(&app.db).await.unwrap();
    }
    let refused = app.error_as(&admin.access_token, CREATE_FILM, json!({})).await;
    assert_eq!(refused["extensions"]["code"], "FORBIDDEN", "the same token no longer carries admin rights");

    use sea_orm::EntityTrait;
    entity::user::Entity::delete_by_id(admin.id).exec(&app.db).await.unwrap();
    let response = app
        .request(
            "POST",
            "/graphql",
            &[("content-type", "application/json"), ("authorization", &format!("Bearer {}", admin.access_token))],
            Some(json!({ "query": "{ me { id } }" }).to_string().into_bytes()),
        )
        .await;
    assert_eq!(response.status, 401);
    assert_eq!(response.json()["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
}

async fn the_last_admin_cannot_be_demoted(app: TestApp) {
    let admin = app.sign_in_as(Role::Admin).await;
    let demote = "mutation($id: ID!) { setUserRole(userId: $id, role: MODERATOR) { role } }";
    let error = app.error_as(&admin.access_token, demote, json!({ "id": admin.global_id })).await;
    assert_eq!(error["extensions"]["code"], "CONFLICT");
    assert_eq!(app.data_as(&admin.access_token, "{ me { role } }", json!({})).await["me"]["role"], "ADMIN");
    let fan = app.sign_in_as(Role::Fan).await;
    let promote = "mutation($id: ID!) { setUserRole(userId: $id, role: MODERATOR) { role email } }";
    let promoted = app.data_as(&admin.access_token, promote, json!({ "id": fan.global_id })).await;
    assert_eq!(promoted["setUserRole"], json!({ "role": "MODERATOR", "email": fan.email }));
}

async fn create_admin_bootstraps_an_admin_who_can_create_a_film_and_a_fan_cannot(app: TestApp) {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_fandb"))
        .args(["create-admin", "--email", "Root@Iron.City", "--display-name", "Root"])
        .env("DATABASE_URL", &app.database_url)
        .env("FANDB_ADMIN_PASSWORD", "root-password-2563")
        .env("RUST_LOG", "warn")
        .output()
        .expect("run fandb create-admin");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let login = app.graphql(LOGIN, json!({ "email": "root@iron.city", "password": "root-password-2563" })).await;
    let token = login["data"]["login"]["accessToken"].as_str().unwrap().to_owned();
    assert_eq!(app.data_as(&token, "{ me { role } }", json!({})).await["me"]["role"], "ADMIN");
    assert_eq!(app.data_as(&token, CREATE_FILM, json!({})).await["createFilm"]["slug"], "alita-battle-angel-iii");
    let fan = app.sign_in_as(Role::Fan).await;
    assert_eq!(app.error_as(&fan.access_token, CREATE_FILM, json!({})).await["extensions"]["code"], "FORBIDDEN");
    let anonymous = app.graphql(CREATE_FILM, json!({})).await;
    assert_eq!(code(&anonymous), "UNAUTHENTICATED");
    // The bootstrap is in the audit trail, with no actor (nobody was signed in) and no secret.
    let log = app
        .data_as(
            &token,
            r#"{ auditLog(filter: { entityType: "User" }) { nodes { action actor { id } after } } }"#,
            json!({}),
        )
        .await;
    let created = log["auditLog"]["nodes"].as_array().unwrap().iter().find(|e| e["action"] == "createUser").cloned();
    let created = created.expect("a createUser row");
    assert_eq!(created["actor"], Value::Null);
    let after = created["after"].as_str().unwrap();
    assert!(
        after.contains("root@iron.city") && after.to_lowercase().contains("admin") && !after.contains("argon2"),
        "{after}"
    );
}

async fn emails_are_private_to_their_owner_and_admins(app: TestApp) {
    let fan = app.sign_in_as(Role::Fan).await;
    let other = app.sign_in_as(Role::Fan).await;
    let admin = app.sign_in_as(Role::Admin).await;
    let query = "query($id: ID!) { node(id: $id) { ... on User { email displayName } } }";
    let own = app.data_as(&fan.access_token, query, json!({ "id": fan.global_id })).await;
    assert_eq!(own["node"]["email"], json!(fan.email));
    let as_other = app.data_as(&other.access_token, query, json!({ "id": fan.global_id })).await;
    assert_eq!(as_other["node"], Value::Null, "another fan cannot look a user up");
    let as_admin = app.data_as(&admin.access_token, query, json!({ "id": fan.global_id })).await;
    assert_eq!(as_admin["node"]["email"], json!(fan.email));
}

db_tests!(create_admin_hides_a_typed_password_and_still_reads_a_piped_one);

/// Runs `fandb create-admin` for `email` with `password` written to its standard input through a
/// pipe; whether it succeeded, and what it wrote.
fn create_admin_piped(database_url: &str, email: &str, password: &str) -> std::process::Output {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_fandb"))
        .args(["create-admin", "--email", email, "--display-name", "Piped Root"])
        .env("DATABASE_URL", database_url)
        .env_remove("FANDB_ADMIN_PASSWORD")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run fandb create-admin");
    child.stdin.take().unwrap().write_all(format!("{password}\n").as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

/// Runs `fandb create-admin` for `email` on a terminal of its own (a pty made by util-linux
/// `script`), types `password` once the prompt is up, and returns the exit status and everything
/// the terminal showed; `None` when `script` is not installed.
fn create_admin_on_a_terminal(database_url: &str, email: &str, password: &str) -> Option<(bool, String)> {
    use std::io::{Read, Write};
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};
    if !crate::support::process::script_available() {
        return None;
    }
    let mut child = Command::new("script")
        .args([
            "--quiet",
            "--return",
            "--command",
            r#"exec "$FANDB_BIN" create-admin --email "$ADMIN_EMAIL" --display-name Root"#,
            "/dev/null",
        ])
        .env("SHELL", "/bin/sh")
        .env("FANDB_BIN", env!("CARGO_BIN_EXE_fandb"))
        .env("ADMIN_EMAIL", email)
        .env("DATABASE_URL", database_url)
        .env_remove("FANDB_ADMIN_PASSWORD")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run script");
    let shown = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut stdout = child.stdout.take().unwrap();
    let reader = {
        let shown = shown.clone();
        std::thread::spawn(move || {
            let mut buffer = [0_u8; 1024];
            while let Ok(read @ 1..) = stdout.read(&mut buffer) {
                shown.lock().unwrap().extend_from_slice(&buffer[..read]);
            }
        })
    };
    let started = Instant::now();
    while !String::from_utf8_lossy(&shown.lock().unwrap()).contains("Password for") {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no prompt: {:?}",
            String::from_utf8_lossy(&shown.lock().unwrap())
        );
        if let Ok(Some(status)) = child.try_wait() {
            panic!(
                "create-admin exited ({status}) before prompting: {:?}",
                String::from_utf8_lossy(&shown.lock().unwrap())
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    // The prompt is written just before echo is turned off: give the program that moment, as a
    // person typing would.
    std::thread::sleep(Duration::from_secs(1));
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(format!("{password}\r").as_bytes()).unwrap();
    stdin.flush().unwrap();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(started.elapsed() < Duration::from_secs(120), "create-admin did not finish");
        std::thread::sleep(Duration::from_millis(20));
    };
    drop(stdin);
    reader.join().unwrap();
    let shown = String::from_utf8_lossy(&shown.lock().unwrap()).into_owned();
    Some((status.success(), shown))
}

async fn create_admin_hides_a_typed_password_and_still_reads_a_piped_one(app: TestApp) {
    // Piped, as scripts do: one line, the line end not part of the password.
    let piped = create_admin_piped(&app.database_url, "piped@iron.city", "piped-password-2563");
    assert!(piped.status.success(), "{}", String::from_utf8_lossy(&piped.stderr));
    let login = app.graphql(LOGIN, json!({ "email": "piped@iron.city", "password": "piped-password-2563" })).await;
    assert_eq!(login["data"]["login"]["user"]["email"], "piped@iron.city", "{login}");

    // Typed at a terminal: the password never appears on it.
    let typed_password = "typed-secret-2563";
    let Some((succeeded, shown)) = create_admin_on_a_terminal(&app.database_url, "typed@iron.city", typed_password)
    else {
        return;
    };
    assert!(succeeded, "create-admin on a terminal failed: {shown}");
    assert!(shown.contains("Password for typed@iron.city"), "{shown}");
    assert!(!shown.contains(typed_password), "the typed password was echoed: {shown:?}");
    let login = app.graphql(LOGIN, json!({ "email": "typed@iron.city", "password": typed_password })).await;
    assert_eq!(login["data"]["login"]["user"]["email"], "typed@iron.city", "{login}");
}

/// Two `changePassword`s sent at once from the same current password: only one is told `true`.
/// The other finds the password changed (`BAD_USER_INPUT` on `currentPassword`), or comes after
/// the winner ended its session (`UNAUTHENTICATED`); never both `true` for passwords that cannot
/// both hold.
async fn of_two_password_changes_from_one_password_only_one_wins(app: TestApp) {
    let change = "mutation($c: String!, $n: String!) { changePassword(currentPassword: $c, newPassword: $n) }";
    let send = async |token: &str, current: &str, new: &str| {
        let authorization = format!("Bearer {token}");
        let headers = [("content-type", "application/json"), ("authorization", authorization.as_str())];
        let body = json!({ "query": change, "variables": { "c": current, "n": new } }).to_string().into_bytes();
        let response = app.request("POST", "/graphql", &headers, Some(body)).await;
        assert!(matches!(response.status, 200 | 401), "{}: {}", response.status, response.body);
        response.json()
    };
    let mut current = "correct horse battery".to_owned();
    let fan = app.sign_in_as(Role::Fan).await;
    for round in 0..5 {
        let (first_token, _) = crate::support::fixtures::refreshable_session(&app.db, fan.id, Role::Fan).await;
        let (second_token, _) = crate::support::fixtures::refreshable_session(&app.db, fan.id, Role::Fan).await;
        let (first_new, second_new) = (format!("first-choice-{round}"), format!("second-choice-{round}"));
        let (first, second) =
            futures_util::join!(send(&first_token, &current, &first_new), send(&second_token, &current, &second_new));
        let won: Vec<&str> = [(&first, &first_new), (&second, &second_new)]
            .into_iter()
            .filter(|(answer, _)| answer["data"]["changePassword"] == true)
            .map(|(_, new)| new.as_str())
            .collect();
        assert_eq!(won.len(), 1, "round {round}: exactly one change wins: {first} {second}");
        let lost = if won[0] == first_new { &second } else { &first };
        assert!(
            (code(lost) == "BAD_USER_INPUT" && lost["errors"][0]["extensions"]["field"] == "currentPassword")
                || code(lost) == "UNAUTHENTICATED",
            "round {round}: {lost}"
        );
        current = won[0].to_owned();
        let login = app.graphql(LOGIN, json!({ "email": fan.email, "password": current })).await;
        assert!(
            login["data"]["login"]["accessToken"].is_string(),
            "round {round}: the winner's password holds: {login}"
        );
    }
}
