//! Email verification and password reset with real mail: the server sends through a real SMTP
//! listener on 127.0.0.1 (`support::smtp`), and the tests read the links out of what arrived and
//! follow them over HTTP. Also: `FANDB_REQUIRE_VERIFIED_EMAIL`, development's logged mail,
//! production's refusal without SMTP, and no token or password in any log line.

use std::time::Duration;

use api::config::Secret;
use api::config::{Environment, Limits, MailPacing, Settings};
use entity::account_token;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};

use crate::support::TestApp;
use crate::support::fixtures::{events, gid};
use crate::support::process::ServerProcess;
use crate::support::smtp::SmtpSink;

const PASSWORD: &str = "correct horse battery";
const REGISTER: &str = "mutation($input: RegisterInput!) { register(input: $input) { accessToken refreshToken user { id emailVerified } } }";
const ME: &str = "{ me { emailVerified } }";
const RESEND: &str = "mutation { resendVerification }";
const REQUEST_RESET: &str = "mutation($email: String!) { requestPasswordReset(email: $email) }";
const RESET: &str =
    "mutation($token: String!, $password: String!) { resetPassword(token: $token, newPassword: $password) }";
const VERIFY: &str = "mutation($token: String!) { verifyEmail(token: $token) }";
const LOGIN: &str = "mutation($email: String!, $password: String!) { login(input: { email: $email, password: $password }) { accessToken } }";

/// A second server on the test's database that sends its mail to `sink`.
async fn with_sink(app: &TestApp, sink: &SmtpSink) -> TestApp {
    mailing_to(app, sink, |_| {}).await
}

/// Like `with_sink`, with `configure` changing the settings after the mail's.
async fn mailing_to(app: &TestApp, sink: &SmtpSink, configure: impl FnOnce(&mut Settings)) -> TestApp {
    let url = sink.url();
    app.respawn(move |settings| {
        settings.mail.smtp_url = Some(Secret::new(url));
        configure(settings);
    })
    .await
}

/// Like `with_sink`, with `pacing` for the mail one address may receive.
async fn with_sink_paced(app: &TestApp, sink: &SmtpSink, pacing: MailPacing) -> TestApp {
    mailing_to(app, sink, |settings| settings.mail.pacing = pacing).await
}

/// Back-to-back mails to one address (no gap), up to `per_hour` an hour.
fn no_gap(per_hour: u32) -> MailPacing {
    MailPacing { per_hour, min_gap: Duration::ZERO }
}

/// A registered fan: their email and the register payload.
async fn register(app: &TestApp, email: &str) -> Value {
    let data = app
        .data(REGISTER, json!({ "input": { "email": email, "password": PASSWORD, "displayName": "Mail Fan" } }))
        .await;
    data["register"].clone()
}

/// The path and query of a link to `app`, checked to point at it.
#[track_caller]
fn local_path(app: &TestApp, link: &str) -> String {
    link.strip_prefix(&app.address).unwrap_or_else(|| panic!("{link} does not point at {}", app.address)).to_owned()
}

fn token_of(link: &str) -> String {
    link.split_once("token=").map(|(_, token)| token.to_owned()).expect("a token in the link")
}

/// `{ me { emailVerified } }` with `token`, whatever the status (an ended session is a 401).
async fn me_with(app: &TestApp, token: &str) -> Value {
    let authorization = format!("Bearer {token}");
    let headers = [("content-type", "application/json"), ("authorization", authorization.as_str())];
    app.request("POST", "/graphql", &headers, Some(json!({ "query": ME }).to_string().into_bytes())).await.json()
}

fn code(response: &Value) -> &str {
    response["errors"][0]["extensions"]["code"].as_str().unwrap_or("OK")
}

db_tests!(
    registering_mails_a_link_that_verifies_the_address_once,
    resending_keeps_earlier_links_until_one_is_used_and_counts_against_the_sign_in_limit,
    a_reset_link_sets_the_password_once_and_ends_every_session,
    an_expired_or_voided_reset_token_is_refused_and_changes_nothing,
    a_reset_request_for_an_unknown_address_answers_and_works_the_same,
    requiring_a_verified_address_holds_signing_and_rsvping_until_verified,
    production_without_smtp_refuses_mail_but_still_registers,
    development_without_smtp_logs_the_message_with_its_link,
    production_without_smtp_says_so_at_start,
    the_mail_flows_write_no_token_password_or_email_to_the_log
);

async fn registering_mails_a_link_that_verifies_the_address_once(app: TestApp) {
    let sink = SmtpSink::start().await;
    let app = with_sink(&app, &sink).await;
    let email = "verify.me@iron.city";
    let payload = register(&app, email).await;
    assert_eq!(payload["user"]["emailVerified"], false);
    let token = payload["accessToken"].as_str().unwrap();

    let mail = sink.next_to(email).await;
    assert_eq!(mail.header("subject").as_deref(), Some("Confirm your email address"));
    assert!(mail.header("from").unwrap().contains("noreply@localhost"), "{:?}", mail.header("from"));
    let link = mail.link("/account/verify");
    let page = app.get(&local_path(&app, &link)).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("verified"), "{}", page.body);
    assert_eq!(page.header("cache-control"), "no-store");
    assert_eq!(page.header("referrer-policy"), "no-referrer");
    assert_eq!(app.data_as(token, ME, json!({})).await["me"]["emailVerified"], true);

    // The link works once, and so does the token over GraphQL.
    let again = app.get(&local_path(&app, &link)).await;
    assert_eq!(again.status, 400, "{}", again.body);
    let reused = app.error(VERIFY, json!({ "token": token_of(&link) })).await;
    assert_eq!(reused["extensions"]["code"], "BAD_USER_INPUT");
    assert_eq!(reused["extensions"]["field"], "token");
    let made_up = app.get("/account/verify?token=made-up").await;
    assert_eq!(made_up.status, 400);
    // Verified: nothing more is sent.
    assert_eq!(app.data_as(token, RESEND, json!({})).await["resendVerification"], false);
}

