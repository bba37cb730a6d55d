//! The data sets: the Alita data file (`data/alita.json`) loaded into an empty database on first
//! start or by `fandb seed`. Seeding is the import's "insert missing, leave existing" mode: every
//! record goes through the same domain functions and rules as the admin mutations; records are
//! matched by slug (credits by film, person and role; quotes by person and text), and what exists
//! is left as it is.

use entity::film;
use sea_orm::{DatabaseConnection, EntityTrait, PaginatorTrait};

use crate::commands::import::{self, Mode};
use crate::commands::records::DataSet;
use crate::domain::DomainResult;

/// The #AlitaArmy data set, compiled into the binary.
pub const ALITA: &str = include_str!("../../../data/alita.json");

/// How many records a load added.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SeedReport {
    pub inserted: u64,
}

/// Loads `data` in one transaction, adding only what is missing.
pub async fn load(db: &DatabaseConnection, data: &DataSet) -> DomainResult<SeedReport> {
    let records = data.clone().into_records();
    // The field is named from the file down: `films[0].credits[1].person`.
    let report =
        import::load(db, &records, Mode::InsertMissing, |_, _| {}).await.map_err(|(place, error)| error.at(&place))?;
    Ok(SeedReport { inserted: report.created + report.credits_added })
}

/// Loads the Alita data set into an empty database; leaves a database with any film alone.
pub(crate) async fn load_alita_if_empty(db: &DatabaseConnection) -> DomainResult<Option<SeedReport>> {
    if film::Entity::find().count(db).await? > 0 {
        return Ok(None);
    }
    Ok(Some(load(db, &DataSet::parse(ALITA)?).await?))
}
