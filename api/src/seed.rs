//! The data sets: the Alita data file (`data/alita.json`) loaded into an empty database on first
//! start or by `fandb seed`. Loading is idempotent: records are matched by slug (credits by film,
//! person and role; quotes by person and text), and what exists is left as it is.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use entity::enums::{CreditRole, EventKind, FilmStatus, PetitionStatus, QuoteStatus};
use entity::{credit, event, film, person, petition, quote};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, Set,
};
use serde::Deserialize;

use crate::domain::sources::{self, SourceArticle};
use crate::domain::{self, DomainError, DomainResult};

/// The #AlitaArmy data set, compiled into the binary.
pub const ALITA: &str = include_str!("../../data/alita.json");

/// A whole data file.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DataSet {
    #[serde(default)]
    pub(crate) people: Vec<PersonRecord>,
    #[serde(default)]
    pub(crate) films: Vec<FilmRecord>,
    #[serde(default)]
    pub(crate) quotes: Vec<QuoteRecord>,
    #[serde(default)]
    pub(crate) events: Vec<EventRecord>,
    #[serde(default)]
    pub(crate) petitions: Vec<PetitionRecord>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct PersonRecord {
    pub(crate) slug: String,
    pub(crate) name: String,
    pub(crate) bio: Option<String>,
    pub(crate) birth_date: Option<NaiveDate>,
    /// The articles the record draws on.
    #[serde(default)]
    pub(crate) sources: Vec<SourceArticle>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct FilmRecord {
    pub(crate) slug: String,
    pub(crate) title: String,
    pub(crate) tagline: Option<String>,
    pub(crate) synopsis: Option<String>,
    pub(crate) release_date: Option<NaiveDate>,
    pub(crate) runtime_minutes: Option<i32>,
    pub(crate) status: FilmStatus,
    pub(crate) budget_usd: Option<i64>,
    pub(crate) box_office_usd: Option<i64>,
    pub(crate) distributor: Option<String>,
    /// The slug of the film this one follows.
    pub(crate) sequel_of: Option<String>,
    #[serde(default)]
    pub(crate) credits: Vec<CreditRecord>,
    /// The articles the record draws on.
    #[serde(default)]
    pub(crate) sources: Vec<SourceArticle>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct CreditRecord {
    /// The person's slug.
    pub(crate) person: String,
    pub(crate) role: CreditRole,
    pub(crate) character: Option<String>,
    pub(crate) billing_order: Option<i32>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct QuoteRecord {
    /// The speaker's slug.
    pub(crate) person: String,
    /// The film's slug.
    pub(crate) film: Option<String>,
    pub(crate) text: String,
    pub(crate) source: String,
    pub(crate) source_url: Option<String>,
    pub(crate) said_on: Option<NaiveDate>,
    pub(crate) context: Option<String>,
    /// The articles the record draws on.
    #[serde(default)]
    pub(crate) sources: Vec<SourceArticle>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct EventRecord {
    pub(crate) slug: String,
    pub(crate) kind: EventKind,
    pub(crate) title: String,
    pub(crate) description: Option<String>,
    pub(crate) film: Option<String>,
    pub(crate) starts_at: DateTime<Utc>,
    pub(crate) ends_at: Option<DateTime<Utc>>,
    pub(crate) time_zone: String,
    pub(crate) venue: Option<String>,
    pub(crate) city: Option<String>,
    pub(crate) country: Option<String>,
    pub(crate) online_url: Option<String>,
    pub(crate) hashtag: Option<String>,
    pub(crate) capacity: Option<i32>,
    /// The articles the record draws on.
    #[serde(default)]
    pub(crate) sources: Vec<SourceArticle>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct PetitionRecord {
    pub(crate) slug: String,
    pub(crate) title: String,
    pub(crate) body: String,
    pub(crate) target: String,
    pub(crate) goal: i64,
    /// Open when not given, as with `createPetition`.
    #[serde(default)]
    pub(crate) status: Option<PetitionStatus>,
    pub(crate) film: Option<String>,
    pub(crate) closes_at: Option<DateTime<Utc>>,
    /// The articles the record draws on.
    #[serde(default)]
    pub(crate) sources: Vec<SourceArticle>,
}

/// How many records a load added.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SeedReport {
    pub inserted: u64,
}

impl DataSet {
    /// Reads a data file.
    pub fn parse(json: &str) -> DomainResult<Self> {
        serde_json::from_str(json)
            .map_err(|error| DomainError::invalid(format!("line {}", error.line()), error.to_string()))
    }
}

/// Loads `data` in one transaction, adding only what is missing.
pub async fn load(db: &DatabaseConnection, data: &DataSet) -> DomainResult<SeedReport> {
    let txn = crate::domain::begin_write(db).await?;
    let mut report = SeedReport::default();
    let now = domain::now();

    let mut people = HashMap::new();
    for (index, record) in data.people.iter().enumerate() {
        let existing = person::Entity::find().filter(person::Column::Slug.eq(&record.slug)).one(&txn).await?;
        let id = match existing {
            Some(row) => row.id,
            None => {
                report.inserted += 1;
                person::ActiveModel {
                    slug: Set(record.slug.clone()),
                    name: Set(record.name.clone()),
                    bio: Set(record.bio.clone()),
                    birth_date: Set(record.birth_date),
                    source_articles: Set(sources::encode(&format!("people[{index}].sources"), &record.sources)?),
                    created_at: Set(now),
                    updated_at: Set(now),
                    ..Default::default()
                }
                .insert(&txn)
                .await?
                .id
            }
        };
        people.insert(record.slug.as_str(), id);
    }

    let mut films = HashMap::new();
    for (index, record) in data.films.iter().enumerate() {
        let sequel_of = match &record.sequel_of {
            Some(slug) => Some(lookup(&films, slug, format!("films[{index}].sequelOf"))?),
            None => None,
        };
        let existing = film::Entity::find().filter(film::Column::Slug.eq(&record.slug)).one(&txn).await?;
        let id = match existing {
            Some(row) => row.id,
            None => {
                report.inserted += 1;
                film::ActiveModel {
                    slug: Set(record.slug.clone()),
                    title: Set(record.title.clone()),
                    tagline: Set(record.tagline.clone()),
                    synopsis: Set(record.synopsis.clone()),
                    release_date: Set(record.release_date),
                    runtime_minutes: Set(record.runtime_minutes),
                    status: Set(record.status),
                    budget_usd: Set(record.budget_usd),
                    box_office_usd: Set(record.box_office_usd),
                    distributor: Set(record.distributor.clone()),
                    sequel_of_id: Set(sequel_of),
                    source_articles: Set(sources::encode(&format!("films[{index}].sources"), &record.sources)?),
                    created_at: Set(now),
                    updated_at: Set(now),
                    ..Default::default()
                }
                .insert(&txn)
                .await?
                .id
            }
        };
        films.insert(record.slug.as_str(), id);
        for (credit_index, record) in record.credits.iter().enumerate() {
            let person_id = lookup(&people, &record.person, format!("films[{index}].credits[{credit_index}].person"))?;
            let exists = credit::Entity::find()
                .filter(credit::Column::FilmId.eq(id))
                .filter(credit::Column::PersonId.eq(person_id))
                .filter(credit::Column::Role.eq(record.role))
                .count(&txn)
                .await?
                > 0;
            if !exists {
                report.inserted += 1;
                credit::ActiveModel {
                    film_id: Set(id),
                    person_id: Set(person_id),
                    role: Set(record.role),
                    character: Set(record.character.clone()),
                    billing_order: Set(record.billing_order),
                    created_at: Set(now),
                    ..Default::default()
                }
                .insert(&txn)
                .await?;
            }
        }
    }

    for (index, record) in data.quotes.iter().enumerate() {
        let person_id = lookup(&people, &record.person, format!("quotes[{index}].person"))?;
        let film_id = optional_lookup(&films, record.film.as_deref(), format!("quotes[{index}].film"))?;
        let exists = quote::Entity::find()
            .filter(quote::Column::PersonId.eq(person_id))
            .filter(quote::Column::Text.eq(&record.text))
            .count(&txn)
            .await?
            > 0;
        if !exists {
            report.inserted += 1;
            quote::ActiveModel {
                text: Set(record.text.clone()),
                person_id: Set(person_id),
                film_id: Set(film_id),
                source: Set(record.source.clone()),
                source_url: Set(record.source_url.clone()),
                said_on: Set(record.said_on),
                context: Set(record.context.clone()),
                status: Set(QuoteStatus::Published),
                submitted_by_id: Set(None),
                source_articles: Set(sources::encode(&format!("quotes[{index}].sources"), &record.sources)?),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            }
            .insert(&txn)
            .await?;
        }
    }

    for (index, record) in data.events.iter().enumerate() {
        let film_id = optional_lookup(&films, record.film.as_deref(), format!("events[{index}].film"))?;
        if exists_by_slug::<event::Entity, _>(&txn, event::Column::Slug, &record.slug).await? {
            continue;
        }
        report.inserted += 1;
        event::ActiveModel {
            slug: Set(record.slug.clone()),
            kind: Set(record.kind),
            title: Set(record.title.clone()),
            description: Set(record.description.clone()),
            film_id: Set(film_id),
            starts_at: Set(record.starts_at),
            ends_at: Set(record.ends_at),
            time_zone: Set(record.time_zone.clone()),
            venue: Set(record.venue.clone()),
            city: Set(record.city.clone()),
            country: Set(record.country.clone()),
            online_url: Set(record.online_url.clone()),
            hashtag: Set(record.hashtag.clone()),
            capacity: Set(record.capacity),
            created_by_id: Set(None),
            source_articles: Set(sources::encode(&format!("events[{index}].sources"), &record.sources)?),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
    }

    for (index, record) in data.petitions.iter().enumerate() {
        let film_id = optional_lookup(&films, record.film.as_deref(), format!("petitions[{index}].film"))?;
        if exists_by_slug::<petition::Entity, _>(&txn, petition::Column::Slug, &record.slug).await? {
            continue;
        }
        report.inserted += 1;
        petition::ActiveModel {
            slug: Set(record.slug.clone()),
            title: Set(record.title.clone()),
            body: Set(record.body.clone()),
            target: Set(record.target.clone()),
            goal: Set(record.goal),
            status: Set(record.status.unwrap_or(PetitionStatus::Open)),
            film_id: Set(film_id),
            closes_at: Set(record.closes_at),
            source_articles: Set(sources::encode(&format!("petitions[{index}].sources"), &record.sources)?),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
    }

    txn.commit().await?;
    Ok(report)
}

/// Loads the Alita data set into an empty database; leaves a database with any film alone.
pub async fn load_alita_if_empty(db: &DatabaseConnection) -> DomainResult<Option<SeedReport>> {
    if film::Entity::find().count(db).await? > 0 {
        return Ok(None);
    }
    Ok(Some(load(db, &DataSet::parse(ALITA)?).await?))
}

async fn exists_by_slug<E: EntityTrait, C: ConnectionTrait>(db: &C, column: E::Column, slug: &str) -> DomainResult<bool>
where
    E::Model: Sync,
{
    Ok(E::find().filter(column.eq(slug)).count(db).await? > 0)
}

fn lookup(ids: &HashMap<&str, i64>, slug: &str, field: String) -> DomainResult<i64> {
    ids.get(slug)
        .copied()
        .ok_or_else(|| DomainError::invalid(field, format!("no record with slug `{slug}` earlier in the file")))
}

fn optional_lookup(ids: &HashMap<&str, i64>, slug: Option<&str>, field: String) -> DomainResult<Option<i64>> {
    slug.map(|slug| lookup(ids, slug, field)).transpose()
}