async fn resending_keeps_earlier_links_until_one_is_used_and_counts_against_the_sign_in_limit(app: TestApp) {
    let sink = SmtpSink::start().await;
    let app = mailing_to(&app, &sink, |settings| {
        settings.mail.pacing = no_gap(10);
        settings.limits = Limits { sign_ins_per_minute: 3, ..settings.limits.clone() };
    })
    .await;
    let email = "resend@iron.city";
    let payload = register(&app, email).await;
    let token = payload["accessToken"].as_str().unwrap();
    let first = sink.next_to(email).await.link("/account/verify");
    assert_eq!(app.data_as(token, RESEND, json!({})).await["resendVerification"], true);
    let second = sink.next_to(email).await.link("/account/verify");
    assert_ne!(first, second);
    assert_eq!(app.data_as(token, RESEND, json!({})).await["resendVerification"], true);
    let third = sink.next_to(email).await.link("/account/verify");
    // Register and two resends spent the budget of 3.
    let limited = app.error_as(token, RESEND, json!({})).await;
    assert_eq!(limited["extensions"]["code"], "RATE_LIMITED", "{limited}");
    assert!(limited["extensions"]["retryAfter"].as_u64().unwrap() >= 1);
    // Every link works (a HEAD checks without using), until one is used: then none of the others.
    for link in [&first, &second, &third] {
        assert_eq!(app.request("HEAD", &local_path(&app, link), &[], None).await.status, 200, "{link}");
    }
    assert_eq!(app.get(&local_path(&app, &second)).await.status, 200);
    assert_eq!(app.data_as(token, ME, json!({})).await["me"]["emailVerified"], true);
    for link in [&first, &second, &third] {
        assert_eq!(app.get(&local_path(&app, link)).await.status, 400, "{link}");
    }
    assert_eq!(sink.received().len(), 3, "nothing was sent for the refused resend");
}

async fn a_reset_link_sets_the_password_once_and_ends_every_session(app: TestApp) {
    let sink = SmtpSink::start().await;
    let app = with_sink(&app, &sink).await;
    let email = "forgot@iron.city";
    let payload = register(&app, email).await;
    let (access, refresh) = (payload["accessToken"].as_str().unwrap(), payload["refreshToken"].as_str().unwrap());
    sink.next_to(email).await; // the verification mail
    let other = app.data(LOGIN, json!({ "email": email, "password": PASSWORD })).await;
    let other_access = other["login"]["accessToken"].as_str().unwrap();

    let asked = app.data(REQUEST_RESET, json!({ "email": "  Forgot@Iron.City " })).await;
    assert_eq!(asked["requestPasswordReset"], true);
    let mail = sink.next_to(email).await;
    assert_eq!(mail.header("subject").as_deref(), Some("Reset your password"));
    let link = mail.link("/account/reset");
    let page = app.get(&local_path(&app, &link)).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("/account/reset.js"), "the page loads its form script: {}", page.body);
    assert_eq!(app.get("/account/reset.js").await.status, 200);

    let token = token_of(&link);
    let new_password = "a brand new password 2026";
    let weak = app.error(RESET, json!({ "token": token, "password": "short" })).await;
    assert_eq!(weak["extensions"]["code"], "BAD_USER_INPUT");
    assert_eq!(weak["extensions"]["field"], "newPassword");
    assert_eq!(app.data(RESET, json!({ "token": token, "password": new_password })).await["resetPassword"], true);

    // Every session ended: both access tokens, and the refresh token.
    for old in [access, other_access] {
        let refused = me_with(&app, old).await;
        assert_eq!(code(&refused), "UNAUTHENTICATED", "{refused}");
    }
    let refreshed = app
        .graphql("mutation($t: String!) { refreshSession(refreshToken: $t) { accessToken } }", json!({ "t": refresh }))
        .await;
    assert_eq!(code(&refreshed), "UNAUTHENTICATED");
    // The old password is gone, the new one works, and the link proved the address.
    let old_login = app.graphql(LOGIN, json!({ "email": email, "password": PASSWORD })).await;
    assert_eq!(code(&old_login), "UNAUTHENTICATED");
    let signed_in = app.data(LOGIN, json!({ "email": email, "password": new_password })).await;
    let fresh = signed_in["login"]["accessToken"].as_str().unwrap();
    assert_eq!(app.data_as(fresh, ME, json!({})).await["me"]["emailVerified"], true);
    // Single use.
    let again = app.error(RESET, json!({ "token": token, "password": "yet another password 1" })).await;
    assert_eq!(again["extensions"]["code"], "BAD_USER_INPUT");
    assert_eq!(again["extensions"]["field"], "token");
    assert!(
        app.data(LOGIN, json!({ "email": email, "password": new_password })).await["login"]["accessToken"].is_string()
    );
}

async fn an_expired_or_voided_reset_token_is_refused_and_changes_nothing(app: TestApp) {
    let sink = SmtpSink::start().await;
    let app = with_sink_paced(&app, &sink, no_gap(5)).await;
    let email = "late@iron.city";
    register(&app, email).await;
    sink.next_to(email).await;
    app.data(REQUEST_RESET, json!({ "email": email })).await;
    let first = token_of(&sink.next_to(email).await.link("/account/reset"));
    app.data(REQUEST_RESET, json!({ "email": email })).await;
    let second = token_of(&sink.next_to(email).await.link("/account/reset"));

    // Thirty minutes pass: neither works.
    account_token::Entity::update_many()
        .col_expr(account_token::Column::ExpiresAt, Expr::value(chrono::Utc::now() - chrono::Duration::seconds(1)))
        .filter(account_token::Column::UsedAt.is_null())
        .exec(&app.db)
        .await
        .unwrap();
    for token in [&first, &second] {
        let expired = app.error(RESET, json!({ "token": token, "password": "a new password 1234" })).await;
        assert_eq!(expired["extensions"]["code"], "BAD_USER_INPUT");
        assert_eq!(expired["extensions"]["field"], "token");
    }
    assert!(app.data(LOGIN, json!({ "email": email, "password": PASSWORD })).await["login"]["accessToken"].is_string());

    // Two fresh links; using the newer voids the older, which then changes nothing.
    app.data(REQUEST_RESET, json!({ "email": email })).await;
    let third = token_of(&sink.next_to(email).await.link("/account/reset"));
    app.data(REQUEST_RESET, json!({ "email": email })).await;
    let fourth = token_of(&sink.next_to(email).await.link("/account/reset"));
    let chosen = "the chosen password 2026";
    assert_eq!(app.data(RESET, json!({ "token": fourth, "password": chosen })).await["resetPassword"], true);
    let voided = app.error(RESET, json!({ "token": third, "password": "a new password 1234" })).await;
    assert_eq!(voided["extensions"]["code"], "BAD_USER_INPUT");
    assert_eq!(voided["extensions"]["field"], "token");
    assert!(app.data(LOGIN, json!({ "email": email, "password": chosen })).await["login"]["accessToken"].is_string());
    // Stored only as hashes.
    let stored = account_token::Entity::find().all(&app.db).await.unwrap();
    assert!(!stored.is_empty());
    for row in stored {
        assert!([&first, &second, &third, &fourth].iter().all(|token| row.token_hash != **token));
        assert_eq!(row.token_hash.len(), 64);
    }
}

