//! Rows inserted behind the API's back, to give lists enough rows to page through, with ties and
//! NULLs in the sort keys on purpose.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{Duration, NaiveDate, TimeZone, Utc};
use entity::enums::{CreditRole, EventKind, FilmStatus, PetitionStatus, QuoteStatus, Role};
use entity::{credit, event, film, person, petition, quote, refresh_token, signature, user};
use sea_orm::{ActiveModelTrait, DatabaseConnection, Set};

/// The global ID of row `id` of `type_name`.
pub fn gid(type_name: &str, id: i64) -> String {
    STANDARD.encode(format!("{type_name}:{id}"))
}

/// The numeric id inside a global ID.
#[track_caller]
pub fn raw_id(global_id: &str) -> i64 {
    let text = String::from_utf8(STANDARD.decode(global_id).expect("base64")).expect("utf-8");
    text.split_once(':').expect("Type:id").1.parse().expect("an integer id")
}

fn instant(day: i64) -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2020, 1, 1, 12, 0, 0).single().expect("a valid instant") + Duration::days(day)
}

/// `count` films; pairs share a title, every third has no release date.
pub async fn films(db: &DatabaseConnection, count: i64) -> Vec<film::Model> {
    let mut rows = Vec::new();
    for i in 0..count {
        let release_date =
            (i % 3 != 0).then(|| NaiveDate::from_ymd_opt(2000, 1, 1).expect("date") + Duration::days((i * 37) % 50));
        let status = if i % 2 == 0 { FilmStatus::Released } else { FilmStatus::Announced };
        let row = film::ActiveModel {
            slug: Set(format!("fixture-film-{i}")),
            title: Set(format!("Fixture Film {:02}", i / 2)),
            release_date: Set(release_date),
            status: Set(status),
            created_at: Set(instant(i % 7)),
            updated_at: Set(instant(i % 7)),
            ..Default::default()
        }
        .insert(db)
        .await
        .expect("insert a film");
        rows.push(row);
    }
    rows
}

/// `count` people; pairs share a name, every other has no birth date.
pub async fn people(db: &DatabaseConnection, count: i64) -> Vec<person::Model> {
    let mut rows = Vec::new();
    for i in 0..count {
        let row = person::ActiveModel {
            slug: Set(format!("fixture-person-{i}")),
            name: Set(format!("Fixture Person {:02}", i / 2)),
            birth_date: Set(
                (i % 2 == 0).then(|| NaiveDate::from_ymd_opt(1970, 1, 1).expect("date") + Duration::days(i % 5))
            ),
            created_at: Set(instant(i % 4)),
            updated_at: Set(instant(i % 4)),
            ..Default::default()
        }
        .insert(db)
        .await
        .expect("insert a person");
        rows.push(row);
    }
    rows
}

/// One credit of `person_id` on `film_id`.
pub async fn credit(
    db: &DatabaseConnection,
    film_id: i64,
    person_id: i64,
    role: CreditRole,
    billing_order: Option<i32>,
) -> credit::Model {
    credit::ActiveModel {
        film_id: Set(film_id),
        person_id: Set(person_id),
        role: Set(role),
        billing_order: Set(billing_order),
        created_at: Set(instant(0)),
        ..Default::default()
    }
    .insert(db)
    .await
    .expect("insert a credit")
}

/// `count` quotes of `person_id` with `status`; every other has no date.
pub async fn quotes(
    db: &DatabaseConnection,
    person_id: i64,
    film_id: Option<i64>,
    count: i64,
    status: QuoteStatus,
) -> Vec<quote::Model> {
    let mut rows = Vec::new();
    for i in 0..count {
        let row = quote::ActiveModel {
            text: Set(format!("Fixture quote number {i} ({status:?})")),
            person_id: Set(person_id),
            film_id: Set(film_id),
            source: Set("Fixture Weekly".to_owned()),
            said_on: Set(
                (i % 2 == 0).then(|| NaiveDate::from_ymd_opt(2019, 1, 1).expect("date") + Duration::days(i % 3))
            ),
            status: Set(status),
            created_at: Set(instant(i % 5)),
            updated_at: Set(instant(i % 5)),
            ..Default::default()
        }
        .insert(db)
        .await
        .expect("insert a quote");
        rows.push(row);
    }
    rows
}

