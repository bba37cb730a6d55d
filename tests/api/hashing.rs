//! Password hashing under pressure: a full hashing queue refuses sign-ins at once with
//! `RATE_LIMITED` and a retry hint (never a timeout or a 500, and a refused registration stores
//! nothing), and logins still complete while other work keeps every core busy. Hashes made before
//! the hashing threads kept their own Argon2 memory still sign in, and new ones keep the same PHC
//! format and parameters.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use serde_json::{Value, json};

use crate::support::TestApp;

const REGISTER: &str = "mutation($email: String!) { register(input: { email: $email, password: \"long-enough-password\", displayName: \"Fan\" }) { accessToken } }";
const LOGIN: &str =
    "mutation($email: String!) { login(input: { email: $email, password: \"long-enough-password\" }) { accessToken } }";

fn code(response: &Value) -> &str {
    response["errors"][0]["extensions"]["code"].as_str().unwrap_or("none")
}

/// Whether `response` succeeded; otherwise it must be `RATE_LIMITED` with a sane `retryAfter`.
fn succeeded_or_refused(response: &Value) -> bool {
    if response.get("errors").is_none() {
        return true;
    }
    assert_eq!(code(response), "RATE_LIMITED", "a sign-in neither succeeded nor was refused cleanly: {response}");
    let retry_after = response["errors"][0]["extensions"]["retryAfter"]
        .as_u64()
        .unwrap_or_else(|| panic!("RATE_LIMITED without retryAfter: {response}"));
    assert!((1..=120).contains(&retry_after), "retryAfter {retry_after}: {response}");
    false
}

async fn register(app: &TestApp, email: &str) {
    let response = app.graphql(REGISTER, json!({ "email": email })).await;
    assert!(response.get("errors").is_none(), "register {email}: {response}");
}

/// A thread spinning on each core until dropped: other work wanting all the CPU.
struct BusyCpu {
    stop: Arc<AtomicBool>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl BusyCpu {
    fn start() -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let cores = std::thread::available_parallelism().map(usize::from).unwrap_or(2);
        let threads = (0..cores)
            .map(|_| {
                let stop = stop.clone();
                std::thread::spawn(move || {
                    let mut x = 0_u64;
                    while !stop.load(Ordering::Relaxed) {
                        x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
                    }
                })
            })
            .collect();
        Self { stop, threads }
    }
}