async fn a_reset_request_for_an_unknown_address_answers_and_works_the_same(app: TestApp) {
    let sink = SmtpSink::start().await;
    let app = with_sink(&app, &sink).await;
    let known = "known@iron.city";
    register(&app, known).await;
    sink.next_to(known).await;

    let before = app.statements();
    let unknown_answer = app.graphql(REQUEST_RESET, json!({ "email": "nobody@iron.city" })).await;
    let unknown_statements = app.statements() - before;
    let before = app.statements();
    let known_answer = app.graphql(REQUEST_RESET, json!({ "email": known })).await;
    let known_statements = app.statements() - before;
    assert_eq!(unknown_answer, known_answer);
    assert_eq!(unknown_answer, json!({ "data": { "requestPasswordReset": true } }));
    assert_eq!(unknown_statements, known_statements, "the same database work on both paths");
    // The known address got its mail, and nothing went to the unknown one.
    sink.next_to(known).await;
    assert!(sink.received().iter().all(|mail| mail.to != ["nobody@iron.city"]));

    let twice = app
        .error("mutation { a: requestPasswordReset(email: \"a@iron.city\") b: requestPasswordReset(email: \"b@iron.city\") }", json!({}))
        .await;
    assert_eq!(twice["extensions"]["code"], "GRAPHQL_VALIDATION_FAILED", "one mail-sending field a request");
    let malformed = app.error(REQUEST_RESET, json!({ "email": "not an address" })).await;
    assert_eq!(malformed["extensions"]["code"], "BAD_USER_INPUT");
    assert_eq!(malformed["extensions"]["field"], "email");
}

async fn requiring_a_verified_address_holds_signing_and_rsvping_until_verified(base: TestApp) {
    // An account from before the rule was switched on: it has a session but no proven address.
    let email = "unverified@iron.city";
    let payload = register(&base, email).await;
    let token = payload["accessToken"].as_str().unwrap();
    let sink = SmtpSink::start().await;
    // The registration above already had its (logged) link: no gap before the next.
    let app = proving_paced(&base, &sink, no_gap(10)).await;
    let open =
        app.data("{ petitions(filter: { status: OPEN }, first: 1) { nodes { id signatureCount } } }", json!({})).await;
    let petition = open["petitions"]["nodes"][0].clone();
    let event = events(&app.db, 1, None).await.remove(0);
    // An event still to come.
    let soon = chrono::Utc::now() + chrono::Duration::days(7);
    entity::event::Entity::update_many()
        .col_expr(entity::event::Column::StartsAt, Expr::value(soon))
        .col_expr(entity::event::Column::EndsAt, Expr::value(soon + chrono::Duration::hours(2)))
        .filter(entity::event::Column::Id.eq(event.id))
        .exec(&app.db)
        .await
        .unwrap();
    let sign = "mutation($id: ID!) { signPetition(petitionId: $id) { id } }";
    let rsvp = "mutation($id: ID!) { rsvpEvent(eventId: $id) { id } }";
    let (petition_id, event_id) = (petition["id"].as_str().unwrap().to_owned(), gid("Event", event.id));
    for (operation, id) in [(sign, &petition_id), (rsvp, &event_id)] {
        let refused = app.error_as(token, operation, json!({ "id": id })).await;
        assert_eq!(refused["extensions"]["code"], "FORBIDDEN", "{refused}");
        assert!(refused["message"].as_str().unwrap().contains("verify your email address"), "{refused}");
    }
    let counts = app
        .data(
            "query($p: ID!, $e: ID!) { petition(id: $p) { signatureCount } event(id: $e) { rsvpCount } }",
            json!({ "p": petition_id, "e": event_id }),
        )
        .await;
    assert_eq!(counts["petition"]["signatureCount"], petition["signatureCount"]);
    assert_eq!(counts["event"]["rsvpCount"], 0);

    assert_eq!(app.data_as(token, RESEND, json!({})).await["resendVerification"], true);
    let link = sink.next_to(email).await.link("/account/verify");
    assert_eq!(app.get(&local_path(&app, &link)).await.status, 200);
    app.data_as(token, sign, json!({ "id": petition_id })).await;
    app.data_as(token, rsvp, json!({ "id": event_id })).await;
}

async fn production_without_smtp_refuses_mail_but_still_registers(app: TestApp) {
    let app = app.respawn(|settings| settings.environment = Environment::Production).await;
    let email = "no.smtp@iron.city";
    let payload = register(&app, email).await;
    let token = payload["accessToken"].as_str().unwrap();
    let refused = app.error_as(token, RESEND, json!({})).await;
    assert_eq!(refused["extensions"]["code"], "MAIL_NOT_CONFIGURED", "{refused}");
    let refused = app.error(REQUEST_RESET, json!({ "email": email })).await;
    assert_eq!(refused["extensions"]["code"], "MAIL_NOT_CONFIGURED", "{refused}");
    assert!(refused["message"].as_str().unwrap().contains("cannot send mail"));
    let unknown = app.error(REQUEST_RESET, json!({ "email": "nobody@iron.city" })).await;
    assert_eq!(unknown, refused, "the same refusal whether or not the address has an account");
    assert_eq!(account_token::Entity::find().all(&app.db).await.unwrap().len(), 0, "no token was stored");
}

