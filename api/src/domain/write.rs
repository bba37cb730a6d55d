//! What every admin write shares: one transaction per change, slug uniqueness with a clear
//! `CONFLICT`, existence checks for referenced rows, and applying optional-field patches.

use sea_orm::{
    ActiveValue, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};

use super::validate::Patch;
use super::{DomainError, DomainResult};

/// Refuses `slug` when another row (not `except`) of the table holds it.
pub async fn ensure_slug_free<E, C>(
    db: &C,
    slug_column: E::Column,
    id_column: E::Column,
    slug: &str,
    except: Option<i64>,
) -> DomainResult<()>
where
    E: EntityTrait,
    E::Model: Sync,
    C: ConnectionTrait,
{
    let mut query = E::find().filter(slug_column.eq(slug));
    if let Some(id) = except {
        query = query.filter(id_column.ne(id));
    }
    if query.count(db).await? > 0 {
        return Err(DomainError::conflict("input.slug", format!("the slug `{slug}` is already taken")));
    }
    Ok(())
}

/// Refuses a reference to a row that does not exist.
pub async fn ensure_exists<E, C>(db: &C, id_column: E::Column, id: i64, field: &str, what: &str) -> DomainResult<()>
where
    E: EntityTrait,
    E::Model: Sync,
    C: ConnectionTrait,
{
    if E::find().filter(id_column.eq(id)).count(db).await? == 0 {
        return Err(DomainError::invalid(field, format!("no {what} with this ID")));
    }
    Ok(())
}

/// Deletes row `id` of `E` in one transaction; `NotFound(what)` when there is none. What goes with
/// it follows the foreign keys' ON DELETE rules (see the migration).
pub async fn delete<E>(
    db: &impl sea_orm::TransactionTrait<Transaction = sea_orm::DatabaseTransaction>,
    id: i64,
    what: &'static str,
) -> DomainResult<()>
where
    E: EntityTrait,
    <E::PrimaryKey as sea_orm::PrimaryKeyTrait>::ValueType: From<i64>,
{
    let txn = super::begin_write(db).await?;
    if E::delete_by_id(id).exec(&txn).await?.rows_affected == 0 {
        return Err(DomainError::NotFound(what));
    }
    txn.commit().await?;
    Ok(())
}

/// Row `id` of `E`, locked until the transaction ends (`SELECT … FOR UPDATE` on PostgreSQL; on
/// SQLite the write transaction already holds the database), so the changes that lock one row run
/// one at a time; `NotFound(what)` when there is none.
pub async fn lock<E, C>(txn: &C, id: i64, what: &'static str) -> DomainResult<E::Model>
where
    E: EntityTrait,
    <E::PrimaryKey as sea_orm::PrimaryKeyTrait>::ValueType: From<i64>,
    C: ConnectionTrait,
{
    E::find_by_id(id).lock_exclusive().one(txn).await?.ok_or(DomainError::NotFound(what))
}

/// Rows `ids` of `E`, locked in id order until the transaction ends, like `lock` for many rows in
/// one statement; rows that do not exist are skipped.
pub async fn lock_all<E, C>(txn: &C, id_column: E::Column, ids: &[i64]) -> DomainResult<()>
where
    E: EntityTrait,
    C: ConnectionTrait,
{
    if ids.is_empty() {
        return Ok(());
    }
    E::find()
        .select_only()
        .column(id_column)
        .filter(id_column.is_in(ids.iter().copied()))
        .order_by_asc(id_column)
        .lock_exclusive()
        .into_tuple::<i64>()
        .all(txn)
        .await?;
    Ok(())
}

/// Applies a patch to an optional column.
pub fn patch<T>(column: &mut ActiveValue<Option<T>>, change: Patch<T>)
where
    T: Into<sea_orm::Value>,
    Option<T>: Into<sea_orm::Value>,
{
    match change {
        Patch::Keep => {}
        Patch::Clear => *column = ActiveValue::Set(None),
        Patch::Set(value) => *column = ActiveValue::Set(Some(value)),
    }
}

/// Sets a required column when a new value is given.
pub fn set_if<T: Into<sea_orm::Value>>(column: &mut ActiveValue<T>, value: Option<T>) {
    if let Some(value) = value {
        *column = ActiveValue::Set(value);
    }
}
