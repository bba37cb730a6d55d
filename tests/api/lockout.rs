//! Failed logins protect an account without letting strangers lock its owner out: growing delays
//! per (email, client IP), and a lock per email that engages only when many IPs fail on it and
//! spares IPs that signed in to it before. Clients on other IPs send from 127.0.0.2, 127.0.0.3 …
//! (all loopback); the default test client is 127.0.0.1.

use std::time::Duration;

use api::config::Limits;
use serde_json::{Value, json};

use crate::support::TestApp;

const LOGIN: &str = "mutation($email: String!, $password: String!) { login(input: { email: $email, password: $password }) { accessToken } }";
const REGISTER: &str = "mutation($email: String!) { register(input: { email: $email, password: \"long-enough-password\", displayName: \"Fan\" }) { accessToken } }";
const PASSWORD: &str = "long-enough-password";
const WRONG: &str = "not-the-password";

/// Three free attempts per (email, IP), waits capped at a minute, a ten-minute lock once four IPs
/// fail on an email.
fn small_limits() -> Limits {
    Limits {
        requests_per_second: 1_000_000,
        request_burst: 1_000_000,
        sign_ins_per_minute: 1_000_000,
        failures_before_delay: 3,
        // Waits long enough that none runs out while a loaded machine hashes passwords.
        first_delay: Duration::from_secs(100),
        max_delay: Duration::from_secs(3200),
        lock_after_ips: 4,
        lock_duration: Duration::from_secs(6000),
        known_good_duration: Duration::from_secs(3600),
        ..Limits::default()
    }
}

fn code(response: &Value) -> &str {
    response["errors"][0]["extensions"]["code"].as_str().unwrap_or("none")
}

fn retry_after(response: &Value) -> u64 {
    response["errors"][0]["extensions"]["retryAfter"].as_u64().unwrap_or_else(|| panic!("no retryAfter: {response}"))
}

async fn login_from(app: &TestApp, ip: &str, email: &str, password: &str) -> Value {
    app.graphql_from(ip, LOGIN, json!({ "email": email, "password": password })).await
}

/// A login that must succeed.
async fn signs_in(app: &TestApp, ip: &str, email: &str) {
    let response = login_from(app, ip, email, PASSWORD).await;
    assert!(response.get("errors").is_none(), "{email} from {ip} must get in: {response}");
    assert!(response["data"]["login"]["accessToken"].is_string(), "{response}");
}

/// A login refused before the password is looked at; the wait it gives.
async fn refused(app: &TestApp, ip: &str, email: &str, password: &str) -> (u64, Value) {
    let response = login_from(app, ip, email, password).await;
    assert_eq!(code(&response), "RATE_LIMITED", "{email} from {ip}: {response}");
    assert!(response["data"].is_null(), "{response}");
    (retry_after(&response), response["errors"][0]["message"].clone())
}

/// A failed login that was let through to the password check.
async fn wrong(app: &TestApp, ip: &str, email: &str) {
    let response = login_from(app, ip, email, WRONG).await;
    assert_eq!(code(&response), "UNAUTHENTICATED", "{email} from {ip}: {response}");
}

db_tests!(
    a_password_change_is_a_sign_in_attempt,
    registering_a_taken_address_costs_what_a_wrong_password_costs,
    a_foreign_ip_cannot_lock_an_account,
    the_failing_ip_waits_longer_each_time_while_another_ip_gets_in,
    many_ips_lock_an_email_alike_for_unknown_ones_but_not_for_known_good_ips,
    a_success_clears_the_owners_own_failures_but_not_what_attackers_earned
);

async fn a_foreign_ip_cannot_lock_an_account(app: TestApp) {
    app.data(REGISTER, json!({ "email": "admin@iron.city" })).await;
    let limited = app.respawn(|settings| settings.limits = small_limits()).await;
    signs_in(&limited, "127.0.0.1", "admin@iron.city").await;

    // The attacker hammers away from one address: delayed after three, then refused.
    for _ in 0..3 {
        wrong(&limited, "127.0.0.2", "admin@iron.city").await;
    }
    for _ in 0..20 {
        refused(&limited, "127.0.0.2", "admin@iron.city", WRONG).await;
    }

    // The owner gets in at once, from their known-good address and from a new one alike.
    signs_in(&limited, "127.0.0.1", "admin@iron.city").await;
    signs_in(&limited, "127.0.0.3", "admin@iron.city").await;
    // The owner's mistakes count on the owner's address only.
    wrong(&limited, "127.0.0.1", "admin@iron.city").await;
    signs_in(&limited, "127.0.0.1", "admin@iron.city").await;
}