async fn development_without_smtp_logs_the_message_with_its_link(app: TestApp) {
    let mut server = ServerProcess::start(&app.database_url, &[]);
    let client = awc::Client::builder().timeout(Duration::from_secs(30)).finish();
    let email = "dev.log@iron.city";
    let mut response = client
        .post(format!("{}/graphql", server.address))
        .send_json(&json!({ "query": REGISTER, "variables": { "input": { "email": email, "password": PASSWORD, "displayName": "Dev Log" } } }))
        .await
        .unwrap();
    let body: Value = response.json().await.unwrap();
    assert!(body.get("errors").is_none(), "{body}");
    // The message is logged once the registration has committed, which can come just after the
    // answer on a busy machine: wait for the line, up to a deadline.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let line = loop {
        if let Some(line) = server.output().into_iter().find(|line| line.contains("/account/verify?token=")) {
            break line;
        }
        assert!(std::time::Instant::now() < deadline, "the verification message in the log");
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(line.contains("FANDB_SMTP_URL is not set"), "{line}");
    assert!(!line.contains(email), "the log names the user by id, not address: {line}");
    let start = line.find(&format!("{}/account/verify?token=", server.address)).expect("a link to this server");
    let link: String =
        line[start..].chars().take_while(|c| c.is_ascii_alphanumeric() || ":/.?=-_".contains(*c)).collect();
    let path = &link[server.address.len()..];
    let page = client.get(format!("{}{path}", server.address)).send().await.unwrap();
    assert_eq!(page.status().as_u16(), 200);
    assert!(server.output().iter().any(|line| line.contains("mail is written to the log")), "said at start");
    server.terminate();
    assert_eq!(server.wait(Duration::from_secs(30)), Some(0));
}

async fn production_without_smtp_says_so_at_start(app: TestApp) {
    let mut server = ServerProcess::start(&app.database_url, &[("FANDB_ENV", "production")]);
    let client = awc::Client::builder().timeout(Duration::from_secs(30)).finish();
    let mut response = client
        .post(format!("{}/graphql", server.address))
        .send_json(&json!({ "query": REQUEST_RESET, "variables": { "email": "anyone@iron.city" } }))
        .await
        .unwrap();
    let body: Value = response.json().await.unwrap();
    assert_eq!(code(&body), "MAIL_NOT_CONFIGURED", "{body}");
    server.terminate();
    assert_eq!(server.wait(Duration::from_secs(30)), Some(0));
    let output = server.output();
    let said =
        output.iter().find(|line| line.contains("FANDB_SMTP_URL is not set")).expect("a start-up line about mail");
    assert!(said.contains("MAIL_NOT_CONFIGURED") && said.contains("WARN"), "{said}");
}

async fn the_mail_flows_write_no_token_password_or_email_to_the_log(app: TestApp) {
    let sink = SmtpSink::start().await;
    let url = sink.url();
    // No gap between mails: the test resends at once (and so checks the setting is read).
    let mut server =
        ServerProcess::start(&app.database_url, &[("FANDB_SMTP_URL", url.as_str()), ("FANDB_MAIL_GAP_SECONDS", "0")]);
    let client = awc::Client::builder().timeout(Duration::from_secs(30)).finish();
    let graphql = format!("{}/graphql", server.address);
    let call = |token: Option<String>, query: &'static str, variables: Value| {
        let mut request = client.post(&graphql);
        if let Some(token) = token {
            request = request.insert_header(("authorization", format!("Bearer {token}")));
        }
        async move {
            let mut response =
                request.send_json(&json!({ "query": query, "variables": variables })).await.expect("send");
            response.json::<Value>().await.expect("a JSON body")
        }
    };
    let (email, password, new_password) = ("mail.log@iron.city", "mail-log-password-2563", "mail-log-new-password-77");
    let registered =
        call(None, REGISTER, json!({ "input": { "email": email, "password": password, "displayName": "Mail Log" } }))
            .await;
    let access = registered["data"]["register"]["accessToken"].as_str().expect("a token").to_owned();
    let first = sink.next_to(email).await.link("/account/verify");
    assert_eq!(call(Some(access.clone()), RESEND, json!({})).await["data"]["resendVerification"], true);
    let verify = sink.next_to(email).await.link("/account/verify");
    let page = client
        .get(format!("{}{}", server.address, verify.strip_prefix(&server.address).unwrap()))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status().as_u16(), 200);
    assert_eq!(call(None, REQUEST_RESET, json!({ "email": email })).await["data"]["requestPasswordReset"], true);
    let reset = sink.next_to(email).await.link("/account/reset");
    let answer = call(None, RESET, json!({ "token": token_of(&reset), "password": new_password })).await;
    assert_eq!(answer["data"]["resetPassword"], true, "{answer}");
    server.terminate();
    assert_eq!(server.wait(Duration::from_secs(30)), Some(0));
    let output = server.output();
    assert!(output.iter().filter(|line| line.contains("mail sent")).count() >= 3, "{output:?}");
    let secrets = [
        email,
        password,
        new_password,
        access.as_str(),
        &token_of(&first),
        &token_of(&verify),
        &token_of(&reset),
        "Bearer ",
    ];
    for line in &output {
        for secret in secrets {
            assert!(!line.contains(secret), "a log line holds `{secret}`: {line}");
        }
    }
}

db_tests!(mail_carries_a_message_id_of_the_sites_domain_a_mime_version_and_a_date);

/// A `Message-ID` (`<left@right>`) split into its two sides.
#[track_caller]
fn message_id(mail: &crate::support::smtp::Delivered) -> (String, String) {
    let id = mail.header("message-id").unwrap_or_else(|| panic!("no Message-ID in {}", mail.data));
    let inner = id.strip_prefix('<').and_then(|id| id.strip_suffix('>')).unwrap_or_else(|| panic!("{id}"));
    let (left, right) = inner.split_once('@').unwrap_or_else(|| panic!("{id}"));
    (left.to_owned(), right.to_owned())
}

