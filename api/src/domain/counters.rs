//! Maintained counters spread over slot rows: a petition's signatures and an event's fans going.
//!
//! A change adds its delta to one of `SLOTS` rows of the petition or event (a random one per
//! transaction), so concurrent signers write different rows and none holds the petition's row
//! lock for writing through its commit. The count is the stored column plus the sum of the
//! slots, always read in one statement (`total_sql`), and `fold` moves the slots back into the
//! stored column now and then. The version (which orders live notices) is spread the same way:
//! `count_version` plus the changes each slot took.

use std::collections::HashMap;

use sea_orm::{ConnectionTrait, DatabaseBackend, DatabaseConnection, Statement, Value};

use super::{DomainError, DomainResult};

/// What a notice says changed (defined here, beside the slotted counters, so that `notify` imports
/// this module and not the other way round).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Counter {
    /// A petition's signatures.
    Petition,
    /// An event's RSVPs going.
    Event,
    /// A petition's updates: one was posted or its publication time changed. The value and version
    /// are its id, but subscribers look at neither: any notice makes them read their feed again.
    PetitionUpdates,
    /// Public records changed (a mutation, an import): the id is a mask of `records` kinds, the
    /// count and version are 0. Only the response cache looks at it (`http::response_cache`).
    Records,
}

/// Slot rows per petition or event: enough that 64 concurrent writers rarely meet on one.
pub(crate) const SLOTS: i32 = 64;

/// Ids per statement: far below both databases' bound-parameter limits.
const IDS_PER_QUERY: usize = 5_000;

/// Rows folded per round of `fold_all`.
const FOLDS_PER_ROUND: i64 = 500;

/// A counter column kept with slots: the counted table, its columns, and its slot table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Slotted {
    /// What notices about it are called.
    pub(crate) counter: Counter,
    table: &'static str,
    count: &'static str,
    slots: &'static str,
    key: &'static str,
}

/// `petitions.signature_count` and `petition_count_slots`.
pub(crate) const SIGNATURES: Slotted = Slotted {
    counter: Counter::Petition,
    table: "petitions",
    count: "signature_count",
    slots: "petition_count_slots",
    key: "petition_id",
};

/// `events.going_count` and `event_count_slots`.
pub(crate) const GOING: Slotted = Slotted {
    counter: Counter::Event,
    table: "events",
    count: "going_count",
    slots: "event_count_slots",
    key: "event_id",
};

/// The slotted counter stored in column `column` of `table`, if it is one.
pub(crate) fn slotted(table: &str, column: &str) -> Option<Slotted> {
    [SIGNATURES, GOING].into_iter().find(|slotted| slotted.table == table && slotted.count == column)
}

/// `sql` with each `?` numbered (`$1`, `$2`, …) on PostgreSQL.
fn statement(backend: DatabaseBackend, sql: &str, values: Vec<Value>) -> Statement {
    let text = match backend {
        DatabaseBackend::Postgres => {
            let mut numbered = String::with_capacity(sql.len() + 8);
            let mut number = 0;
            for character in sql.chars() {
                if character == '?' {
                    number += 1;
                    numbered.push('$');
                    numbered.push_str(&number.to_string());
                } else {
                    numbered.push(character);
                }
            }
            numbered
        }
        _ => sql.to_owned(),
    };
    Statement::from_sql_and_values(backend, text, values)
}

fn internal(error: impl std::fmt::Display) -> DomainError {
    DomainError::Internal(error.to_string())
}

impl Slotted {
    /// The count of the row that `row` (a table name or alias of the counted table) stands for:
    /// the stored column plus its slots, as one SQL expression.
    pub(crate) fn total_sql(&self, row: &str) -> String {
        self.sum_sql(row, self.count, "delta")
    }

    /// The version of the row that `row` stands for, like `total_sql`.
    pub(crate) fn version_sql(&self, row: &str) -> String {
        self.sum_sql(row, "count_version", "version")
    }

