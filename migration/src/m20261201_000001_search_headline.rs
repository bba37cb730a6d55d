//! A text search configuration for PostgreSQL's search snippets: `simple` with `unaccent` in front
//! of every word with letters outside ASCII. `ts_headline` under it reads the stored text as it is
//! and still matches the unaccented query ("weta" marks "Wētā"), so a snippet quotes the record
//! instead of its unaccented copy. SQLite's FTS5 snippets quote the stored text already.

use sea_orm::{ConnectionTrait, DatabaseBackend};
use sea_orm_migration::prelude::*;

/// Adds the configuration.
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261201_000001_search_headline"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DatabaseBackend::Postgres {
            return Ok(());
        }
        let db = manager.get_connection();
        db.execute_unprepared("CREATE TEXT SEARCH CONFIGURATION fandb_headline (COPY = pg_catalog.simple)").await?;
        db.execute_unprepared(
            "ALTER TEXT SEARCH CONFIGURATION fandb_headline ALTER MAPPING FOR \
             word, hword, hword_part, numword, numhword, hword_numpart WITH public.unaccent, pg_catalog.simple",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == DatabaseBackend::Postgres {
            manager
                .get_connection()
                .execute_unprepared("DROP TEXT SEARCH CONFIGURATION IF EXISTS fandb_headline")
                .await?;
        }
        Ok(())
    }
}