async fn mail_carries_a_message_id_of_the_sites_domain_a_mime_version_and_a_date(app: TestApp) {
    // Without FANDB_PUBLIC_URL: the sender's domain.
    let sink = SmtpSink::start().await;
    let from_sender = mailing_to(&app, &sink, |settings| {
        settings.mail.from = "Alita Army <news@army.alita.example>".to_owned();
    })
    .await;
    register(&from_sender, "headers@iron.city").await;
    let first = sink.next_to("headers@iron.city").await;
    assert_eq!(first.header("mime-version").as_deref(), Some("1.0"), "{}", first.data);
    let date = first.header("date").unwrap_or_else(|| panic!("no Date in {}", first.data));
    let sent = chrono::DateTime::parse_from_rfc2822(&date).unwrap_or_else(|error| panic!("{date}: {error}"));
    assert!((chrono::Utc::now() - sent.to_utc()).num_minutes().abs() < 5, "{date}");
    assert!(first.header("content-type").unwrap().starts_with("text/plain"), "{}", first.data);
    let (unique, domain) = message_id(&first);
    assert_eq!(domain, "army.alita.example");
    assert!(unique.len() >= 16, "{unique}");
    // Still a link a fan can follow.
    assert!(first.link("/account/verify").starts_with(&from_sender.address));

    // With FANDB_PUBLIC_URL: its host; and every message has an id of its own.
    let public = mailing_to(&app, &sink, |settings| {
        settings.mail.public_url = Some("https://Campaign.Alita.example/fans".to_owned());
    })
    .await;
    register(&public, "public.headers@iron.city").await;
    let second = sink.next_to("public.headers@iron.city").await;
    let (other, domain) = message_id(&second);
    assert_eq!(domain, "campaign.alita.example");
    assert_ne!(other, unique);
    assert_eq!(second.header("mime-version").as_deref(), Some("1.0"));
    assert!(second.header("date").is_some());
    assert!(second.link("/account/verify").starts_with("https://campaign.alita.example/fans/account/verify?token="));
}

db_tests!(
    fifty_reset_requests_from_several_ips_mail_one_address_at_most_its_limit,
    a_second_link_does_not_void_the_first_until_one_is_used,
    a_request_past_the_limit_answers_and_works_like_any_other
);

/// Time passing for the mail limits: every stored link of `email`'s account is made `by` older.
async fn time_passes(app: &TestApp, email: &str, by: chrono::Duration) {
    use sea_orm::{ActiveModelTrait, IntoActiveModel, Set};
    let user = entity::user::Entity::find()
        .filter(entity::user::Column::Email.eq(email))
        .one(&app.db)
        .await
        .unwrap()
        .expect("the account");
    for row in
        account_token::Entity::find().filter(account_token::Column::UserId.eq(user.id)).all(&app.db).await.unwrap()
    {
        let created_at = row.created_at - by;
        let mut row = row.into_active_model();
        row.created_at = Set(created_at);
        row.update(&app.db).await.unwrap();
    }
}

/// How many links of `purpose` were ever issued to `email`'s account: one per mail sent.
async fn links_issued(app: &TestApp, email: &str, purpose: entity::enums::TokenPurpose) -> usize {
    let user = entity::user::Entity::find()
        .filter(entity::user::Column::Email.eq(email))
        .one(&app.db)
        .await
        .unwrap()
        .expect("the account");
    account_token::Entity::find()
        .filter(account_token::Column::UserId.eq(user.id))
        .filter(account_token::Column::Purpose.eq(purpose))
        .all(&app.db)
        .await
        .unwrap()
        .len()
}

/// `count` password-reset requests for `email` at once, spread over the client addresses
/// 127.0.0.2 … 127.0.0.6 (five of them); every answer.
async fn flood(app: &TestApp, email: &str, count: usize) -> Vec<Value> {
    futures_util::future::join_all((0..count).map(|i| {
        let ip = format!("127.0.0.{}", 2 + i % 5);
        async move { app.graphql_from(&ip, REQUEST_RESET, json!({ "email": email })).await }
    }))
    .await
}

/// Waits for `count` messages to `email`, then for a marker message to `marker` sent after them,
/// and checks that `email` got exactly `count` in all. A mail past the limit would have left before
/// the marker's, so it would be here by then (or in the database's count, which the callers check
/// first).
async fn exactly_mailed(app: &TestApp, sink: &SmtpSink, email: &str, count: usize, marker: &str) {
    for _ in 0..count {
        sink.next_to(email).await;
    }
    assert_eq!(app.data(REQUEST_RESET, json!({ "email": marker })).await["requestPasswordReset"], true);
    sink.next_to(marker).await;
    let received = sink.received().into_iter().filter(|mail| mail.to.iter().any(|to| to == email)).count();
    // The registration's verification mail, and `count` reset mails.
    assert_eq!(received, 1 + count, "mails to {email}");
}

