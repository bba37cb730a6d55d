//! The records of a data file (`data/alita.json`) and of an NDJSON import, one type a kind of
//! record. `fandb seed` and `fandb import` read the same types and hand them to the same domain
//! functions as the admin mutations (see `import`), so a file holds nothing a mutation would refuse.

use chrono::{DateTime, NaiveDate, Utc};
use entity::enums::{CreditRole, EventKind, FilmStatus, PetitionStatus};
use serde::Deserialize;

use crate::domain::sources::SourceArticle;
use crate::domain::{DomainError, DomainResult};

/// A whole data file.
#[derive(Debug, Clone, Deserialize)]
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

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct PersonRecord {
    pub(crate) slug: String,
    pub(crate) name: String,
    pub(crate) bio: Option<String>,
    pub(crate) birth_date: Option<NaiveDate>,
    pub(crate) photo_url: Option<String>,
    /// The articles the record draws on.
    #[serde(default)]
    pub(crate) sources: Vec<SourceArticle>,
}

#[derive(Debug, Clone, Deserialize)]
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
    pub(crate) poster_url: Option<String>,
    #[serde(default)]
    pub(crate) credits: Vec<CreditRecord>,
    /// The articles the record draws on.
    #[serde(default)]
    pub(crate) sources: Vec<SourceArticle>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct CreditRecord {
    /// The person's slug.
    pub(crate) person: String,
    pub(crate) role: CreditRole,
    pub(crate) character: Option<String>,
    pub(crate) billing_order: Option<i32>,
}

#[derive(Debug, Clone, Deserialize)]
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

#[derive(Debug, Clone, Deserialize)]
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
    pub(crate) image_url: Option<String>,
    /// The articles the record draws on.
    #[serde(default)]
    pub(crate) sources: Vec<SourceArticle>,
}

#[derive(Debug, Clone, Deserialize)]
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
    pub(crate) image_url: Option<String>,
    /// The articles the record draws on.
    #[serde(default)]
    pub(crate) sources: Vec<SourceArticle>,
}

impl DataSet {
    /// Reads a data file.
    pub fn parse(json: &str) -> DomainResult<Self> {
        serde_json::from_str(json)
            .map_err(|error| DomainError::invalid(format!("line {}", error.line()), error.to_string()))
    }
}

/// One NDJSON line: `{"film": {…}}` and the like.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) enum Record {
    Person(PersonRecord),
    Film(FilmRecord),
    Quote(QuoteRecord),
    Event(EventRecord),
    Petition(PetitionRecord),
}

/// A record and where it came from (`line 7`, or `films[3]` in a data file).
pub(crate) struct Located {
    pub(crate) place: String,
    pub(crate) record: Record,
}

impl DataSet {
    /// The file's records in load order (people, films, quotes, events, petitions), each named by
    /// its list and index.
    pub(crate) fn into_records(self) -> Vec<Located> {
        fn named<T>(kind: &str, records: Vec<T>, wrap: fn(T) -> Record) -> impl Iterator<Item = Located> {
            records
                .into_iter()
                .enumerate()
                .map(move |(index, record)| Located { place: format!("{kind}[{index}]"), record: wrap(record) })
        }
        named("people", self.people, Record::Person)
            .chain(named("films", self.films, Record::Film))
            .chain(named("quotes", self.quotes, Record::Quote))
            .chain(named("events", self.events, Record::Event))
            .chain(named("petitions", self.petitions, Record::Petition))
            .collect()
    }
}
