//! `fandb import FILE`: loads people, films with their credits, quotes, events and petitions from
//! JSON (the data file format of `data/alita.json`) or NDJSON (one `{"film": {…}}`-style record a
//! line). Every record goes through the same domain functions as the admin mutations, so it is
//! validated by the same rules; films, people, events and petitions are upserted by slug with the
//! domain's upserts (those of `upsertFilm` and its kin), credits by film, person and role, quotes
//! by person and text, and the whole file is one transaction: one bad record and nothing
//! is imported, with the record and its field named. `fandb seed` is the same load in its
//! "insert missing, leave existing" mode.

use entity::enums::QuoteStatus;
use entity::{event, film, person, petition, quote};
use std::collections::{HashMap, HashSet};

use sea_orm::{ConnectionTrait, DatabaseConnection, DatabaseTransaction, EntityTrait, QuerySelect};

use crate::commands::records::{
    CreditRecord, DataSet, EventRecord, FilmRecord, Located, PersonRecord, PetitionRecord, QuoteRecord, Record,
};
use crate::domain::validate::Patch;
use crate::domain::{DomainError, DomainResult, events, films, people, petitions, quotes, sources, write};

/// What a load does with a record that is already stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// `fandb import`: changes it to what the record says.
    Upsert,
    /// `fandb seed`: leaves it as it is, and adds only what is missing (a stored film still gets
    /// the credits it lacks).
    InsertMissing,
}

/// From this many records on, a load is bulk work and SQLite is tuned for it.
const BULK: usize = 1_000;

/// Why an import stopped; nothing was written.
#[derive(Debug, thiserror::Error)]
#[error("{place}: {field}: {message}")]
pub(crate) struct ImportError {
    pub(crate) place: String,
    pub(crate) field: String,
    pub(crate) message: String,
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
pub(crate) struct ImportReport {
    pub(crate) created: u64,
    pub(crate) updated: u64,
    pub(crate) records: u64,
    /// Credits added, to new films or to stored ones.
    pub(crate) credits_added: u64,
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
        return Ok(data.into_records());
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
pub(crate) async fn import(
    db: &DatabaseConnection,
    text: &str,
    progress: impl Fn(u64, u64),
) -> Result<ImportReport, ImportError> {
    let records = parse(text)?;
    let report =
        load(db, &records, Mode::Upsert, progress).await.map_err(|(place, error)| ImportError::at(&place, error))?;
    // Fresh planner statistics after a bulk change.
    db.execute_unprepared("ANALYZE").await.map_err(|error| ImportError::at("file", error.into()))?;
    Ok(report)
}

/// Loads `records` in one transaction, in `mode`; `progress(done, total)` hears about every
/// record. An error names the record's place.
pub(crate) async fn load(
    db: &DatabaseConnection,
    records: &[Located],
    mode: Mode,
    progress: impl Fn(u64, u64),
) -> Result<ImportReport, (String, DomainError)> {
    let at_file = |error: DomainError| ("file".to_owned(), error);
    let total = records.len() as u64;
    let txn = crate::domain::begin_write(db).await.map_err(|error| at_file(error.into()))?;
    if records.len() >= BULK && txn.get_database_backend() == sea_orm::DatabaseBackend::Sqlite {
        // A large transaction would spill SQLite's small default page cache to disk over and over.
        txn.execute_unprepared("PRAGMA cache_size = -65536").await.map_err(|error| at_file(error.into()))?;
        // Each record runs in a savepoint, whose statement journal would otherwise be a temp file.
        txn.execute_unprepared("PRAGMA temp_store = MEMORY").await.map_err(|error| at_file(error.into()))?;
    }
    let mut importer = Importer::new(&txn, mode).await.map_err(at_file)?;
    for (done, located) in records.iter().enumerate() {
        importer.record(&located.record).await.map_err(|error| (located.place.clone(), error))?;
        if done % 500 == 0 || done as u64 + 1 == total {
            progress(done as u64 + 1, total);
        }
    }
    // Sequels last, so a film may follow one that comes later in the file.
    for (place, film_id, sequel_slug) in std::mem::take(&mut importer.sequels) {
        let sequel_of = importer.film_id(&sequel_slug, "sequelOf").map_err(|error| (place.clone(), error))?;
        let changes = films::FilmChanges { sequel_of_id: Patch::Set(sequel_of), ..Default::default() };
        films::update(importer.txn, film_id, changes, None).await.map_err(|error| (place, error))?;
    }
    let report = importer.report;
    txn.commit().await.map_err(|error| at_file(error.into()))?;
    Ok(report)
}

struct Importer<'a> {
    txn: &'a DatabaseTransaction,
    mode: Mode,
    report: ImportReport,
    /// (place, film, slug of the film it follows), resolved once every film is in.
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
) -> DomainResult<HashMap<String, i64>> {
    let rows: Vec<(String, i64)> = E::find().select_only().column(slug).column(id).into_tuple().all(txn).await?;
    Ok(rows.into_iter().collect())
}

/// Where a quote goes: the id of the stored row with its key, and whether it is to be written.
enum Target {
    Create,
    Update(i64),
    Keep,
}

impl<'a> Importer<'a> {
    async fn new(txn: &'a DatabaseTransaction, mode: Mode) -> DomainResult<Self> {
        Ok(Self {
            txn,
            mode,
            report: ImportReport::default(),
            sequels: Vec::new(),
            films: slugs::<film::Entity>(txn, film::Column::Slug, film::Column::Id).await?,
            people: slugs::<person::Entity>(txn, person::Column::Slug, person::Column::Id).await?,
            events: slugs::<event::Entity>(txn, event::Column::Slug, event::Column::Id).await?,
            petitions: slugs::<petition::Entity>(txn, petition::Column::Slug, petition::Column::Id).await?,
            new_films: HashSet::new(),
            quotes: quote::Entity::find()
                .select_only()
                .column(quote::Column::PersonId)
                .column(quote::Column::Text)
                .column(quote::Column::Id)
                .into_tuple::<(i64, String, i64)>()
                .all(txn)
                .await?
                .into_iter()
                .map(|(person, text, id)| ((person, text), id))
                .collect(),
        })
    }

