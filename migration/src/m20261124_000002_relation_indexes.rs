//! Indexes for the per-parent pages of quotes (a film's or a person's quotes in the order they
//! were added): without them SQLite's planner preferred the status index and sorted every
//! published quote to serve twenty films' first five.

use sea_orm_migration::prelude::*;

/// Adds the indexes.
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261124_000002_relation_indexes"
    }
}

const INDEXES: [(&str, [&str; 3]); 2] = [
    ("idx_quotes_film_id_created_at_id", ["film_id", "created_at", "id"]),
    ("idx_quotes_person_id_created_at_id", ["person_id", "created_at", "id"]),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (name, columns) in INDEXES {
            let mut index = Index::create();
            index.name(name).table(Alias::new("quotes")).if_not_exists();
            for column in columns {
                index.col(Alias::new(column));
            }
            manager.create_index(index).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (name, _) in INDEXES {
            manager.drop_index(Index::drop().name(name).table(Alias::new("quotes")).to_owned()).await?;
        }
        Ok(())
    }
}
