//! `fandb import FILE`: loads people, films with their credits, quotes, events and petitions from
//! JSON (the data file format of `data/alita.json`) or NDJSON (one `{"film": {…}}`-style record a
//! line). Every record goes through the same domain functions as the admin mutations, so it is
//! validated by the same rules; records are upserted by slug (credits by film, person and role;
//! quotes by person and text), and the whole file is one transaction: one bad record and nothing
//! is imported, with the record and its field named.

use entity::enums::QuoteStatus;
use entity::{credit, event, film, person, petition, quote};
use std::collections::{HashMap, HashSet};

use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction, EntityTrait, QueryFilter, QuerySelect,
};
use serde::Deserialize;

use crate::domain::validate::Patch;
use crate::domain::{DomainError, DomainResult, events, films, people, petitions, quotes, sources};
use crate::seed::{CreditRecord, DataSet, EventRecord, FilmRecord, PersonRecord, PetitionRecord, QuoteRecord};

/// One NDJSON line.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
enum Record {
    Person(PersonRecord),
    Film(FilmRecord),
    Quote(QuoteRecord),
    Event(EventRecord),
    Petition(PetitionRecord),
}

/// A record and where it came from (`line 7`, or `films[3]` in a JSON file).
struct Located {
    place: String,
    record: Record,
}

/// Why an import stopped; nothing was written.
#[derive(Debug, thiserror::Error)]
#[error("{place}: {field}: {message}")]
pub struct ImportError {
    pub place: String,
    pub field: String,
    pub message: String,
}

impl ImportError {
    fn at(place: &str, error: DomainError) -> Self {
        let (field, message) = match error {
            DomainError::InvalidInput { field, message } => (field, message),
            DomainError::Conflict { field, message } => (field.unwrap_or_else(|| "record".into()), message),
            DomainError::NotFound(what) => ("record".into(), format!("{what} not found")),
            other => ("record".into(), other.to_string()),
        };
        Self { place: place.to_owned(), field, message }
    }
}

/// What an import did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ImportReport {
    pub created: u64,
    pub updated: u64,
    pub records: u64,
}

/// Parses a file: JSON when it starts with an object holding lists, NDJSON otherwise.
fn parse(text: &str) -> Result<Vec<Located>, ImportError> {
    let parse_error = |place: String, error: serde_json::Error| ImportError {
        place,
        field: "record".into(),
        message: error.to_string(),
    };
    // A JSON data file is one object of lists; anything else is read as NDJSON, line by line.
    const LISTS: [&str; 5] = ["people", "films", "quotes", "events", "petitions"];
    let is_data_file = matches!(
        serde_json::from_str::<serde_json::Value>(text),
        Ok(serde_json::Value::Object(object)) if object.keys().all(|key| LISTS.contains(&key.as_str()))
    );
    if is_data_file {
        let data = DataSet::parse(text).map_err(|error| ImportError::at("file", error))?;
        let mut located = Vec::new();
        let mut push = |kind: &str, index: usize, record: Record| {
            located.push(Located { place: format!("{kind}[{index}]"), record });
        };
        for (index, record) in data.people.into_iter().enumerate() {
            push("people", index, Record::Person(record));
        }
        for (index, record) in data.films.into_iter().enumerate() {
            push("films", index, Record::Film(record));
        }
        for (index, record) in data.quotes.into_iter().enumerate() {
            push("quotes", index, Record::Quote(record));
        }
        for (index, record) in data.events.into_iter().enumerate() {
            push("events", index, Record::Event(record));
        }
        for (index, record) in data.petitions.into_iter().enumerate() {
            push("petitions", index, Record::Petition(record));
        }
        return Ok(located);
    }
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(index, line)| {
            let place = format!("line {}", index + 1);
            serde_json::from_str::<Record>(line)
                .map(|record| Located { place: place.clone(), record })
                .map_err(|error| parse_error(place, error))
        })
        .collect()
}

fn patch<T>(value: Option<T>) -> Patch<T> {
    value.map_or(Patch::Clear, Patch::Set)
}

