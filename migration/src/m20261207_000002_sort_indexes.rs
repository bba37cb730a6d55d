//! Indexes behind the list orders by count (`sort: [XOrder!]`): petitions by signatures, events
//! by RSVPs going (both counts kept on the row, so an index on the count and the id serves a page
//! in order without sorting the table), petitions by goal, and the quote counts people and films
//! sort by, which count a parent's quotes the viewer may see (status, or their own submissions):
//! with the parent, status and submitter in one index the count reads the index alone. The
//! admins' user list, now sorted by several keys, gets its two unindexed keys (display name, last
//! login) too.

use sea_orm_migration::prelude::*;

/// Adds the indexes.
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261207_000002_sort_indexes"
    }
}

const INDEXES: [(&str, &str, &[&str]); 7] = [
    ("idx_petitions_signature_count_id", "petitions", &["signature_count", "id"]),
    ("idx_petitions_goal_id", "petitions", &["goal", "id"]),
    ("idx_events_going_count_id", "events", &["going_count", "id"]),
    ("idx_quotes_person_id_status_submitted_by_id", "quotes", &["person_id", "status", "submitted_by_id"]),
    ("idx_quotes_film_id_status_submitted_by_id", "quotes", &["film_id", "status", "submitted_by_id"]),
    ("idx_users_display_name_id", "users", &["display_name", "id"]),
    ("idx_users_last_login_at_id", "users", &["last_login_at", "id"]),
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
