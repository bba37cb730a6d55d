//! Indexes behind the common `where` conditions the earlier indexes do not serve: events by city
//! and by country, a petition's signatures by country, and films by runtime. (Titles, names,
//! slugs, statuses, kinds, dates and every relation key were indexed already.)

use sea_orm_migration::prelude::*;

/// Adds the indexes.
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261207_000101_where_filter_indexes"
    }
}

const INDEXES: [(&str, &str, &[&str]); 4] = [
    ("idx_events_city_id", "events", &["city", "id"]),
    ("idx_events_country_id", "events", &["country", "id"]),
    ("idx_signatures_petition_id_country", "signatures", &["petition_id", "country"]),
    ("idx_films_runtime_minutes_id", "films", &["runtime_minutes", "id"]),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (name, table, columns) in INDEXES {
            let mut index = Index::create();
            index.name(name).table(Alias::new(table)).if_not_exists();
            for column in columns {
                index.col(Alias::new(*column));
            }
            manager.create_index(index).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (name, table, _) in INDEXES {
            manager.drop_index(Index::drop().name(name).table(Alias::new(table)).to_owned()).await?;
        }
        Ok(())
    }
}
