//! Synthetic data at scale for benchmarks: `fandb seed --synthetic --scale N`. Deterministic (a
//! fixed seed), loaded through the real schema in multi-row batches inside one transaction, with
//! realistic skew: credits per film vary from 10 to 90 (100,000 at scale 1), and signatures follow a Zipf-like curve
//! so a few petitions hold most of them. Every fan's password is `FAN_PASSWORD` (hashed once).
//! Slugs are predictable for benchmarks: `synthetic-film-1`, `synthetic-petition-1` (the most
//! signed), fans `fan1@synthetic.example`…

use std::time::Instant;

use chrono::{Duration, NaiveDate, TimeZone, Utc};
use entity::enums::{CreditRole, EventKind, FilmStatus, PetitionStatus, QuoteStatus, Role};
use entity::{credit, event, film, person, petition, quote, signature, user};
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DatabaseBackend, DatabaseConnection, EntityTrait, PaginatorTrait, Set,
};

use crate::auth::password::Passwords;
use crate::domain::{DomainError, DomainResult};

/// The password of every synthetic fan.
pub(crate) const FAN_PASSWORD: &str = "synthetic-fan-password";
/// Rows per INSERT statement (well under both databases' bound-parameter limits).
const BATCH: usize = 1000;
const SEED: u64 = 0x00A1_17A5;

/// How many rows of each kind scale 1 holds.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sizes {
    pub(crate) films: usize,
    pub(crate) people: usize,
    pub(crate) quotes: usize,
    pub(crate) events: usize,
    pub(crate) petitions: usize,
    pub(crate) users: usize,
    pub(crate) signatures: usize,
}

impl Sizes {
    /// Scale 1 is 2,000 films … 500,000 signatures; scale N multiplies every count by N.
    pub(crate) fn at_scale(scale: f64) -> Self {
        let times = |count: f64| ((count * scale).round() as usize).max(1);
        Self {
            films: times(2_000.0),
            people: times(20_000.0).max(100),
            quotes: times(50_000.0),
            events: times(10_000.0),
            petitions: times(1_000.0),
            users: times(50_000.0),
            signatures: times(500_000.0),
        }
    }
}

/// What was loaded.
#[derive(Debug, Default)]
pub struct Report {
    pub(crate) rows: usize,
    pub(crate) credits: usize,
    pub(crate) signatures: usize,
}