    /// What to do with a quote whose stored row is `existing`, counted in the report.
    fn target(&mut self, existing: Option<i64>) -> Target {
        self.report.records += 1;
        match (existing, self.mode) {
            (None, _) => {
                self.report.created += 1;
                Target::Create
            }
            (Some(id), Mode::Upsert) => {
                self.report.updated += 1;
                Target::Update(id)
            }
            (Some(_), Mode::InsertMissing) => Target::Keep,
        }
    }

    /// Whether a record whose row is stored (`existing`) is left as it is (the seed's mode);
    /// counted in the report when it is.
    fn kept(&mut self, existing: bool) -> bool {
        let kept = existing && self.mode == Mode::InsertMissing;
        self.report.records += u64::from(kept);
        kept
    }

    /// Counts a record the domain upserted.
    fn upserted<M>(&mut self, upserted: write::Upserted<M>) -> M {
        self.report.records += 1;
        if upserted.created {
            self.report.created += 1;
        } else {
            self.report.updated += 1;
        }
        upserted.row
    }

    /// Stores a written record's source articles.
    async fn sources<E: EntityTrait>(
        &self,
        columns: (E::Column, E::Column),
        id: i64,
        articles: &[sources::SourceArticle],
    ) -> DomainResult<()> {
        sources::store::<E, _>(self.txn, columns.0, columns.1, id, articles).await
    }

    fn film_id(&self, slug: &str, field: &str) -> DomainResult<i64> {
        self.films.get(slug).copied().ok_or_else(|| DomainError::invalid(field, format!("no film with slug `{slug}`")))
    }

    fn person_id(&self, slug: &str, field: &str) -> DomainResult<i64> {
        self.people
            .get(slug)
            .copied()
            .ok_or_else(|| DomainError::invalid(field, format!("no person with slug `{slug}`")))
    }

    fn optional_film(&self, slug: Option<&String>) -> DomainResult<Patch<i64>> {
        Ok(match slug {
            Some(slug) => Patch::Set(self.film_id(slug, "film")?),
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
            credits: Vec::new(),
            photo_url: patch(record.photo_url.clone()),
        };
        if self.kept(self.people.contains_key(&record.slug)) {
            return Ok(());
        }
        let person = people::upsert(self.txn, changes, None).await?;
        let person = self.upserted(person);
        self.sources::<person::Entity>(
            (person::Column::Id, person::Column::SourceArticles),
            person.id,
            &record.sources,
        )
        .await?;
        self.people.insert(person.slug, person.id);
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
            // Set once every film is in (see `load`).
            sequel_of_id: Patch::Keep,
            credits: Vec::new(),
            poster_url: patch(record.poster_url.clone()),
        };
        let (film_id, written) = match self.films.get(&record.slug).copied() {
            Some(id) if self.kept(true) => (id, None),
            _ => {
                let upserted = films::upsert(self.txn, changes, None).await?;
                if upserted.created {
                    self.new_films.insert(upserted.row.id);
                }
                let film = self.upserted(upserted);
                (film.id, Some(film))
            }
        };
        if let Some(film) = written {
            self.sources::<film::Entity>((film::Column::Id, film::Column::SourceArticles), film.id, &record.sources)
                .await?;
            self.films.insert(film.slug, film.id);
            if let Some(sequel_of) = &record.sequel_of {
                self.sequels.push((format!("film `{}`", record.slug), film.id, sequel_of.clone()));
            }
        }
        for (index, credit) in record.credits.iter().enumerate() {
            self.credit(film_id, credit).await.map_err(|error| error.at(&format!("credits[{index}]")))?;
        }
        Ok(())
    }

