//! On SQLite, a petition or event is indexed for search again only when a searched column changes.
//!
//! The counters (`m20261207_000010_counter_slots`) fold their slots back into
//! `petitions.signature_count` and `events.going_count` in the background, once a second for every
//! counter that moved. With the trigger on any `UPDATE`, each fold also deleted and re-inserted the
//! row's full-text entry: work and WAL for nothing, since a count is not searched. PostgreSQL's
//! search column is generated from the row and needs nothing here.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

use crate::m20261124_000001_search::{KIND_STRIDE, SEARCHABLE};

/// Narrows the search triggers of `petitions` and `events` to their searched columns.
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261207_000011_search_on_text_only"
    }
}

/// The tables whose counters are folded, and the columns their search entries are made of.
const COUNTED: [(&str, &str); 2] =
    [("events", "title, description, venue, city, hashtag"), ("petitions", "title, target, body")];

/// Re-creates `table`'s update trigger, firing on `columns` (`None`: on any column).
async fn update_trigger(manager: &SchemaManager<'_>, table: &str, columns: Option<&str>) -> Result<(), DbErr> {
    let Some(searchable) = SEARCHABLE.iter().find(|searchable| searchable.table == table) else {
        return Err(DbErr::Custom(format!("{table} is not searchable")));
    };
    let key = |row: &str| format!("{} * {KIND_STRIDE} + {row}.id", searchable.number);
    let db = manager.get_connection();
    let on = columns.map_or_else(String::new, |columns| format!(" OF {columns}"));
    // One call: the drop and the new trigger run as one script.
    db.execute_unprepared(&format!(
        "DROP TRIGGER IF EXISTS {table}_search_update; CREATE TRIGGER {table}_search_update AFTER UPDATE{on} ON {table} BEGIN \
         DELETE FROM search_index WHERE rowid = {}; \
         INSERT INTO search_index (rowid, kind, record_id, title, body) VALUES ({}, '{}', new.id, {}, {}); END",
        key("old"),
        key("new"),
        searchable.kind,
        (searchable.title)("new"),
        (searchable.body)("new"),
    ))
    .await?;
    Ok(())
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == DatabaseBackend::Sqlite {
            for (table, columns) in COUNTED {
                update_trigger(manager, table, Some(columns)).await?;
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == DatabaseBackend::Sqlite {
            for (table, _) in COUNTED {
                update_trigger(manager, table, None).await?;
            }
        }
        Ok(())
    }
}
