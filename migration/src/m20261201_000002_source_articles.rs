//! Where a record comes from: each film, person, quote, event and petition may name the articles
//! it draws on (publication and headline, as the articles give them), kept as a JSON list in a
//! text column so both databases store it alike.

use sea_orm_migration::prelude::*;

/// Adds `source_articles`.
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261201_000002_source_articles"
    }
}

const TABLES: [&str; 5] = ["films", "people", "quotes", "events", "petitions"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in TABLES {
            manager
                .alter_table(
                    Table::alter()
                        .table(Alias::new(table))
                        .add_column(ColumnDef::new(Alias::new("source_articles")).text().null())
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in TABLES {
            manager
                .alter_table(
                    Table::alter().table(Alias::new(table)).drop_column(Alias::new("source_articles")).to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