    fn sum_sql(&self, row: &str, stored: &str, slot_column: &str) -> String {
        let Self { slots, key, .. } = self;
        // SUM of BIGINT is NUMERIC on PostgreSQL: cast back, so the value decodes as an i64.
        format!(
            "CAST(\"{row}\".\"{stored}\" + COALESCE((SELECT SUM(\"{slots}\".\"{slot_column}\") FROM \"{slots}\" \
             WHERE \"{slots}\".\"{key}\" = \"{row}\".\"id\"), 0) AS BIGINT)"
        )
    }

    /// Adds `delta` to a random slot of row `id`, and one to its version, in the caller's
    /// transaction. The caller holds row `id` at least in share mode (see `Notifier::counted`), so
    /// a fold, which locks it for update, never runs in between.
    pub(crate) async fn add<C: ConnectionTrait>(&self, txn: &C, id: i64, delta: i64) -> DomainResult<()> {
        let sql = self.slot_upsert_sql("VALUES (?, ?, ?, 1)");
        txn.execute_raw(statement(
            txn.get_database_backend(),
            &sql,
            vec![id.into(), random_slot().into(), delta.into()],
        ))
        .await?;
        Ok(())
    }

    /// The statement that adds each of `rows` (`VALUES` or a query giving the row's id, the slot,
    /// the delta and 1) to its slot: what `add` runs, and what a one-statement write runs as its
    /// last common table expression, after holding the counted row in share mode.
    pub(crate) fn slot_upsert_sql(&self, rows: &str) -> String {
        let Self { slots, key, .. } = self;
        format!(
            "INSERT INTO {slots} ({key}, slot, delta, version) {rows} \
             ON CONFLICT ({key}, slot) DO UPDATE SET delta = {slots}.delta + excluded.delta, \
             version = {slots}.version + 1"
        )
    }

    /// The count of row `id`, with its slots; `None` when there is no such row.
    pub(crate) async fn total<C: ConnectionTrait>(&self, db: &C, id: i64) -> DomainResult<Option<i64>> {
        Ok(self.totals(db, &[id]).await?.get(&id).map(|(count, _)| *count))
    }

    /// The count and version of each of rows `ids` that exists, each row read in one statement.
    pub(crate) async fn totals<C: ConnectionTrait>(
        &self,
        db: &C,
        ids: &[i64],
    ) -> DomainResult<HashMap<i64, (i64, i64)>> {
        let mut found = HashMap::with_capacity(ids.len());
        let table = self.table;
        for chunk in ids.chunks(IDS_PER_QUERY) {
            let marks = vec!["?"; chunk.len()].join(", ");
            let sql = format!(
                "SELECT \"{table}\".\"id\" AS id, {} AS count, {} AS version FROM \"{table}\" \
                 WHERE \"{table}\".\"id\" IN ({marks})",
                self.total_sql(table),
                self.version_sql(table),
            );
            let values = chunk.iter().map(|id| Value::from(*id)).collect();
            for row in db.query_all_raw(statement(db.get_database_backend(), &sql, values)).await? {
                let id: i64 = row.try_get("", "id").map_err(internal)?;
                let count: i64 = row.try_get("", "count").map_err(internal)?;
                let version: i64 = row.try_get("", "version").map_err(internal)?;
                found.insert(id, (count, version));
            }
        }
        Ok(found)
    }