/// Imports `text`; `progress(done, total)` hears about every record.
pub async fn import(
    db: &DatabaseConnection,
    text: &str,
    progress: impl Fn(u64, u64),
) -> Result<ImportReport, ImportError> {
    let records = parse(text)?;
    let total = records.len() as u64;
    let txn = crate::domain::begin_write(db).await.map_err(|error| ImportError::at("file", error.into()))?;
    if txn.get_database_backend() == sea_orm::DatabaseBackend::Sqlite {
        // A large transaction would spill SQLite's small default page cache to disk over and over.
        txn.execute_unprepared("PRAGMA cache_size = -65536")
            .await
            .map_err(|error| ImportError::at("file", error.into()))?;
        // Each record runs in a savepoint, whose statement journal would otherwise be a temp file.
        txn.execute_unprepared("PRAGMA temp_store = MEMORY")
            .await
            .map_err(|error| ImportError::at("file", error.into()))?;
    }
    let mut importer = Importer {
        txn: &txn,
        report: ImportReport::default(),
        sequels: Vec::new(),
        films: slugs::<film::Entity>(&txn, film::Column::Slug, film::Column::Id).await?,
        people: slugs::<person::Entity>(&txn, person::Column::Slug, person::Column::Id).await?,
        events: slugs::<event::Entity>(&txn, event::Column::Slug, event::Column::Id).await?,
        petitions: slugs::<petition::Entity>(&txn, petition::Column::Slug, petition::Column::Id).await?,
        new_films: HashSet::new(),
        quotes: quote::Entity::find()
            .select_only()
            .column(quote::Column::PersonId)
            .column(quote::Column::Text)
            .column(quote::Column::Id)
            .into_tuple::<(i64, String, i64)>()
            .all(&txn)
            .await
            .map_err(|error| ImportError::at("file", error.into()))?
            .into_iter()
            .map(|(person, text, id)| ((person, text), id))
            .collect(),
    };
    for (done, located) in records.iter().enumerate() {
        importer.record(&located.record).await.map_err(|error| ImportError::at(&located.place, error))?;
        if done % 500 == 0 || done as u64 + 1 == total {
            progress(done as u64 + 1, total);
        }
    }
    // Sequels last, so a film may follow one that comes later in the file.
    for (place, film_id, sequel_slug) in std::mem::take(&mut importer.sequels) {
        let sequel_of =
            importer.film_id(&sequel_slug, "sequelOf").await.map_err(|error| ImportError::at(&place, error))?;
        let changes = films::FilmChanges { sequel_of_id: Patch::Set(sequel_of), ..Default::default() };
        films::update_in(importer.txn, film_id, changes).await.map_err(|error| ImportError::at(&place, error))?;
    }
    let report = importer.report;
    txn.commit().await.map_err(|error| ImportError::at("file", error.into()))?;
    // Fresh planner statistics after a bulk change.
    db.execute_unprepared("ANALYZE").await.map_err(|error| ImportError::at("file", error.into()))?;
    Ok(report)
}

struct Importer<'a> {
    txn: &'a DatabaseTransaction,
    report: ImportReport,
    sequels: Vec<(String, i64, String)>,
    /// Slug → id of every film, person, event and petition, read once and kept current, so
    /// references and upserts cost no lookups.
    films: HashMap<String, i64>,
    people: HashMap<String, i64>,
    events: HashMap<String, i64>,
    petitions: HashMap<String, i64>,
    /// Films created by this import (they have no credits yet).
    new_films: HashSet<i64>,
    /// (speaker, text) → id of every quote.
    quotes: HashMap<(i64, String), i64>,
}

/// Every `slug → id` of a table, in one statement.
async fn slugs<E: EntityTrait>(
    txn: &DatabaseTransaction,
    slug: E::Column,
    id: E::Column,
) -> Result<HashMap<String, i64>, ImportError> {
    let rows: Vec<(String, i64)> = E::find()
        .select_only()
        .column(slug)
        .column(id)
        .into_tuple()
        .all(txn)
        .await
        .map_err(|error| ImportError::at("file", error.into()))?;
    Ok(rows.into_iter().collect())
}