async fn fifty_reset_requests_from_several_ips_mail_one_address_at_most_its_limit(app: TestApp) {
    use entity::enums::TokenPurpose::ResetPassword;
    // Production's default limits: each client address may ask ten times a minute, so five
    // addresses ask fifty times; an address gets 5 reset mails an hour, a minute apart.
    let sink = SmtpSink::start().await;
    let app = mailing_to(&app, &sink, |settings| {
        settings.limits = Limits { sign_ins_per_minute: 10, ..settings.limits.clone() };
    })
    .await;
    let (victim, marker) = ("victim@iron.city", "marker@iron.city");
    register(&app, victim).await;
    sink.next_to(victim).await;
    register(&app, marker).await;
    sink.next_to(marker).await;

    let answers = flood(&app, victim, 50).await;
    for answer in &answers {
        assert_eq!(answer, &json!({ "data": { "requestPasswordReset": true } }), "every answer is the usual one");
    }
    assert_eq!(links_issued(&app, victim, ResetPassword).await, 1, "a minute apart: one mail");
    exactly_mailed(&app, &sink, victim, 1, marker).await;

    // A minute on, one more; the hour's limit on a server without the gap.
    time_passes(&app, victim, chrono::Duration::seconds(61)).await;
    assert_eq!(
        app.graphql_from("127.0.0.7", REQUEST_RESET, json!({ "email": victim })).await["data"]["requestPasswordReset"],
        true
    );
    assert_eq!(links_issued(&app, victim, ResetPassword).await, 2);

    let sink = SmtpSink::start().await;
    let app = with_sink_paced(&app, &sink, no_gap(3)).await;
    let target = "target@iron.city";
    register(&app, target).await;
    sink.next_to(target).await;
    register(&app, "marker.two@iron.city").await;
    sink.next_to("marker.two@iron.city").await;
    let answers = flood(&app, target, 50).await;
    assert!(answers.iter().all(|answer| answer == &json!({ "data": { "requestPasswordReset": true } })), "{answers:?}");
    assert_eq!(links_issued(&app, target, ResetPassword).await, 3, "three mails an hour, however many ask at once");
    exactly_mailed(&app, &sink, target, 3, "marker.two@iron.city").await;
    // An hour on, the address gets mail again.
    time_passes(&app, target, chrono::Duration::minutes(61)).await;
    app.data(REQUEST_RESET, json!({ "email": target })).await;
    assert_eq!(links_issued(&app, target, ResetPassword).await, 4);
    sink.next_to(target).await;
}

async fn a_second_link_does_not_void_the_first_until_one_is_used(app: TestApp) {
    // The default limits: a minute between two mails, which the test lets pass.
    let sink = SmtpSink::start().await;
    let app = with_sink(&app, &sink).await;
    let email = "two.links@iron.city";
    register(&app, email).await;
    sink.next_to(email).await;
    // A minute passes, and someone asks for a link: its token.
    async fn reset_link(app: &TestApp, sink: &SmtpSink, email: &str) -> String {
        time_passes(app, email, chrono::Duration::seconds(61)).await;
        assert_eq!(app.data(REQUEST_RESET, json!({ "email": email })).await["requestPasswordReset"], true);
        token_of(&sink.next_to(email).await.link("/account/reset"))
    }
    // The owner's link, then a stranger's request mails a second one: the first still works, and
    // once it is used the second no longer does.
    let first = reset_link(&app, &sink, email).await;
    let second = reset_link(&app, &sink, email).await;
    assert_ne!(first, second);
    let chosen = "the owner's new password";
    assert_eq!(app.data(RESET, json!({ "token": first, "password": chosen })).await["resetPassword"], true);
    let refused = app.error(RESET, json!({ "token": second, "password": "a stranger's password" })).await;
    assert_eq!(refused["extensions"]["code"], "BAD_USER_INPUT", "{refused}");
    assert_eq!(refused["extensions"]["field"], "token");
    // The other way round: the newer link works, and voids the older.
    let third = reset_link(&app, &sink, email).await;
    let fourth = reset_link(&app, &sink, email).await;
    let newest = "the newest password 2026";
    assert_eq!(app.data(RESET, json!({ "token": fourth, "password": newest })).await["resetPassword"], true);
    let refused = app.error(RESET, json!({ "token": third, "password": "an older link's password" })).await;
    assert_eq!(refused["extensions"]["field"], "token");
    assert!(app.data(LOGIN, json!({ "email": email, "password": newest })).await["login"]["accessToken"].is_string());
    let old = app.graphql(LOGIN, json!({ "email": email, "password": chosen })).await;
    assert_eq!(code(&old), "UNAUTHENTICATED");
}

async fn a_request_past_the_limit_answers_and_works_like_any_other(app: TestApp) {
    use entity::enums::TokenPurpose::{ResetPassword, VerifyEmail};
    let sink = SmtpSink::start().await;
    let app = with_sink(&app, &sink).await;
    let known = "limited@iron.city";
    let payload = register(&app, known).await;
    let access = payload["accessToken"].as_str().unwrap();
    sink.next_to(known).await;

    // Unknown, known (mailed), known again at once (past the limit: nothing mailed).
    let mut seen = Vec::new();
    for email in ["nobody.here@iron.city", known, known] {
        let before = app.statements();
        let started = std::time::Instant::now();
        let response = app
            .request(
                "POST",
                "/graphql",
                &[("content-type", "application/json")],
                Some(json!({ "query": REQUEST_RESET, "variables": { "email": email } }).to_string().into_bytes()),
            )
            .await;
        // A known address also writes its link; every answer waits out one floor, so the time does
        // not tell them apart (a lower bound holds on any machine, however busy).
        let took = started.elapsed();
        assert!(took >= api::domain::account_mail::RESET_ANSWER_FLOOR, "{email} answered in {took:?}");
        seen.push((response.status, response.json(), app.statements() - before));
    }
    assert_eq!(seen[0], seen[1], "unknown and known answer alike");
    assert_eq!(seen[1], seen[2], "mailed and limited answer alike, after the same database work");
    assert_eq!(seen[2].1, json!({ "data": { "requestPasswordReset": true } }));
    assert_eq!(links_issued(&app, known, ResetPassword).await, 1);

    // resendVerification just after registering: the same answer as a resend that mails.
    let limited = app.graphql_as(Some(access), RESEND, json!({})).await;
    assert_eq!(links_issued(&app, known, VerifyEmail).await, 1, "nothing mailed");
    time_passes(&app, known, chrono::Duration::seconds(61)).await;
    let mailed = app.graphql_as(Some(access), RESEND, json!({})).await;
    assert_eq!(links_issued(&app, known, VerifyEmail).await, 2);
    assert_eq!(limited, mailed);
    assert_eq!(mailed, json!({ "data": { "resendVerification": true } }));
    // Mailed: the one reset link and the new verification link.
    let mut subjects = vec![sink.next_to(known).await.header("subject"), sink.next_to(known).await.header("subject")];
    subjects.sort();
    assert_eq!(subjects, [Some("Confirm your email address".to_owned()), Some("Reset your password".to_owned())]);
}

db_tests!(two_live_links_of_one_account_opened_at_once_verify_once);