impl Drop for BusyCpu {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

db_tests!(
    a_full_hashing_queue_refuses_sign_ins_at_once_and_stores_nothing,
    logins_complete_while_every_core_is_busy,
    a_hash_stored_by_the_standard_hasher_signs_in_and_new_ones_keep_its_format
);

async fn a_full_hashing_queue_refuses_sign_ins_at_once_and_stores_nothing(app: TestApp) {
    for i in 0..8 {
        register(&app, &format!("known{i}@iron.city")).await;
    }
    // One hashing thread and room for one more job: a burst must overflow it.
    let tiny = app
        .respawn(|settings| {
            settings.limits.hash_threads = 1;
            settings.limits.hash_queue = 1;
        })
        .await;
    // Open the new server's database connections first: on a loaded machine, opening sixteen
    // at once can outlast the pool's acquire timeout, and this test is about the hashing queue.
    let warm_up = join_all((0..16).map(|_| tiny.graphql("{ films(first: 1) { totalCount } }", json!({})))).await;
    assert!(warm_up.iter().all(|response| response.get("errors").is_none()), "{warm_up:?}");
    let new_emails: Vec<String> = (0..16).map(|i| format!("burst{i}@iron.city")).collect();
    let registers = join_all(new_emails.iter().map(|email| tiny.graphql(REGISTER, json!({ "email": email }))));
    let logins =
        join_all((0..16).map(|i| tiny.graphql(LOGIN, json!({ "email": format!("known{}@iron.city", i % 8) }))));
    let (registers, logins) = futures_util::join!(registers, logins);

    let mut refused = 0;
    for response in logins.iter() {
        if !succeeded_or_refused(response) {
            refused += 1;
        }
    }
    let mut refused_emails = Vec::new();
    for (email, response) in new_emails.iter().zip(&registers) {
        if !succeeded_or_refused(response) {
            refused_emails.push(email.clone());
        }
    }
    refused += refused_emails.len();
    assert!(refused > 0, "32 sign-ins at once never filled a queue of one");
    assert!(refused < 32, "every sign-in was refused: the pool never hashed");

    // A refused registration stored no account: the email is still free, and its password
    // does not sign in.
    for email in &refused_emails {
        let login = app.graphql(LOGIN, json!({ "email": email })).await;
        assert_eq!(code(&login), "UNAUTHENTICATED", "{email} was refused yet stored: {login}");
    }
    if let Some(email) = refused_emails.first() {
        register(&app, email).await;
    }

    // Once the burst is over, the small pool serves sign-ins again.
    let login = tiny.graphql(LOGIN, json!({ "email": "known0@iron.city" })).await;
    assert!(login.get("errors").is_none(), "{login}");
}

async fn logins_complete_while_every_core_is_busy(app: TestApp) {
    let emails: Vec<String> = (0..4).map(|i| format!("busy{i}@iron.city")).collect();
    for email in &emails {
        register(&app, email).await;
    }
    let busy = BusyCpu::start();
    let started = Instant::now();
    let logins = join_all(emails.iter().map(|email| app.graphql(LOGIN, json!({ "email": email })))).await;
    let registration = app.graphql(REGISTER, json!({ "email": "under-load@iron.city" })).await;
    let took = started.elapsed();
    drop(busy);
    for response in logins.iter().chain([&registration]) {
        assert!(response.get("errors").is_none(), "a sign-in failed while the CPU was busy: {response}");
    }
    // Generous: the point is that hashing is not starved (the idle class waited forever).
    assert!(took < Duration::from_secs(20), "five sign-ins took {took:?} on a busy CPU");
}

/// "long-enough-password" hashed by `argon2` 0.5's own `PasswordHasher` (argon2id, m = 19 MiB,
/// t = 2, p = 1), as every stored hash was made before each hashing thread kept its memory.
const STANDARD_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$L39j7JXPfoqai665MXGQGg$nRxf7HtUYKggFd4p0SBHJ7NpBh9pRZL9T43qqRQiGhQ";

async fn a_hash_stored_by_the_standard_hasher_signs_in_and_new_ones_keep_its_format(app: TestApp) {
    use sea_orm::{ActiveModelTrait, ActiveValue, ColumnTrait, EntityTrait, QueryFilter};
    let stored = async |email: &str| {
        entity::user::Entity::find()
            .filter(entity::user::Column::Email.eq(email))
            .one(&app.db)
            .await
            .expect("query")
            .expect("the user")
    };
    register(&app, "old@iron.city").await;
    let new_hash = stored("old@iron.city").await.password_hash;
    assert!(new_hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{new_hash}");
    assert_eq!(new_hash.split('$').count(), 6, "salt and hash in PHC form: {new_hash}");

    let mut model: entity::user::ActiveModel = stored("old@iron.city").await.into();
    model.password_hash = ActiveValue::Set(STANDARD_HASH.to_owned());
    model.update(&app.db).await.expect("store the standard hash");
    let login = app.graphql(LOGIN, json!({ "email": "old@iron.city" })).await;
    assert!(login["data"]["login"]["accessToken"].is_string(), "{login}");
    let wrong = app
        .graphql(
            "mutation { login(input: { email: \"old@iron.city\", password: \"long-enough-passwore\" }) { accessToken } }",
            json!({}),
        )
        .await;
    assert_eq!(code(&wrong), "UNAUTHENTICATED", "{wrong}");
}