async fn the_failing_ip_waits_longer_each_time_while_another_ip_gets_in(app: TestApp) {
    app.data(REGISTER, json!({ "email": "hugo@iron.city" })).await;
    let limited = app.respawn(|settings| settings.limits = small_limits()).await;
    let mut messages = Vec::new();
    for email in ["hugo@iron.city", "zapan@iron.city"] {
        for _ in 0..3 {
            wrong(&limited, "127.0.0.2", email).await;
        }
        // Each early attempt doubles the wait, up to the cap; even the right password is refused.
        let mut waits = Vec::new();
        for _ in 0..7 {
            let (wait, message) = refused(&limited, "127.0.0.2", email, PASSWORD).await;
            waits.push(wait);
            messages.push(message);
        }
        assert_eq!(
            waits,
            [200, 400, 800, 1600, 3200, 3200, 3200],
            "{email}: an unknown email is slowed down like an account"
        );
    }
    assert!(messages.windows(2).all(|pair| pair[0] == pair[1]), "one message for every refusal: {messages:?}");

    // Another address with the right password is not held up at all.
    signs_in(&limited, "127.0.0.3", "hugo@iron.city").await;
    // Nor is the same address on another email.
    wrong(&limited, "127.0.0.2", "yugo@iron.city").await;
}

async fn many_ips_lock_an_email_alike_for_unknown_ones_but_not_for_known_good_ips(app: TestApp) {
    app.data(REGISTER, json!({ "email": "yugo@iron.city" })).await;
    let limited = app.respawn(|settings| settings.limits = small_limits()).await;
    signs_in(&limited, "127.0.0.1", "yugo@iron.city").await;

    let mut answers = Vec::new();
    for email in ["yugo@iron.city", "zapan@iron.city"] {
        for ip in ["127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"] {
            wrong(&limited, ip, email).await;
        }
        // Locked now for every address that never signed in to it, even with the right password,
        // and for the failing ones.
        for ip in ["127.0.0.6", "127.0.0.2"] {
            let (wait, message) = refused(&limited, ip, &email.to_uppercase(), PASSWORD).await;
            assert!((5000..=6000).contains(&wait), "{email} from {ip}: a 100-minute lock, {wait} s left");
            answers.push(message);
        }
    }
    assert!(
        answers.windows(2).all(|pair| pair[0] == pair[1]),
        "a locked unknown email looks like a locked account: {answers:?}"
    );

    // The owner, on the address they signed in from before, is let in.
    signs_in(&limited, "127.0.0.1", "yugo@iron.city").await;
    let (wait, _) = refused(&limited, "127.0.0.6", "yugo@iron.city", PASSWORD).await;
    assert!((5000..=6000).contains(&wait), "the owner's success does not lift the lock: {wait}");
}

async fn a_success_clears_the_owners_own_failures_but_not_what_attackers_earned(app: TestApp) {
    app.data(REGISTER, json!({ "email": "ido@iron.city" })).await;
    let limited = app.respawn(|settings| settings.limits = small_limits()).await;

    // The owner's typos: two failures and a success, twice over, never delay them.
    for _ in 0..2 {
        wrong(&limited, "127.0.0.1", "ido@iron.city").await;
        wrong(&limited, "127.0.0.1", "ido@iron.city").await;
        signs_in(&limited, "127.0.0.1", "ido@iron.city").await;
    }
    // Their failure before the success no longer counts toward the lock either: three other
    // addresses failing (one short of four with the owner's) leave the email open.
    wrong(&limited, "127.0.0.1", "ido@iron.city").await;
    signs_in(&limited, "127.0.0.1", "ido@iron.city").await;
    for _ in 0..3 {
        wrong(&limited, "127.0.0.2", "ido@iron.city").await;
    }
    wrong(&limited, "127.0.0.3", "ido@iron.city").await;
    wrong(&limited, "127.0.0.4", "ido@iron.city").await;
    signs_in(&limited, "127.0.0.5", "ido@iron.city").await;

    // The attacker's wait survives the owner's success.
    let (first, _) = refused(&limited, "127.0.0.2", "ido@iron.city", WRONG).await;
    signs_in(&limited, "127.0.0.1", "ido@iron.city").await;
    let (second, _) = refused(&limited, "127.0.0.2", "ido@iron.city", WRONG).await;
    assert_eq!((first, second), (200, 400));

    // A fourth failing address locks the email, and the owner's success does not unlock it.
    wrong(&limited, "127.0.0.6", "ido@iron.city").await;
    refused(&limited, "127.0.0.7", "ido@iron.city", PASSWORD).await;
    signs_in(&limited, "127.0.0.1", "ido@iron.city").await;
    signs_in(&limited, "127.0.0.5", "ido@iron.city").await;
    refused(&limited, "127.0.0.7", "ido@iron.city", PASSWORD).await;
}