/// Loads synthetic data into an empty database; `progress` hears each step.
pub async fn load(db: &DatabaseConnection, scale: f64, progress: impl Fn(&str)) -> DomainResult<Report> {
    if film::Entity::find().count(db).await? > 0 || user::Entity::find().count(db).await? > 0 {
        return Err(DomainError::invalid(
            "scale",
            "synthetic data needs an empty database (run `migrate` on a fresh one)",
        ));
    }
    let sizes = Sizes::at_scale(scale);
    let started = Instant::now();
    let mut rng = fastrand::Rng::with_seed(SEED);
    let password_hash = Passwords::default().hash(FAN_PASSWORD).await?;
    let base = Utc.with_ymd_and_hms(2019, 2, 14, 0, 0, 0).single().unwrap_or_else(Utc::now);
    let txn = crate::domain::begin_write(db).await?;
    let mut report = Report::default();
    let step =
        |name: &str, rows: usize| progress(&format!("{name}: {rows} rows ({:.1} s)", started.elapsed().as_secs_f64()));

    let films = (1..=sizes.films).map(|n| {
        let id = n as i64;
        film::ActiveModel {
            id: Set(id),
            slug: Set(format!("synthetic-film-{n}")),
            title: Set(format!("{} {n}", TITLES[n % TITLES.len()])),
            tagline: Set(Some(format!("Tagline of film {n}"))),
            synopsis: Set(Some(format!("Synthetic film number {n}, made for benchmarks."))),
            release_date: Set(NaiveDate::from_ymd_opt(
                1980 + (n % 45) as i32,
                1 + (n % 12) as u32,
                1 + (n % 28) as u32,
            )),
            runtime_minutes: Set(Some(80 + (n % 90) as i32)),
            status: Set(if n % 10 == 0 { FilmStatus::InDevelopment } else { FilmStatus::Released }),
            budget_usd: Set(Some(1_000_000 * (1 + (n % 200) as i64))),
            box_office_usd: Set(Some(2_000_000 * (1 + (n % 300) as i64))),
            distributor: Set(Some(DISTRIBUTORS[n % DISTRIBUTORS.len()].to_owned())),
            sequel_of_id: Set((n % 20 == 0 && n > 1).then(|| id - 1)),
            source_articles: Set(None),
            poster_url: Set(None),
            created_at: Set(base + Duration::minutes(n as i64)),
            updated_at: Set(base + Duration::minutes(n as i64)),
        }
    });
    report.rows += insert_batches(&txn, films).await?;
    step("films", sizes.films);

    let people = (1..=sizes.people).map(|n| person::ActiveModel {
        id: Set(n as i64),
        slug: Set(format!("synthetic-person-{n}")),
        name: Set(format!("{} {} {n}", FIRST_NAMES[n % FIRST_NAMES.len()], LAST_NAMES[(n / 7) % LAST_NAMES.len()])),
        bio: Set((n % 3 == 0).then(|| format!("Person {n} works in film."))),
        birth_date: Set(NaiveDate::from_ymd_opt(1940 + (n % 60) as i32, 1 + (n % 12) as u32, 1 + (n % 28) as u32)),
        source_articles: Set(None),
        photo_url: Set(None),
        created_at: Set(base + Duration::seconds(n as i64)),
        updated_at: Set(base + Duration::seconds(n as i64)),
    });
    report.rows += insert_batches(&txn, people).await?;
    step("people", sizes.people);

    // 10–100 credits a film, each to a distinct person (a run of consecutive people).
    let mut credits = Vec::new();
    let mut credit_id = 0_i64;
    for film_id in 1..=sizes.films {
        let count = rng.usize(10..=90).min(sizes.people);
        let first_person = rng.usize(0..sizes.people);
        for order in 0..count {
            credit_id += 1;
            let person_id = ((first_person + order) % sizes.people + 1) as i64;
            let role = match order {
                0 => CreditRole::Director,
                1 => CreditRole::Writer,
                2 | 3 => CreditRole::Producer,
                _ => CreditRole::Cast,
            };
            credits.push(credit::ActiveModel {
                id: Set(credit_id),
                film_id: Set(film_id as i64),
                person_id: Set(person_id),
                character: Set((role == CreditRole::Cast).then(|| format!("Character {order}"))),
                role: Set(role),
                billing_order: Set(Some(order as i32)),
                created_at: Set(base),
            });
        }
    }
    report.credits = credits.len();
    report.rows += insert_batches(&txn, credits).await?;
    step("credits", report.credits);

    let users = (1..=sizes.users).map(|n| user::ActiveModel {
        id: Set(n as i64),
        email: Set(format!("fan{n}@synthetic.example")),
        display_name: Set(format!("Fan {n}")),
        password_hash: Set(password_hash.clone()),
        role: Set(Role::Fan),
        email_verified: Set(false),
        last_login_at: Set(None),
        created_at: Set(base + Duration::seconds(n as i64)),
        updated_at: Set(base + Duration::seconds(n as i64)),
    });
    report.rows += insert_batches(&txn, users).await?;
    step("users", sizes.users);

    let quotes = (1..=sizes.quotes)
        .map(|n| {
            let film_id = (n % 5 != 0).then(|| rng.usize(1..=sizes.films) as i64);
            quote::ActiveModel {
                id: Set(n as i64),
                text: Set(format!("{} (quote {n})", LINES[n % LINES.len()])),
                person_id: Set(rng.usize(1..=sizes.people) as i64),
                film_id: Set(film_id),
                source: Set(format!("Interview {}", n % 500)),
                source_url: Set(Some(format!("https://example.com/interviews/{n}"))),
                said_on: Set(NaiveDate::from_ymd_opt(2000 + (n % 25) as i32, 1 + (n % 12) as u32, 1 + (n % 28) as u32)),
                context: Set(None),
                status: Set(if n % 20 == 0 { QuoteStatus::Pending } else { QuoteStatus::Published }),
                submitted_by_id: Set((n % 20 == 0).then(|| (n % sizes.users + 1) as i64)),
                source_articles: Set(None),
                created_at: Set(base + Duration::seconds(n as i64)),
                updated_at: Set(base + Duration::seconds(n as i64)),
            }
        })
        .collect::<Vec<_>>();
    report.rows += insert_batches(&txn, quotes).await?;
    step("quotes", sizes.quotes);

    let events = (1..=sizes.events)
        .map(|n| {
            let starts_at = base + Duration::hours(n as i64 * 7);
            let online = n % 3 == 0;
            event::ActiveModel {
                id: Set(n as i64),
                slug: Set(format!("synthetic-event-{n}")),
                kind: Set(match n % 4 {
                    0 => EventKind::Screening,
                    1 => EventKind::HashtagCampaign,
                    2 => EventKind::WatchParty,
                    _ => EventKind::Panel,
                }),
                title: Set(format!("Fan event {n}")),
                description: Set(Some(format!("Synthetic event {n}."))),
                film_id: Set(Some(rng.usize(1..=sizes.films) as i64)),
                starts_at: Set(starts_at),
                ends_at: Set(Some(starts_at + Duration::hours(2))),
                time_zone: Set(TIME_ZONES[n % TIME_ZONES.len()].to_owned()),
                venue: Set((!online).then(|| format!("Cinema {}", n % 300))),
                city: Set((!online).then(|| CITIES[n % CITIES.len()].to_owned())),
                country: Set((!online).then(|| COUNTRIES[n % COUNTRIES.len()].to_owned())),
                online_url: Set(online.then(|| format!("https://example.com/live/{n}"))),
                hashtag: Set(Some("#AlitaArmy".to_owned())),
                capacity: Set((!online).then_some(50 + (n % 400) as i32)),
                created_by_id: Set(None),
                going_count: Set(0),
                count_version: Set(0),
                source_articles: Set(None),
                image_url: Set(None),
                created_at: Set(base + Duration::seconds(n as i64)),
                updated_at: Set(base + Duration::seconds(n as i64)),
            }
        })
        .collect::<Vec<_>>();
    report.rows += insert_batches(&txn, events).await?;
    step("events", sizes.events);

    // Zipf-like: petition k holds about C/k signatures, capped at the number of users.
    let counts = zipf_counts(sizes.petitions, sizes.signatures, sizes.users);
    let petitions = (1..=sizes.petitions).map(|n| petition::ActiveModel {
        id: Set(n as i64),
        slug: Set(format!("synthetic-petition-{n}")),
        title: Set(format!("Petition {n}: make the sequel")),
        body: Set(format!("Synthetic petition {n}.")),
        target: Set("The studio".to_owned()),
        goal: Set(((counts[n - 1] as i64) * 2).max(100)),
        status: Set(if n % 10 == 0 { PetitionStatus::Closed } else { PetitionStatus::Open }),
        film_id: Set(Some(((n - 1) % sizes.films + 1) as i64)),
        closes_at: Set(None),
        signature_count: Set(counts[n - 1] as i64),
        count_version: Set(counts[n - 1] as i64),
        source_articles: Set(None),
        image_url: Set(None),
        created_at: Set(base + Duration::seconds(n as i64)),
        updated_at: Set(base + Duration::seconds(n as i64)),
    });
    report.rows += insert_batches(&txn, petitions).await?;
    step("petitions", sizes.petitions);

    // Each petition's signers: a run of consecutive users from a petition-specific start, so no
    // user signs twice.
    let mut signature_id = 0_i64;
    let mut batch = Vec::with_capacity(BATCH);
    for (index, &count) in counts.iter().enumerate() {
        let first_user = (index * 7919) % sizes.users;
        for offset in 0..count {
            signature_id += 1;
            batch.push(signature::ActiveModel {
                id: Set(signature_id),
                petition_id: Set(index as i64 + 1),
                user_id: Set(((first_user + offset) % sizes.users + 1) as i64),
                comment: Set((signature_id % 10 == 0).then(|| "Make it happen!".to_owned())),
                country: Set(Some(COUNTRIES[rng.usize(0..COUNTRIES.len())].to_owned())),
                public: Set(signature_id % 4 != 0),
                created_at: Set(base + Duration::seconds(signature_id * 30)),
            });
            if batch.len() == BATCH * 20 {
                report.rows += insert_batches(&txn, std::mem::take(&mut batch)).await?;
                step("signatures", signature_id as usize);
            }
        }
    }
    report.rows += insert_batches(&txn, batch).await?;
    report.signatures = signature_id as usize;
    step("signatures", report.signatures);

    if txn.get_database_backend() == DatabaseBackend::Postgres {
        // Ids were given explicitly: move each sequence past them.
        for table in ["films", "people", "credits", "users", "quotes", "events", "petitions", "signatures"] {
            let sql = format!(
                "SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT COALESCE(MAX(id), 1) FROM {table}))"
            );
            txn.execute_unprepared(&sql).await?;
        }
    }
    txn.commit().await?;
    // Fresh statistics for every table, so both planners pick the per-parent indexes for this much
    // data, and see the counter slot tables empty (never analysed, PostgreSQL guesses ten pages
    // and probes them with a bitmap scan on every count it reads).
    db.execute_unprepared("ANALYZE").await?;
    step("committed", report.rows);
    Ok(report)
}

