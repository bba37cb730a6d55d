//! Counter slots: `petition_count_slots` and `event_count_slots`.
//!
//! A signature or an RSVP going no longer adds to `petitions.signature_count` or
//! `events.going_count` in its own transaction (which held the petition's or event's row lock
//! through its commit, so one petition took one signer at a time). It adds its delta to one of a
//! few slot rows of the petition or event, picked at random, so concurrent signers mostly write
//! different rows. A count is the stored column plus the sum of its slots, read in one statement;
//! a fold moves the slots back into the stored column now and then. Each slot also keeps how many
//! changes it took (`version`), which adds to `count_version` the same way.

use sea_orm_migration::prelude::*;

/// Creates the two slot tables.
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261207_000010_counter_slots"
    }
}

/// Each slot table and the table it counts for.
const TABLES: [(&str, &str, &str); 2] =
    [("petition_count_slots", "petition_id", "petitions"), ("event_count_slots", "event_id", "events")];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for (table, key, parent) in TABLES {
            // The same DDL on both databases; the primary key serves the per-row sum.
            db.execute_unprepared(&format!(
                "CREATE TABLE {table} (\
                 {key} BIGINT NOT NULL REFERENCES {parent} (id) ON DELETE CASCADE, \
                 slot INTEGER NOT NULL, \
                 delta BIGINT NOT NULL DEFAULT 0, \
                 version BIGINT NOT NULL DEFAULT 0, \
                 PRIMARY KEY ({key}, slot))"
            ))
            .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for (table, _, _) in TABLES {
            db.execute_unprepared(&format!("DROP TABLE {table}")).await?;
        }
        Ok(())
    }
}