impl Importer<'_> {
    fn counted(&mut self, created: bool) {
        self.report.records += 1;
        if created {
            self.report.created += 1;
        } else {
            self.report.updated += 1;
        }
    }

    async fn film_id(&self, slug: &str, field: &str) -> DomainResult<i64> {
        self.films.get(slug).copied().ok_or_else(|| DomainError::invalid(field, format!("no film with slug `{slug}`")))
    }

    async fn person_id(&self, slug: &str, field: &str) -> DomainResult<i64> {
        self.people
            .get(slug)
            .copied()
            .ok_or_else(|| DomainError::invalid(field, format!("no person with slug `{slug}`")))
    }

    async fn optional_film(&self, slug: Option<&String>) -> DomainResult<Patch<i64>> {
        Ok(match slug {
            Some(slug) => Patch::Set(self.film_id(slug, "film").await?),
            None => Patch::Clear,
        })
    }

    async fn record(&mut self, record: &Record) -> DomainResult<()> {
        match record {
            Record::Person(record) => self.person(record).await,
            Record::Film(record) => self.film(record).await,
            Record::Quote(record) => self.quote(record).await,
            Record::Event(record) => self.event(record).await,
            Record::Petition(record) => self.petition(record).await,
        }
    }

    async fn person(&mut self, record: &PersonRecord) -> DomainResult<()> {
        let changes = people::PersonChanges {
            slug: Some(record.slug.clone()),
            name: Some(record.name.clone()),
            bio: patch(record.bio.clone()),
            birth_date: patch(record.birth_date),
        };
        let existing = self.people.get(&record.slug).copied();
        let person = match existing {
            Some(id) => people::update_in(self.txn, id, changes).await?,
            None => people::create_in(self.txn, changes).await?,
        };
        sources::store::<person::Entity, _>(
            self.txn,
            person::Column::Id,
            person::Column::SourceArticles,
            person.id,
            &record.sources,
        )
        .await?;
        self.people.insert(person.slug.clone(), person.id);
        self.counted(existing.is_none());
        Ok(())
    }

    async fn film(&mut self, record: &FilmRecord) -> DomainResult<()> {
        let changes = films::FilmChanges {
            slug: Some(record.slug.clone()),
            title: Some(record.title.clone()),
            tagline: patch(record.tagline.clone()),
            synopsis: patch(record.synopsis.clone()),
            release_date: patch(record.release_date),
            runtime_minutes: patch(record.runtime_minutes),
            status: Some(record.status),
            budget_usd: patch(record.budget_usd),
            box_office_usd: patch(record.box_office_usd),
            distributor: patch(record.distributor.clone()),
            sequel_of_id: Patch::Keep,
        };
        let existing = self.films.get(&record.slug).copied();
        let film = match existing {
            Some(id) => films::update_in(self.txn, id, changes).await?,
            None => films::create_in(self.txn, changes).await?,
        };
        if existing.is_none() {
            self.new_films.insert(film.id);
        }
        sources::store::<film::Entity, _>(
            self.txn,
            film::Column::Id,
            film::Column::SourceArticles,
            film.id,
            &record.sources,
        )
        .await?;
        self.films.insert(film.slug.clone(), film.id);
        self.counted(existing.is_none());
        if let Some(sequel_of) = &record.sequel_of {
            self.sequels.push((format!("film `{}`", record.slug), film.id, sequel_of.clone()));
        }
        for (index, credit) in record.credits.iter().enumerate() {
            self.credit(film.id, credit).await.map_err(|error| match error {
                DomainError::InvalidInput { field, message } => {
                    DomainError::InvalidInput { field: format!("credits[{index}].{field}"), message }
                }
                other => other,
            })?;
        }
        Ok(())
    }

    async fn credit(&mut self, film_id: i64, record: &CreditRecord) -> DomainResult<()> {
        let person_id = self.person_id(&record.person, "person").await?;
        let existing = if self.new_films.contains(&film_id) {
            None
        } else {
            credit::Entity::find()
                .filter(credit::Column::FilmId.eq(film_id))
                .filter(credit::Column::PersonId.eq(person_id))
                .filter(credit::Column::Role.eq(record.role))
                .one(self.txn)
                .await?
        };
        if let Some(existing) = existing {
            if existing.character == record.character && existing.billing_order == record.billing_order {
                return Ok(());
            }
            films::remove_credit(self.txn, existing.id).await?;
        }
        let credit = films::NewCredit {
            film_id,
            person_id,
            role: record.role,
            character: record.character.clone(),
            billing_order: record.billing_order,
        };
        films::add_credit_in(self.txn, credit).await?;
        Ok(())
    }

    async fn quote(&mut self, record: &QuoteRecord) -> DomainResult<()> {
        let person_id = self.person_id(&record.person, "person").await?;
        let changes = quotes::QuoteChanges {
            text: Some(record.text.clone()),
            person_id: Some(person_id),
            film_id: self.optional_film(record.film.as_ref()).await?,
            source: Some(record.source.clone()),
            source_url: patch(record.source_url.clone()),
            said_on: patch(record.said_on),
            context: patch(record.context.clone()),
            status: Some(QuoteStatus::Published),
        };
        let key = (person_id, record.text.clone());
        let existing = self.quotes.get(&key).copied();
        let quote = match existing {
            Some(id) => quotes::update_in(self.txn, id, changes).await?,
            None => quotes::create_in(self.txn, changes, None).await?,
        };
        sources::store::<quote::Entity, _>(
            self.txn,
            quote::Column::Id,
            quote::Column::SourceArticles,
            quote.id,
            &record.sources,
        )
        .await?;
        self.quotes.insert((quote.person_id, quote.text.clone()), quote.id);
        self.counted(existing.is_none());
        Ok(())
    }

    async fn event(&mut self, record: &EventRecord) -> DomainResult<()> {
        let changes = events::EventChanges {
            slug: Some(record.slug.clone()),
            kind: Some(record.kind),
            title: Some(record.title.clone()),
            description: patch(record.description.clone()),
            film_id: self.optional_film(record.film.as_ref()).await?,
            starts_at: Some(record.starts_at),
            ends_at: patch(record.ends_at),
            time_zone: Some(record.time_zone.clone()),
            venue: patch(record.venue.clone()),
            city: patch(record.city.clone()),
            country: patch(record.country.clone()),
            online_url: patch(record.online_url.clone()),
            hashtag: patch(record.hashtag.clone()),
            capacity: patch(record.capacity),
        };
        let existing = self.events.get(&record.slug).copied();
        let event = match existing {
            Some(id) => events::update_in(self.txn, id, changes).await?,
            None => events::create_in(self.txn, changes, None).await?,
        };
        sources::store::<event::Entity, _>(
            self.txn,
            event::Column::Id,
            event::Column::SourceArticles,
            event.id,
            &record.sources,
        )
        .await?;
        self.events.insert(event.slug.clone(), event.id);
        self.counted(existing.is_none());
        Ok(())
    }

    async fn petition(&mut self, record: &PetitionRecord) -> DomainResult<()> {
        let changes = petitions::PetitionChanges {
            slug: Some(record.slug.clone()),
            title: Some(record.title.clone()),
            body: Some(record.body.clone()),
            target: Some(record.target.clone()),
            goal: Some(record.goal),
            status: record.status,
            film_id: self.optional_film(record.film.as_ref()).await?,
            closes_at: patch(record.closes_at),
        };
        let existing = self.petitions.get(&record.slug).copied();
        let petition = match existing {
            Some(id) => petitions::update_in(self.txn, id, changes).await?,
            None => petitions::create_in(self.txn, changes).await?,
        };
        sources::store::<petition::Entity, _>(
            self.txn,
            petition::Column::Id,
            petition::Column::SourceArticles,
            petition.id,
            &record.sources,
        )
        .await?;
        self.petitions.insert(petition.slug.clone(), petition.id);
        self.counted(existing.is_none());
        Ok(())
    }
}