    /// Moves the slots of row `id` into its stored count and version, in the caller's transaction:
    /// the row is locked for update first (the order every slot writer takes: row, then slot), so
    /// no slot of it changes until the transaction ends and the count reads the same throughout.
    /// Safe with any number of folders: a second one finds the slots gone and adds nothing.
    async fn fold_one<C: ConnectionTrait>(&self, txn: &C, id: i64) -> DomainResult<()> {
        let Self { table, count, slots, key, .. } = *self;
        let backend = txn.get_database_backend();
        let lock = match backend {
            DatabaseBackend::Postgres => " FOR UPDATE",
            _ => "",
        };
        let locked = txn.query_one_raw(statement(
            backend,
            &format!("SELECT id FROM {table} WHERE id = ?{lock}"),
            vec![id.into()],
        ));
        if locked.await?.is_none() {
            return Ok(());
        }
        let sums = format!(
            "SELECT CAST(COALESCE(SUM(delta), 0) AS BIGINT) AS delta, \
             CAST(COALESCE(SUM(version), 0) AS BIGINT) AS version FROM {slots} WHERE {key} = ?"
        );
        let Some(row) = txn.query_one_raw(statement(backend, &sums, vec![id.into()])).await? else { return Ok(()) };
        let delta: i64 = row.try_get("", "delta").map_err(internal)?;
        let version: i64 = row.try_get("", "version").map_err(internal)?;
        let delete = format!("DELETE FROM {slots} WHERE {key} = ?");
        txn.execute_raw(statement(backend, &delete, vec![id.into()])).await?;
        let update =
            format!("UPDATE {table} SET {count} = {count} + ?, count_version = count_version + ? WHERE id = ?");
        txn.execute_raw(statement(backend, &update, vec![delta.into(), version.into(), id.into()])).await?;
        Ok(())
    }

    /// Folds every row that has slots, each in its own short transaction; how many were folded.
    pub(crate) async fn fold_all(&self, db: &DatabaseConnection) -> DomainResult<u64> {
        let Self { slots, key, .. } = *self;
        let backend = db.get_database_backend();
        let pending = format!("SELECT DISTINCT {key} AS id FROM {slots} ORDER BY {key} LIMIT ?");
        let rows = db.query_all_raw(statement(backend, &pending, vec![FOLDS_PER_ROUND.into()])).await?;
        let mut folded = 0;
        for row in rows {
            self.fold(db, row.try_get("", "id").map_err(internal)?).await?;
            folded += 1;
        }
        Ok(folded)
    }

    /// Folds the slots of row `id` in a transaction of its own (see `fold_one`).
    pub(crate) async fn fold(&self, db: &DatabaseConnection, id: i64) -> DomainResult<()> {
        super::retrying(|| super::write::transaction(db, async |txn| self.fold_one(txn, id).await)).await
    }
}

/// A slot to add a change to: a random one, so concurrent writers rarely meet on one row.
pub(crate) fn random_slot() -> i32 {
    fastrand::i32(0..SLOTS)
}

/// The slotted counter notices about `counter` are for, if any.
pub(crate) fn of(counter: Counter) -> Option<Slotted> {
    [SIGNATURES, GOING].into_iter().find(|slotted| slotted.counter == counter)
}

/// Folds the slots of every petition and event (see `Slotted::fold_all`), up to
/// `FOLDS_PER_ROUND` rows of each; how many rows were folded. On SQLite the caller holds the
/// write gate.
pub(crate) async fn fold_everything(db: &DatabaseConnection) -> DomainResult<u64> {
    Ok(SIGNATURES.fold_all(db).await? + GOING.fold_all(db).await?)
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "a failing test should fail loudly")]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_on_postgres_only() {
        let sql = "SELECT ? + ?";
        assert_eq!(statement(DatabaseBackend::Postgres, sql, vec![1.into(), 2.into()]).sql, "SELECT $1 + $2");
        assert_eq!(statement(DatabaseBackend::Sqlite, sql, vec![1.into(), 2.into()]).sql, sql);
    }

    #[test]
    fn only_the_two_counted_columns_are_slotted() {
        assert_eq!(slotted("petitions", "signature_count").unwrap().counter, Counter::Petition);
        assert_eq!(slotted("events", "going_count").unwrap().counter, Counter::Event);
        assert!(slotted("petitions", "goal").is_none());
    }
}
