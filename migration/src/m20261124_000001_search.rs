//! Full-text search over films, people, quotes, events and petitions, kept current by the database
//! itself. Accents and case never matter ("weta" finds "Wētā").
//!
//! PostgreSQL: each table gets a generated `search` tsvector of its text (through `unaccent`, a
//! trusted extension the database owner may create) with a GIN index.
//! SQLite: one FTS5 table (`unicode61` with diacritics removed) fed by triggers; its rowid is the
//! kind's number times 2^40 plus the record's id, so an update or delete finds its entry by key.

use sea_orm::{ConnectionTrait, DatabaseBackend};
use sea_orm_migration::prelude::*;

/// Adds search.
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261124_000001_search"
    }
}

/// A searchable table: its kind (as the API names it), its number in the SQLite rowid, and the SQL
/// of its title (weighted above the rest) and of the rest of its text, over a row alias.
pub struct Searchable {
    pub table: &'static str,
    pub kind: &'static str,
    pub number: i64,
    pub title: fn(&str) -> String,
    pub body: fn(&str) -> String,
}

fn joined(row: &str, columns: &[&str]) -> String {
    columns.iter().map(|column| format!("coalesce({row}.{column}, '')")).collect::<Vec<_>>().join(" || ' ' || ")
}

/// Every searchable table.
pub const SEARCHABLE: [Searchable; 5] = [
    Searchable {
        table: "films",
        kind: "film",
        number: 1,
        title: |row| joined(row, &["title"]),
        body: |row| joined(row, &["tagline", "synopsis", "distributor"]),
    },
    Searchable {
        table: "people",
        kind: "person",
        number: 2,
        title: |row| joined(row, &["name"]),
        body: |row| joined(row, &["bio"]),
    },
    Searchable {
        table: "quotes",
        kind: "quote",
        number: 3,
        title: |row| joined(row, &["text"]),
        body: |row| joined(row, &["source", "context"]),
    },
    Searchable {
        table: "events",
        kind: "event",
        number: 4,
        title: |row| joined(row, &["title"]),
        body: |row| joined(row, &["description", "venue", "city", "hashtag"]),
    },
    Searchable {
        table: "petitions",
        kind: "petition",
        number: 5,
        title: |row| joined(row, &["title"]),
        body: |row| joined(row, &["target", "body"]),
    },
];

/// 2^40: room for a trillion ids per kind in the SQLite rowid.
pub const KIND_STRIDE: i64 = 1 << 40;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        match manager.get_database_backend() {
            DatabaseBackend::Postgres => {
                db.execute_unprepared("CREATE EXTENSION IF NOT EXISTS unaccent").await?;
                // unaccent() is only STABLE; pinning the dictionary makes it safe to index.
                db.execute_unprepared(
                    "CREATE OR REPLACE FUNCTION fandb_unaccent(text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT \
                     AS $$ SELECT public.unaccent('public.unaccent'::regdictionary, $1) $$",
                )
                .await?;
                for searchable in &SEARCHABLE {
                    let table = searchable.table;
                    let (title, body) = ((searchable.title)(table), (searchable.body)(table));
                    db.execute_unprepared(&format!(
                        "ALTER TABLE {table} ADD COLUMN search tsvector GENERATED ALWAYS AS (\
                         setweight(to_tsvector('simple', fandb_unaccent({title})), 'A') || \
                         setweight(to_tsvector('simple', fandb_unaccent({body})), 'B')) STORED"
                    ))
                    .await?;
                    db.execute_unprepared(&format!("CREATE INDEX idx_{table}_search ON {table} USING GIN (search)"))
                        .await?;
                }
            }
            _ => {
                db.execute_unprepared(
                    "CREATE VIRTUAL TABLE search_index USING fts5(kind UNINDEXED, record_id UNINDEXED, title, body, \
                     tokenize = 'unicode61 remove_diacritics 2')",
                )
                .await?;
                for searchable in &SEARCHABLE {
                    let Searchable { table, kind, number, title, body } = searchable;
                    let key = |row: &str| format!("{number} * {KIND_STRIDE} + {row}.id");
                    let insert = |row: &str| {
                        format!(
                            "INSERT INTO search_index (rowid, kind, record_id, title, body) VALUES ({}, '{kind}', {row}.id, {}, {});",
                            key(row),
                            title(row),
                            body(row)
                        )
                    };
                    let delete = |row: &str| format!("DELETE FROM search_index WHERE rowid = {};", key(row));
                    db.execute_unprepared(&format!(
                        "CREATE TRIGGER {table}_search_insert AFTER INSERT ON {table} BEGIN {} END",
                        insert("new")
                    ))
                    .await?;
                    db.execute_unprepared(&format!(
                        "CREATE TRIGGER {table}_search_update AFTER UPDATE ON {table} BEGIN {} {} END",
                        delete("old"),
                        insert("new")
                    ))
                    .await?;
                    db.execute_unprepared(&format!(
                        "CREATE TRIGGER {table}_search_delete AFTER DELETE ON {table} BEGIN {} END",
                        delete("old")
                    ))
                    .await?;
                    db.execute_unprepared(&format!(
                        "INSERT INTO search_index (rowid, kind, record_id, title, body) SELECT {}, '{kind}', {table}.id, {}, {} FROM {table}",
                        key(table),
                        title(table),
                        body(table)
                    ))
                    .await?;
                }
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        match manager.get_database_backend() {
            DatabaseBackend::Postgres => {
                for searchable in &SEARCHABLE {
                    db.execute_unprepared(&format!("ALTER TABLE {} DROP COLUMN IF EXISTS search", searchable.table))
                        .await?;
                }
                db.execute_unprepared("DROP FUNCTION IF EXISTS fandb_unaccent(text)").await?;
            }
            _ => {
                for searchable in &SEARCHABLE {
                    for event in ["insert", "update", "delete"] {
                        db.execute_unprepared(&format!("DROP TRIGGER IF EXISTS {}_search_{event}", searchable.table))
                            .await?;
                    }
                }
                db.execute_unprepared("DROP TABLE IF EXISTS search_index").await?;
            }
        }
        Ok(())
    }
}