/// Signatures per petition: about `total / (k · H)` for the k-th, each at most `cap`.
fn zipf_counts(petitions: usize, total: usize, cap: usize) -> Vec<usize> {
    let harmonic: f64 = (1..=petitions).map(|k| 1.0 / k as f64).sum();
    let mut scale = total as f64 / harmonic;
    // Raise the curve until the capped counts add up to the total (or everything is capped).
    for _ in 0..64 {
        let sum: usize = (1..=petitions).map(|k| ((scale / k as f64) as usize).min(cap)).sum();
        if sum >= total || sum >= petitions * cap {
            break;
        }
        scale *= 1.0 + (total - sum) as f64 / total as f64;
    }
    let mut counts: Vec<usize> = (1..=petitions).map(|k| ((scale / k as f64) as usize).min(cap)).collect();
    let mut excess = counts.iter().sum::<usize>().saturating_sub(total);
    for count in counts.iter_mut().rev() {
        let cut = excess.min(*count);
        *count -= cut;
        excess -= cut;
    }
    counts
}

/// Inserts `rows` in multi-row statements of `BATCH`; the number inserted.
async fn insert_batches<A, C>(txn: &C, rows: impl IntoIterator<Item = A>) -> DomainResult<usize>
where
    A: ActiveModelTrait + Send,
    C: ConnectionTrait,
{
    let mut inserted = 0;
    let mut batch = Vec::with_capacity(BATCH);
    for row in rows {
        batch.push(row);
        if batch.len() == BATCH {
            inserted += batch.len();
            A::Entity::insert_many(std::mem::take(&mut batch)).exec_without_returning(txn).await?;
        }
    }
    if !batch.is_empty() {
        inserted += batch.len();
        A::Entity::insert_many(batch).exec_without_returning(txn).await?;
    }
    Ok(inserted)
}