/// `changePassword` checks a password, so it is held to what holds `login`: one a request, the
/// client's sign-in budget, and the delays of its email; a stolen access token guesses no faster.
async fn a_password_change_is_a_sign_in_attempt(app: TestApp) {
    const CHANGE: &str =
        "mutation($current: String!, $new: String!) { changePassword(currentPassword: $current, newPassword: $new) }";
    const RIGHT: &str = "correct horse battery";
    let change = |current: &str| json!({ "current": current, "new": "a-brand-new-password" });
    let fan = app.sign_in_as(entity::enums::Role::Fan).await;
    let aliased = "mutation { c0: changePassword(currentPassword: \"g0\", newPassword: \"a-brand-new-password\") \
         c1: changePassword(currentPassword: \"g1\", newPassword: \"a-brand-new-password\") }";
    let refused_document = app.error_as(&fan.access_token, aliased, json!({})).await;
    assert_eq!(refused_document["extensions"]["code"], "GRAPHQL_VALIDATION_FAILED", "{refused_document}");

    // Three free wrong guesses from this address, then a wait, even for the right password.
    let delayed = app.respawn(|settings| settings.limits = small_limits()).await;
    for guess in ["g0", "g1", "g2"] {
        let wrong = delayed.error_as(&fan.access_token, CHANGE, change(guess)).await;
        assert_eq!(wrong["extensions"]["code"], "BAD_USER_INPUT", "{wrong}");
        assert_eq!(wrong["extensions"]["field"], "currentPassword");
    }
    let refused = delayed.error_as(&fan.access_token, CHANGE, change(RIGHT)).await;
    assert_eq!(refused["extensions"]["code"], "RATE_LIMITED", "{refused}");
    assert!(retry_after(&json!({ "errors": [refused] })) >= 1);
    // Logins of that email from that address wait too; the password did not change.
    let login = delayed.graphql(LOGIN, json!({ "email": fan.email, "password": RIGHT })).await;
    assert_eq!(code(&login), "RATE_LIMITED", "{login}");
    signs_in_with(&app, &fan.email, RIGHT).await;

    // Each check spends the address's sign-in budget.
    let budget = app.respawn(|settings| settings.limits = Limits { sign_ins_per_minute: 1, ..small_limits() }).await;
    let other = app.sign_in_as(entity::enums::Role::Fan).await;
    let wrong = budget.error_as(&other.access_token, CHANGE, change("g0")).await;
    assert_eq!(wrong["extensions"]["code"], "BAD_USER_INPUT", "{wrong}");
    let refused = budget.error_as(&other.access_token, CHANGE, change(RIGHT)).await;
    assert_eq!(refused["extensions"]["code"], "RATE_LIMITED", "{refused}");
    signs_in_with(&app, &other.email, RIGHT).await;
}

/// A login with `password` that must succeed (on a server with raised limits).
async fn signs_in_with(app: &TestApp, email: &str, password: &str) {
    let response = app.graphql(LOGIN, json!({ "email": email, "password": password })).await;
    assert!(response["data"]["login"]["accessToken"].is_string(), "{email} must get in: {response}");
}

/// `register` answers `CONFLICT` for a taken address, which tells that it has an account: so
/// asking counts as a failed sign-in on that email from that address, and the same delays follow.
async fn registering_a_taken_address_costs_what_a_wrong_password_costs(app: TestApp) {
    app.data(REGISTER, json!({ "email": "taken@iron.city" })).await;
    let limited = app.respawn(|settings| settings.limits = small_limits()).await;
    for _ in 0..3 {
        let taken = limited.graphql_from("127.0.0.1", REGISTER, json!({ "email": "taken@iron.city" })).await;
        assert_eq!(code(&taken), "CONFLICT", "{taken}");
    }
    let delayed = limited.graphql_from("127.0.0.1", REGISTER, json!({ "email": "taken@iron.city" })).await;
    assert_eq!(code(&delayed), "RATE_LIMITED", "{delayed}");
    assert!(retry_after(&delayed) >= 1);
    // Like after three wrong passwords: that address waits on that email, for the right password
    // too; the owner elsewhere does not, and other addresses register from it as before.
    refused(&limited, "127.0.0.1", "taken@iron.city", PASSWORD).await;
    signs_in(&limited, "127.0.0.2", "taken@iron.city").await;
    let fresh = limited.graphql_from("127.0.0.1", REGISTER, json!({ "email": "fresh@iron.city" })).await;
    assert!(fresh["data"]["register"]["accessToken"].is_string(), "{fresh}");
}