async fn two_live_links_of_one_account_opened_at_once_verify_once(app: TestApp) {
    let sink = SmtpSink::start().await;
    let app = with_sink_paced(&app, &sink, no_gap(5)).await;
    for round in 0..8 {
        let email = format!("both.links.{round}@iron.city");
        let payload = register(&app, &email).await;
        let first = local_path(&app, &sink.next_to(&email).await.link("/account/verify"));
        let access = payload["accessToken"].as_str().unwrap();
        assert_eq!(app.data_as(access, RESEND, json!({})).await["resendVerification"], true);
        let second = local_path(&app, &sink.next_to(&email).await.link("/account/verify"));
        // Both work until one is used ...
        for path in [&first, &second] {
            assert_eq!(app.request("HEAD", path, &[], None).await.status, 200, "round {round}: {path}");
        }
        // ... and opened at the same moment, exactly one does: no error, no deadlock.
        let (a, b) = futures_util::future::join(app.get(&first), app.get(&second)).await;
        let mut statuses = [a.status, b.status];
        statuses.sort_unstable();
        assert_eq!(statuses, [200, 400], "round {round}: {} / {}", a.body, b.body);
        assert_eq!(app.data_as(access, ME, json!({})).await["me"]["emailVerified"], true);
    }
}

db_tests!(the_account_pages_operations_run_on_a_trusted_documents_server);

/// POSTs a GraphQL request body to `app` as a browser page does: the answer's JSON.
async fn post_body(app: &TestApp, body: Value) -> Value {
    let headers = [("content-type", "application/json")];
    let response = app.request("POST", "/graphql", &headers, Some(body.to_string().into_bytes())).await;
    assert_eq!(response.status, 200, "{}", response.body);
    response.json()
}

async fn the_account_pages_operations_run_on_a_trusted_documents_server(app: TestApp) {
    let sink = SmtpSink::start().await;
    let trusted = mailing_to(&app, &sink, |settings| {
        settings.trusted_documents =
            Some(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("clients/campaign/persisted-documents.json"));
    })
    .await;
    // Made through the unrestricted server on the same database, whose mail is only logged.
    let email = "trusted.reset@iron.city";
    register(&app, email).await;

    // The reset page's script runs operations by name from the manifest the campaign page loads.
    let page = trusted.get("/account/reset").await;
    assert_eq!(page.status, 200);
    let script = trusted.get("/account/reset.js").await.body;
    assert!(script.contains("/campaign/operations.json"), "{script}");
    let used: Vec<&str> =
        script.split("graphql(\"").skip(1).filter_map(|rest| rest.split_once('"').map(|(name, _)| name)).collect();
    assert_eq!(used, ["RequestPasswordReset", "ResetPassword"], "{script}");
    let manifest = trusted.get("/campaign/operations.json").await.json();
    let document = |name: &str| -> (String, String) {
        let (key, text) = manifest
            .as_object()
            .unwrap()
            .iter()
            .find(|(_, text)| text.as_str().unwrap().contains(&format!("mutation {name}(")))
            .unwrap_or_else(|| panic!("no {name} in the manifest the pages load: {manifest}"));
        (key.trim_start_matches("sha256:").to_owned(), text.as_str().unwrap().to_owned())
    };
    let persisted = |hash: &str| json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } });

    // Anonymous, as the page sends them: the text with its hash.
    let (hash, text) = document("RequestPasswordReset");
    let asked = post_body(
        &trusted,
        json!({ "query": text, "operationName": "RequestPasswordReset", "variables": { "email": email }, "extensions": persisted(&hash) }),
    )
    .await;
    assert_eq!(asked, json!({ "data": { "requestPasswordReset": true } }));
    let token = token_of(&sink.next_to(email).await.link("/account/reset"));
    // What the page used to send, a text of its own, is not a trusted document.
    let own =
        "mutation($token: String!, $newPassword: String!) { resetPassword(token: $token, newPassword: $newPassword) }";
    let refused =
        post_body(&trusted, json!({ "query": own, "variables": { "token": token, "newPassword": "x" } })).await;
    assert_eq!(code(&refused), "PERSISTED_QUERY_NOT_ALLOWED", "{refused}");
    // By its hash alone too.
    let (hash, _) = document("ResetPassword");
    let new_password = "a trusted new password";
    let reset = post_body(
        &trusted,
        json!({ "variables": { "token": token, "newPassword": new_password }, "extensions": persisted(&hash) }),
    )
    .await;
    assert_eq!(reset, json!({ "data": { "resetPassword": true } }));
    assert!(
        app.data(LOGIN, json!({ "email": email, "password": new_password })).await["login"]["accessToken"].is_string()
    );
    // A bad token is the usual error, not a refusal of the document.
    let reused = post_body(
        &trusted,
        json!({ "variables": { "token": token, "newPassword": "another password 1" }, "extensions": persisted(&hash) }),
    )
    .await;
    assert_eq!(code(&reused), "BAD_USER_INPUT", "{reused}");
    assert_eq!(reused["errors"][0]["extensions"]["field"], "token");
}

db_tests!(
    where_an_address_must_be_proven_a_taken_one_registers_exactly_like_a_new_one,
    registrations_racing_for_one_new_address_make_one_account_and_answer_alike,
    a_stranger_who_registered_your_address_first_loses_it_to_your_reset
);

/// A server that requires a proven address before any session, mailing to `sink`.
async fn proving(app: &TestApp, sink: &SmtpSink) -> TestApp {
    proving_paced(app, sink, MailPacing::default()).await
}

/// Like `proving`, with `pacing` for the mail one address may receive.
async fn proving_paced(app: &TestApp, sink: &SmtpSink, pacing: MailPacing) -> TestApp {
    mailing_to(app, sink, |settings| {
        settings.mail.pacing = pacing;
        settings.require_verified_email = true;
    })
    .await
}

/// `register` with `email` and `password`: the whole answer, and how long it took.
async fn timed_register(app: &TestApp, email: &str, password: &str) -> (Value, Duration) {
    let started = std::time::Instant::now();
    let body = app
        .graphql(REGISTER, json!({ "input": { "email": email, "password": password, "displayName": "Someone" } }))
        .await;
    (body, started.elapsed())
}

