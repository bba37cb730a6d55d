//! Petition updates and images by URL.
//!
//! `petition_updates`: news posted to a petition (title, the Markdown as written and its sanitized
//! HTML, the author, the publication time), deleted with its petition, read newest first per
//! petition through the index on (petition_id, published_at, id). Updates are searchable like the
//! other records: a generated `search` tsvector with a GIN index on PostgreSQL, and entries of the
//! FTS5 `search_index` kept by triggers on SQLite (kind number 6).
//!
//! Images: `films.poster_url`, `people.photo_url`, `events.image_url` and `petitions.image_url`,
//! nullable text.

use sea_orm::{ConnectionTrait, DatabaseBackend};
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::m20261124_000001_search::KIND_STRIDE;

/// Creates `petition_updates` and adds the image columns.
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261203_000002_petition_updates"
    }
}

#[derive(DeriveIden)]
enum PetitionUpdates {
    Table,
    Id,
    PetitionId,
    Title,
    BodyMarkdown,
    BodyHtml,
    AuthorId,
    PublishedAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Petitions {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

/// Each table's new image column.
const IMAGES: [(&str, &str); 4] =
    [("films", "poster_url"), ("people", "photo_url"), ("events", "image_url"), ("petitions", "image_url")];

/// The update's number in the SQLite search rowid (films to petitions are 1 to 5).
const KIND_NUMBER: i64 = 6;
const TITLE: &str = "coalesce({row}.title, '')";
const BODY: &str = "coalesce({row}.body_markdown, '')";

fn over(template: &str, row: &str) -> String {
    template.replace("{row}", row)
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (table, column) in IMAGES {
            manager
                .alter_table(
                    Table::alter()
                        .table(Alias::new(table))
                        .add_column(ColumnDef::new(Alias::new(column)).text().null())
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(PetitionUpdates::Table)
                    .col(big_pk_auto(PetitionUpdates::Id))
                    .col(big_integer(PetitionUpdates::PetitionId))
                    .col(string_len(PetitionUpdates::Title, 200))
                    .col(text(PetitionUpdates::BodyMarkdown))
                    .col(text(PetitionUpdates::BodyHtml))
                    .col(big_integer_null(PetitionUpdates::AuthorId))
                    .col(timestamp_with_time_zone(PetitionUpdates::PublishedAt))
                    .col(timestamp_with_time_zone(PetitionUpdates::CreatedAt))
                    .col(timestamp_with_time_zone(PetitionUpdates::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(PetitionUpdates::Table, PetitionUpdates::PetitionId)
                            .to(Petitions::Table, Petitions::Id)
                            .on_delete(ForeignKeyAction::Cascade)
                            .on_update(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(PetitionUpdates::Table, PetitionUpdates::AuthorId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::SetNull)
                            .on_update(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // A petition's updates newest first, and the latest one per petition, come off this index.
        manager
            .create_index(
                Index::create()
                    .name("idx_petition_updates_petition_id_published_at_id")
                    .table(PetitionUpdates::Table)
                    .col(PetitionUpdates::PetitionId)
                    .col(PetitionUpdates::PublishedAt)
                    .col(PetitionUpdates::Id)
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        let texts = |row: &str| (over(TITLE, row), over(BODY, row));
        match manager.get_database_backend() {
            DatabaseBackend::Postgres => {
                let (title, body) = texts("petition_updates");
                db.execute_unprepared(&format!(
                    "ALTER TABLE petition_updates ADD COLUMN search tsvector GENERATED ALWAYS AS (\
                     setweight(to_tsvector('simple', fandb_unaccent({title})), 'A') || \
                     setweight(to_tsvector('simple', fandb_unaccent({body})), 'B')) STORED"
                ))
                .await?;
                db.execute_unprepared(
                    "CREATE INDEX idx_petition_updates_search ON petition_updates USING GIN (search)",
                )
                .await?;
            }
            _ => {
                let key = |row: &str| format!("{KIND_NUMBER} * {KIND_STRIDE} + {row}.id");
                let insert = |row: &str| {
                    let (title, body) = texts(row);
                    format!(
                        "INSERT INTO search_index (rowid, kind, record_id, title, body) \
                         VALUES ({}, 'petition_update', {row}.id, {title}, {body});",
                        key(row)
                    )
                };
                let delete = |row: &str| format!("DELETE FROM search_index WHERE rowid = {};", key(row));
                db.execute_unprepared(&format!(
                    "CREATE TRIGGER petition_updates_search_insert AFTER INSERT ON petition_updates BEGIN {} END",
                    insert("new")
                ))
                .await?;
                db.execute_unprepared(&format!(
                    "CREATE TRIGGER petition_updates_search_update AFTER UPDATE ON petition_updates BEGIN {} {} END",
                    delete("old"),
                    insert("new")
                ))
                .await?;
                db.execute_unprepared(&format!(
                    "CREATE TRIGGER petition_updates_search_delete AFTER DELETE ON petition_updates BEGIN {} END",
                    delete("old")
                ))
                .await?;
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        if manager.get_database_backend() == DatabaseBackend::Sqlite {
            for event in ["insert", "update", "delete"] {
                db.execute_unprepared(&format!("DROP TRIGGER IF EXISTS petition_updates_search_{event}")).await?;
            }
            db.execute_unprepared("DELETE FROM search_index WHERE kind = 'petition_update'").await?;
        }
        manager.drop_table(Table::drop().table(PetitionUpdates::Table).to_owned()).await?;
        for (table, column) in IMAGES {
            manager
                .alter_table(Table::alter().table(Alias::new(table)).drop_column(Alias::new(column)).to_owned())
                .await?;
        }
        Ok(())
    }
}