const TITLES: [&str; 8] = [
    "Battle Angel",
    "Iron City",
    "Motorball",
    "Zalem Rising",
    "Scrapyard",
    "Hunter-Warrior",
    "Panzer Kunst",
    "Ido's Clinic",
];
const DISTRIBUTORS: [&str; 4] = ["20th Century Studios", "Disney", "Independent", "Streaming"];
const FIRST_NAMES: [&str; 10] =
    ["Rosa", "Christoph", "Jennifer", "Mahershala", "Ed", "Keean", "Jackie", "Lana", "Eiza", "Jorge"];
const LAST_NAMES: [&str; 10] =
    ["Salazar", "Waltz", "Connelly", "Ali", "Skrein", "Johnson", "Haley", "Condor", "González", "Lendeborg"];
const LINES: [&str; 5] = [
    "I would love to make another one",
    "The fans kept it alive",
    "Motorball was the hardest thing we shot",
    "Wētā built every frame of her",
    "It still might happen",
];
const TIME_ZONES: [&str; 5] =
    ["America/Los_Angeles", "Europe/London", "Asia/Tokyo", "America/Mexico_City", "Europe/Berlin"];
const CITIES: [&str; 5] = ["Los Angeles", "London", "Tokyo", "Mexico City", "Berlin"];
const COUNTRIES: [&str; 8] = ["US", "GB", "JP", "MX", "DE", "FR", "BR", "IN"];