/// `count` events, starting a day apart in pairs.
pub async fn events(db: &DatabaseConnection, count: i64, film_id: Option<i64>) -> Vec<event::Model> {
    let mut rows = Vec::new();
    for i in 0..count {
        let row = event::ActiveModel {
            slug: Set(format!("fixture-event-{i}")),
            kind: Set(if i % 2 == 0 { EventKind::Meetup } else { EventKind::WatchParty }),
            title: Set(format!("Fixture Event {:02}", i / 2)),
            film_id: Set(film_id),
            starts_at: Set(instant(i / 2)),
            ends_at: Set(Some(instant(i / 2) + Duration::hours(2))),
            time_zone: Set("Europe/London".to_owned()),
            city: Set(Some(if i % 3 == 0 { "London" } else { "Tokyo" }.to_owned())),
            country: Set(Some(if i % 3 == 0 { "GB" } else { "JP" }.to_owned())),
            capacity: Set(Some(10)),
            created_at: Set(instant(i % 3)),
            updated_at: Set(instant(i % 3)),
            ..Default::default()
        }
        .insert(db)
        .await
        .expect("insert an event");
        rows.push(row);
    }
    rows
}

/// `count` petitions; every other closes at some point.
pub async fn petitions(db: &DatabaseConnection, count: i64) -> Vec<petition::Model> {
    let mut rows = Vec::new();
    for i in 0..count {
        let row = petition::ActiveModel {
            slug: Set(format!("fixture-petition-{i}")),
            title: Set(format!("Fixture Petition {:02}", i / 2)),
            body: Set("Please.".to_owned()),
            target: Set("A studio".to_owned()),
            goal: Set(100 + i % 3),
            status: Set(if i % 4 == 0 { PetitionStatus::Closed } else { PetitionStatus::Open }),
            closes_at: Set((i % 2 == 0).then(|| instant(30 + i % 4))),
            created_at: Set(instant(i % 6)),
            updated_at: Set(instant(i % 6)),
            ..Default::default()
        }
        .insert(db)
        .await
        .expect("insert a petition");
        rows.push(row);
    }
    rows
}

/// A fan account.
pub async fn user(db: &DatabaseConnection, display_name: &str) -> user::Model {
    user::ActiveModel {
        email: Set(format!("{}@example.com", display_name.to_lowercase().replace(" ", "."))),
        display_name: Set(display_name.to_owned()),
        password_hash: Set("$argon2id$v=19$m=19456,t=2,p=1$fixture$fixture".to_owned()),
        role: Set(Role::Fan),
        created_at: Set(instant(0)),
        updated_at: Set(instant(0)),
        ..Default::default()
    }
    .insert(db)
    .await
    .expect("insert a user")
}

/// A signature of `user_id` on `petition_id`, with the petition's counter moved.
pub async fn signature(
    db: &DatabaseConnection,
    petition_id: i64,
    user_id: i64,
    public: bool,
    country: Option<&str>,
) -> signature::Model {
    use sea_orm::{ConnectionTrait, DatabaseBackend, Statement};
    let backend = db.get_database_backend();
    let sql = match backend {
        DatabaseBackend::Postgres => {
            "UPDATE petitions SET signature_count = signature_count + 1, count_version = count_version + 1 WHERE id = $1"
        }
        _ => {
            "UPDATE petitions SET signature_count = signature_count + 1, count_version = count_version + 1 WHERE id = ?"
        }
    };
    db.execute_raw(Statement::from_sql_and_values(backend, sql, [petition_id.into()])).await.expect("move the counter");
    signature::ActiveModel {
        petition_id: Set(petition_id),
        user_id: Set(user_id),
        comment: Set(Some(format!("signed by user {user_id}"))),
        country: Set(country.map(str::to_owned)),
        public: Set(public),
        created_at: Set(instant(user_id)),
        ..Default::default()
    }
    .insert(db)
    .await
    .expect("insert a signature")
}