    async fn credit(&mut self, film_id: i64, record: &CreditRecord) -> DomainResult<()> {
        let person_id = self.person_id(&record.person, "person")?;
        let credit = films::NewCredit {
            film_id,
            person_id,
            role: record.role,
            character: record.character.clone(),
            billing_order: record.billing_order,
        };
        // A film this import created has no credits to look up.
        let added = if self.new_films.contains(&film_id) {
            films::add_credit(self.txn, credit).await?;
            true
        } else if self.mode == Mode::InsertMissing {
            let stored = films::credit_by_key(self.txn, film_id, person_id, record.role, None).await?;
            if stored.is_none() {
                films::add_credit(self.txn, credit).await?;
            }
            stored.is_none()
        } else {
            matches!(films::put_credit(self.txn, credit).await?, films::Put::Added(_))
        };
        self.report.credits_added += u64::from(added);
        Ok(())
    }

    async fn quote(&mut self, record: &QuoteRecord) -> DomainResult<()> {
        let person_id = self.person_id(&record.person, "person")?;
        let changes = quotes::QuoteChanges {
            text: Some(record.text.clone()),
            person_id: Some(person_id),
            film_id: self.optional_film(record.film.as_ref())?,
            source: Some(record.source.clone()),
            source_url: patch(record.source_url.clone()),
            said_on: patch(record.said_on),
            context: patch(record.context.clone()),
            status: Some(QuoteStatus::Published),
        };
        let quote = match self.target(self.quotes.get(&(person_id, record.text.clone())).copied()) {
            Target::Keep => return Ok(()),
            Target::Update(id) => quotes::update(self.txn, id, changes).await?,
            Target::Create => quotes::create(self.txn, changes, None).await?,
        };
        self.sources::<quote::Entity>((quote::Column::Id, quote::Column::SourceArticles), quote.id, &record.sources)
            .await?;
        self.quotes.insert((quote.person_id, quote.text), quote.id);
        Ok(())
    }

    async fn event(&mut self, record: &EventRecord) -> DomainResult<()> {
        let changes = events::EventChanges {
            slug: Some(record.slug.clone()),
            kind: Some(record.kind),
            title: Some(record.title.clone()),
            description: patch(record.description.clone()),
            film_id: self.optional_film(record.film.as_ref())?,
            starts_at: Some(record.starts_at),
            ends_at: patch(record.ends_at),
            time_zone: Some(record.time_zone.clone()),
            venue: patch(record.venue.clone()),
            city: patch(record.city.clone()),
            country: patch(record.country.clone()),
            online_url: patch(record.online_url.clone()),
            hashtag: patch(record.hashtag.clone()),
            capacity: patch(record.capacity),
            image_url: patch(record.image_url.clone()),
        };
        if self.kept(self.events.contains_key(&record.slug)) {
            return Ok(());
        }
        let event = events::upsert(self.txn, changes, None).await?;
        let event = self.upserted(event);
        self.sources::<event::Entity>((event::Column::Id, event::Column::SourceArticles), event.id, &record.sources)
            .await?;
        self.events.insert(event.slug, event.id);
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
            film_id: self.optional_film(record.film.as_ref())?,
            closes_at: patch(record.closes_at),
            image_url: patch(record.image_url.clone()),
        };
        if self.kept(self.petitions.contains_key(&record.slug)) {
            return Ok(());
        }
        let petition = petitions::upsert(self.txn, changes).await?;
        let petition = self.upserted(petition);
        self.sources::<petition::Entity>(
            (petition::Column::Id, petition::Column::SourceArticles),
            petition.id,
            &record.sources,
        )
        .await?;
        self.petitions.insert(petition.slug, petition.id);
        Ok(())
    }
}