async fn users_with(app: &TestApp, email: &str) -> usize {
    entity::user::Entity::find().filter(entity::user::Column::Email.eq(email)).all(&app.db).await.unwrap().len()
}

async fn where_an_address_must_be_proven_a_taken_one_registers_exactly_like_a_new_one(base: TestApp) {
    let owner = "owner@iron.city";
    register(&base, owner).await;
    entity::user::Entity::update_many()
        .col_expr(entity::user::Column::EmailVerified, Expr::value(true))
        .filter(entity::user::Column::Email.eq(owner))
        .exec(&base.db)
        .await
        .unwrap();
    let sink = SmtpSink::start().await;
    let app = proving(&base, &sink).await;
    let newcomer = "newcomer@iron.city";

    let (fresh, fresh_took) = timed_register(&app, newcomer, "a newcomer's password").await;
    let (taken, taken_took) = timed_register(&app, owner, "a stranger's password").await;
    assert_eq!(fresh, taken, "a taken address answers exactly like a new one");
    assert_eq!(fresh["data"], Value::Null, "{fresh}");
    assert_eq!(code(&fresh), "EMAIL_VERIFICATION_PENDING", "{fresh}");
    assert!(fresh["errors"][0]["message"].as_str().unwrap().contains("check your mailbox"), "{fresh}");
    let floor = api::domain::enrollment::ENROLL_ANSWER_FLOOR;
    assert!(fresh_took >= floor && taken_took >= floor, "both wait out the floor: {fresh_took:?}, {taken_took:?}");

    // The newcomer's link; the owner's notice, with a way in that does not need the old password.
    let welcome = sink.next_to(newcomer).await;
    assert_eq!(welcome.header("subject").as_deref(), Some("Finish signing up"));
    let verify = welcome.link("/account/verify");
    let notice = sink.next_to(owner).await;
    assert_eq!(notice.header("subject").as_deref(), Some("Someone tried to sign up with your address"));
    notice.link("/account/reset");
    assert_eq!(users_with(&app, newcomer).await, 1);
    assert_eq!(users_with(&app, owner).await, 1, "nothing was created for the taken address");

    // The owner's password is untouched; the stranger's gets nothing.
    let login = |email: &'static str, password: &'static str| {
        let app = &app;
        async move { app.graphql(LOGIN, json!({ "email": email, "password": password })).await }
    };
    assert_eq!(code(&login(owner, PASSWORD).await), "OK");
    assert_eq!(code(&login(owner, "a stranger's password").await), "UNAUTHENTICATED");

    // No session before the link is followed; then the newcomer signs in.
    let early = login(newcomer, "a newcomer's password").await;
    assert_eq!(code(&early), "EMAIL_VERIFICATION_PENDING", "{early}");
    assert_eq!(early["data"], Value::Null);
    assert_eq!(code(&login(newcomer, "a wrong password").await), "UNAUTHENTICATED", "the password is checked first");
    assert_eq!(app.get(&local_path(&app, &verify)).await.status, 200);
    let signed_in = login(newcomer, "a newcomer's password").await;
    let token = signed_in["data"]["login"]["accessToken"].as_str().unwrap_or_else(|| panic!("{signed_in}"));
    assert_eq!(app.data_as(token, ME, json!({})).await["me"]["emailVerified"], true);
}

async fn registrations_racing_for_one_new_address_make_one_account_and_answer_alike(base: TestApp) {
    let sink = SmtpSink::start().await;
    let app = proving(&base, &sink).await;
    // 30 rounds, each of four registrations for one new address sent at once.
    for round in 0..30 {
        let email = format!("racer{round}@iron.city");
        let answers = futures_util::future::join_all((0..4).map(|racer| {
            let (app, email) = (&app, &email);
            async move { timed_register(app, email, &format!("racing password {racer}")).await.0 }
        }))
        .await;
        for answer in &answers {
            assert_eq!(answer, &answers[0], "round {round}: every racer gets the same answer");
        }
        assert_eq!(code(&answers[0]), "EMAIL_VERIFICATION_PENDING", "round {round}: {}", answers[0]);
        assert_eq!(users_with(&app, &email).await, 1, "round {round}: one account");
        // The winner's link, and one notice to its owner for the losers (the address's mail pacing
        // lets one through), in whichever order they left.
        let mut subjects = Vec::new();
        for _ in 0..2 {
            subjects.push(sink.next_to(&email).await.header("subject").unwrap_or_default());
        }
        subjects.sort();
        assert_eq!(subjects, ["Finish signing up", "Someone tried to sign up with your address"], "round {round}");
    }
}

async fn a_stranger_who_registered_your_address_first_loses_it_to_your_reset(base: TestApp) {
    let sink = SmtpSink::start().await;
    let app = proving_paced(&base, &sink, no_gap(10)).await;
    let victim = "victim@iron.city";
    let (first, _) = timed_register(&app, victim, "the stranger's password").await;
    assert_eq!(code(&first), "EMAIL_VERIFICATION_PENDING");
    let strangers_link = sink.next_to(victim).await.link("/account/verify");
    let (second, _) = timed_register(&app, victim, "the victim's own password").await;
    assert_eq!(first, second);
    let reset = sink.next_to(victim).await.link("/account/reset");

    // The victim chooses their password through the notice: that proves the address, and the
    // stranger's password (and the stranger's pending link) stop working.
    let reset = app.data(RESET, json!({ "token": token_of(&reset), "password": "the victim's new password" })).await;
    assert_eq!(reset["resetPassword"], true);
    let stranger = app.graphql(LOGIN, json!({ "email": victim, "password": "the stranger's password" })).await;
    assert_eq!(code(&stranger), "UNAUTHENTICATED", "{stranger}");
    let victim_in = app.data(LOGIN, json!({ "email": victim, "password": "the victim's new password" })).await;
    assert!(victim_in["login"]["accessToken"].is_string());
    let verified_again = app.error(VERIFY, json!({ "token": token_of(&strangers_link) })).await;
    assert_eq!(verified_again["extensions"]["code"], "BAD_USER_INPUT", "{verified_again}");
}