/// A live session of `user_id` (one unrevoked refresh token of a new family), as the server would
/// start at sign-in; its id, the `sid` of the access tokens issued in it.
pub async fn session(db: &DatabaseConnection, user_id: i64) -> String {
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let unique = format!("{}-{}", std::process::id(), COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
    let family = format!("fixture-session-{user_id}-{unique}");
    refresh_token::ActiveModel {
        user_id: Set(user_id),
        token_hash: Set(format!("fixture-hash-{unique}-{}", Utc::now().timestamp_nanos_opt().unwrap_or_default())),
        family_id: Set(family.clone()),
        expires_at: Set(Utc::now() + Duration::days(30)),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(db)
    .await
    .expect("insert a session");
    family
}

/// A fan inserted directly, with a live session and an access token of it signed by the test key
/// (no password hashing, so hundreds of fans cost little).
pub async fn fan(db: &DatabaseConnection, display_name: &str) -> (user::Model, String) {
    let user = user(db, display_name).await;
    let sid = session(db, user.id).await;
    let now = Utc::now().timestamp();
    let claims = serde_json::json!({
        "sub": user.id.to_string(), "sid": sid, "role": "FAN", "iat": now, "exp": now + 900,
        "iss": "fandb", "aud": "fandb-api"
    });
    let token = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(super::TEST_JWT_SECRET.as_bytes()),
    )
    .expect("sign a token");
    (user, token)
}

/// A live session of `user_id` with a refresh token the server takes (stored as its hash, as the
/// server stores them) and an access token of it signed with the test key: `(access, refresh)`.
/// No password is checked, so a test can start hundreds of sessions cheaply.
pub async fn refreshable_session(db: &DatabaseConnection, user_id: i64, role: Role) -> (String, String) {
    use api::auth::tokens;
    let family = tokens::new_family_id();
    let refresh = tokens::new_refresh_token();
    let now = Utc::now();
    refresh_token::ActiveModel {
        user_id: Set(user_id),
        token_hash: Set(tokens::hash_refresh_token(&refresh)),
        family_id: Set(family.clone()),
        expires_at: Set(now + Duration::days(30)),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await
    .expect("insert a session");
    let keys = tokens::TokenKeys::new(&api::config::Secret::new(super::TEST_JWT_SECRET));
    let (access, _) = keys.issue_access(user_id, role, &family, now).expect("sign a token");
    (access, refresh)
}

/// A fan whose password hash is `password_hash` (copied from an account registered through the
/// API, so the password is known without hashing it again), with a unique address.
pub async fn user_with_hash(db: &DatabaseConnection, email: &str, password_hash: &str) -> user::Model {
    user::ActiveModel {
        email: Set(email.to_owned()),
        display_name: Set("Fixture Fan".to_owned()),
        password_hash: Set(password_hash.to_owned()),
        role: Set(Role::Fan),
        created_at: Set(Utc::now()),
        updated_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(db)
    .await
    .expect("insert a user")
}

/// A live password-reset token of `user_id`, as `requestPasswordReset` would mail it.
pub async fn reset_token(db: &DatabaseConnection, user_id: i64) -> String {
    use api::auth::tokens;
    let token = tokens::new_refresh_token();
    entity::account_token::ActiveModel {
        user_id: Set(user_id),
        purpose: Set(entity::enums::TokenPurpose::ResetPassword),
        token_hash: Set(tokens::hash_refresh_token(&token)),
        expires_at: Set(Utc::now() + Duration::minutes(30)),
        used_at: Set(None),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(db)
    .await
    .expect("insert a reset token");
    token
}

/// The count a petition's signatures (`"petitions"`) or an event's fans going (`"events"`) stand
/// at: the stored column plus the slots not folded into it yet, in one statement.
pub async fn stored_count(db: &DatabaseConnection, table: &str, id: i64) -> i64 {
    use sea_orm::{ConnectionTrait, DatabaseBackend, Statement};
    let (column, slots, key) = match table {
        "petitions" => ("signature_count", "petition_count_slots", "petition_id"),
        _ => ("going_count", "event_count_slots", "event_id"),
    };
    let backend = db.get_database_backend();
    let mark = if backend == DatabaseBackend::Postgres { "$1" } else { "?" };
    let sql = format!(
        "SELECT CAST({column} + COALESCE((SELECT SUM(delta) FROM {slots} WHERE {key} = {table}.id), 0) AS BIGINT) \
         AS count FROM {table} WHERE id = {mark}"
    );
    let row = db.query_one_raw(Statement::from_sql_and_values(backend, sql, [id.into()])).await.expect("the count");
    row.expect("the row").try_get("", "count").expect("an integer")
}
