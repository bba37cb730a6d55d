//! Maintained counters: a petition's signatures and an event's RSVPs going, each with a version
//! that grows with every change. The counter row is what concurrent signers and RSVPs lock and
//! update in one statement (so counts stay exact and a capacity cannot be overrun), and the version
//! orders the live-count notices subscribers receive.

use sea_orm_migration::prelude::*;

/// Adds the counters and fills them from the rows that exist.
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261122_000002_add_counters"
    }
}

#[derive(DeriveIden)]
enum Petitions {
    Table,
    SignatureCount,
    CountVersion,
}

#[derive(DeriveIden)]
enum Events {
    Table,
    GoingCount,
    CountVersion,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [Petitions::SignatureCount, Petitions::CountVersion] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Petitions::Table)
                        .add_column(ColumnDef::new(column).big_integer().not_null().default(0))
                        .to_owned(),
                )
                .await?;
        }
        for column in [Events::GoingCount, Events::CountVersion] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Events::Table)
                        .add_column(ColumnDef::new(column).big_integer().not_null().default(0))
                        .to_owned(),
                )
                .await?;
        }
        let db = manager.get_connection();
        db.execute_unprepared(
            "UPDATE petitions SET signature_count = (SELECT COUNT(*) FROM signatures WHERE signatures.petition_id = petitions.id)",
        )
        .await?;
        db.execute_unprepared(
            "UPDATE events SET going_count = (SELECT COUNT(*) FROM rsvps WHERE rsvps.event_id = events.id AND rsvps.status = 'GOING')",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [Petitions::SignatureCount, Petitions::CountVersion] {
            manager.alter_table(Table::alter().table(Petitions::Table).drop_column(column).to_owned()).await?;
        }
        for column in [Events::GoingCount, Events::CountVersion] {
            manager.alter_table(Table::alter().table(Events::Table).drop_column(column).to_owned()).await?;
        }
        Ok(())
    }
}
