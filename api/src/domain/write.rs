//! What every admin write shares: one transaction per change, the create and update skeleton
//! (name and slug checked, slug uniqueness with a clear `CONFLICT`, `NOT_FOUND`, timestamps),
//! existence checks for referenced rows, the hold on a user's row that fan actions take first, and
//! applying optional-field patches.

use entity::user;
use sea_orm::sea_query::LockType;
use sea_orm::{
    ActiveModelBehavior, ActiveModelTrait, ActiveValue, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait,
    IntoActiveModel, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, TransactionTrait,
};

use super::validate::{self, Patch};
use super::{DomainError, DomainResult};

/// Refuses `slug` when another row (not `except`) of the table holds it.
pub(crate) async fn ensure_slug_free<E, C>(
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
pub(crate) async fn ensure_exists<E, C>(
    db: &C,
    id_column: E::Column,
    id: i64,
    field: &str,
    what: &str,
) -> DomainResult<()>
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
pub(crate) async fn delete<E>(
    db: &impl sea_orm::TransactionTrait<Transaction = sea_orm::DatabaseTransaction>,
    id: i64,
    what: &'static str,
) -> DomainResult<()>
where
    E: EntityTrait,
    <E::PrimaryKey as sea_orm::PrimaryKeyTrait>::ValueType: From<i64>,
{
    transaction(db, async |txn| {
        if E::delete_by_id(id).exec(txn).await?.rows_affected == 0 {
            return Err(DomainError::NotFound(what));
        }
        Ok(())
    })
    .await
}

/// Runs `work` as one write transaction (see `begin_write`): committed when `work` returns `Ok`,
/// rolled back when it fails. Under `retrying`, each attempt is one call.
pub async fn transaction<D, T>(
    db: &D,
    work: impl AsyncFnOnce(&DatabaseTransaction) -> DomainResult<T>,
) -> DomainResult<T>
where
    D: TransactionTrait<Transaction = DatabaseTransaction>,
{
    let txn = super::begin_write(db).await?;
    let value = work(&txn).await?;
    txn.commit().await?;
    Ok(value)
}

/// Row `id` of `E`, locked until the transaction ends (`SELECT … FOR UPDATE` on PostgreSQL; on
/// SQLite the write transaction already holds the database), so the changes that lock one row run
/// one at a time; `NotFound(what)` when there is none.
pub(crate) async fn lock<E, C>(txn: &C, id: i64, what: &'static str) -> DomainResult<E::Model>
where
    E: EntityTrait,
    <E::PrimaryKey as sea_orm::PrimaryKeyTrait>::ValueType: From<i64>,
    C: ConnectionTrait,
{
    E::find_by_id(id).lock_exclusive().one(txn).await?.ok_or(DomainError::NotFound(what))
}

/// Row `id` of `E`, held in share mode until the transaction ends (`SELECT … FOR SHARE` on
/// PostgreSQL): any number of changes that share it run at once, and none runs while the row is
/// changed or `lock`ed; `NotFound(what)` when there is none.
pub(crate) async fn share<E, C>(txn: &C, id: i64, what: &'static str) -> DomainResult<E::Model>
where
    E: EntityTrait,
    <E::PrimaryKey as sea_orm::PrimaryKeyTrait>::ValueType: From<i64>,
    C: ConnectionTrait,
{
    E::find_by_id(id).lock_shared().one(txn).await?.ok_or(DomainError::NotFound(what))
}

/// Rows `ids` of `E`, locked in id order until the transaction ends, like `lock` for many rows in
/// one statement; rows that do not exist are skipped.
pub(crate) async fn lock_all<E, C>(txn: &C, id_column: E::Column, ids: &[i64]) -> DomainResult<()>
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
pub(crate) fn patch<T>(column: &mut ActiveValue<Option<T>>, change: Patch<T>)
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

/// An upsert's optional field: the input is the whole record, so a field it leaves out is cleared.
pub(crate) fn stated<T>(change: Patch<T>) -> Patch<T> {
    match change {
        Patch::Keep => Patch::Clear,
        other => other,
    }
}

/// Sets a required column when a new value is given.
pub(crate) fn set_if<T: Into<sea_orm::Value>>(column: &mut ActiveValue<T>, value: Option<T>) {
    if let Some(value) = value {
        *column = ActiveValue::Set(value);
    }
}

/// A database to write to: a connection (each change its own transaction) or a transaction.
pub(crate) trait Db: TransactionTrait<Transaction = DatabaseTransaction> {}

impl<T: TransactionTrait<Transaction = DatabaseTransaction>> Db for T {}

/// A table whose rows the admin mutations and the import create and change.
pub(crate) trait Editable: EntityTrait {
    /// What a missing row is called in `NOT_FOUND`.
    const WHAT: &'static str;
    const ID: Self::Column;
    const CREATED_AT: Self::Column;
    const UPDATED_AT: Self::Column;
}

/// An `Editable` table whose rows have a unique slug and a name (a film's title, a person's name).
pub(crate) trait Named: Editable {
    const SLUG: Self::Column;
    const NAME: Self::Column;
    /// The name's input field.
    const NAME_FIELD: &'static str;
    /// The name's longest length.
    const NAME_MAX: usize;
}

/// Row `id` of `E`; `NotFound` when there is none.
pub(crate) async fn find<E, C>(db: &C, id: i64) -> DomainResult<E::Model>
where
    E: Editable,
    <E::PrimaryKey as sea_orm::PrimaryKeyTrait>::ValueType: From<i64>,
    C: ConnectionTrait,
{
    E::find_by_id(id).one(db).await?.ok_or(DomainError::NotFound(E::WHAT))
}

/// A new row of `E` with both timestamps set to now.
pub(crate) fn stamped<E: Editable>() -> E::ActiveModel {
    let now = super::now();
    let mut model = E::ActiveModel::default();
    model.set(E::CREATED_AT, now.into());
    model.set(E::UPDATED_AT, now.into());
    model
}

/// A new row of `E`: `name` (required) and `slug` (made from the name when not given) checked,
/// the slug free, both timestamps set to now.
pub(crate) async fn create<E, C>(txn: &C, name: Option<&str>, slug: Option<&str>) -> DomainResult<E::ActiveModel>
where
    E: Named,
    E::Model: Sync,
    C: ConnectionTrait,
{
    let (model, slug) = fresh::<E>(name, slug)?;
    ensure_slug_free::<E, _>(txn, E::SLUG, E::ID, &slug, None).await?;
    Ok(model)
}

/// `create` without the slug check, for an upsert (a taken slug means "update that row").
/// Returns the new row and its slug.
pub(crate) fn fresh<E: Named>(name: Option<&str>, slug: Option<&str>) -> DomainResult<(E::ActiveModel, String)> {
    let name = validate::text(E::NAME_FIELD, validate::required(E::NAME_FIELD, name)?, E::NAME_MAX)?;
    let slug = validate::slug_or_from("input.slug", slug, &name)?;
    let mut model = stamped::<E>();
    model.set(E::SLUG, slug.clone().into());
    model.set(E::NAME, name.into());
    Ok((model, slug))
}

/// A row an upsert wrote, and whether it was new.
#[derive(Debug, Clone)]
pub(crate) struct Upserted<M> {
    pub(crate) row: M,
    /// True when the row was inserted, false when the stored row with its slug was updated.
    pub(crate) created: bool,
    /// The stored row before the update (read under its lock just before the statement, for the
    /// audit trail); `None` when there was none.
    pub(crate) before: Option<M>,
}

/// Inserts `model` (made by `fresh`, validated) or, when its slug is taken, sets the stored row's
/// columns to the ones `model` sets, in one `INSERT … ON CONFLICT (slug) DO UPDATE … RETURNING`
/// statement. The id, slug, `created_at` and the `keep` columns are only written on insert.
/// `guard` is a condition on the stored row (`excluded.*` is the new one) the update needs; when it
/// does not hold nothing is written and its error is returned.
pub(crate) async fn upsert<E, C>(
    txn: &C,
    model: E::ActiveModel,
    keep: &[E::Column],
    guard: Option<(sea_orm::sea_query::Expr, DomainError)>,
) -> DomainResult<Upserted<E::Model>>
where
    E: Named,
    C: ConnectionTrait,
{
    use sea_orm::sea_query::{Expr, OnConflict, Query};
    use sea_orm::{DatabaseBackend, FromQueryResult, IdenStatic, Iterable, QueryTrait};
    let unchanged = |column: &E::Column| {
        [E::ID, E::SLUG, E::CREATED_AT].iter().chain(keep).any(|other| other.as_str() == column.as_str())
    };
    let updated: Vec<E::Column> =
        E::Column::iter().filter(|column| !unchanged(column) && !model.is_not_set(*column)).collect();
    let before = match model.get(E::SLUG).into_value() {
        Some(slug) => E::find().filter(E::SLUG.eq(slug)).lock_exclusive().one(txn).await?,
        None => None,
    };
    let mut on_conflict = OnConflict::column(E::SLUG);
    on_conflict.update_columns(updated);
    let refused = guard.map(|(condition, error)| {
        on_conflict.action_and_where(condition);
        error
    });
    let backend = txn.get_database_backend();
    let mut statement = E::insert(model).on_conflict(on_conflict).into_query();
    let mut returned: Vec<Expr> = E::Column::iter().map(Expr::col).collect();
    if backend == DatabaseBackend::Postgres {
        // A row PostgreSQL inserted has no deleting transaction yet; an updated one has ours.
        returned.push(Expr::cust("(xmax = 0) AS fandb_inserted"));
    }
    statement.returning(Query::returning().exprs(returned));
    let Some(result) = txn.query_one(&statement).await? else {
        return Err(refused.unwrap_or_else(|| DomainError::Internal("an upsert returned no row".into())));
    };
    let row = E::Model::from_query_result(&result, "")?;
    let created = match backend {
        DatabaseBackend::Postgres => result.try_get::<bool>("", "fandb_inserted")?,
        // SQLite tells nothing of what the statement did, but its write transaction holds the
        // whole database from its first statement, so the row read above is still the stored one.
        _ => before.is_none(),
    };
    Ok(Upserted { row, created, before })
}

/// Row `id` of `E` ready to change (`NotFound` when there is none): its name and slug replaced,
/// checked, when given.
pub(crate) async fn edit<E, C>(txn: &C, id: i64, name: Option<&str>, slug: Option<&str>) -> DomainResult<E::ActiveModel>
where
    E: Named,
    <E::PrimaryKey as sea_orm::PrimaryKeyTrait>::ValueType: From<i64>,
    E::Model: Sync + IntoActiveModel<E::ActiveModel>,
    C: ConnectionTrait,
{
    rename::<E, _>(txn, id, find::<E, _>(txn, id).await?, name, slug).await
}

/// `edit` for a row already read (under its lock, say).
pub(crate) async fn rename<E, C>(
    txn: &C,
    id: i64,
    existing: E::Model,
    name: Option<&str>,
    slug: Option<&str>,
) -> DomainResult<E::ActiveModel>
where
    E: Named,
    E::Model: Sync + IntoActiveModel<E::ActiveModel>,
    C: ConnectionTrait,
{
    let mut model = existing.into_active_model();
    if let Some(name) = name {
        model.set(E::NAME, validate::text(E::NAME_FIELD, name, E::NAME_MAX)?.into());
    }
    if let Some(slug) = slug {
        let slug = validate::slug("input.slug", slug)?;
        ensure_slug_free::<E, _>(txn, E::SLUG, E::ID, &slug, Some(id)).await?;
        model.set(E::SLUG, slug.into());
    }
    Ok(model)
}

/// Stores a changed row with `updated_at` set to now.
pub(crate) async fn save<E, C>(txn: &C, mut model: E::ActiveModel) -> DomainResult<E::Model>
where
    E: Editable,
    E::Model: IntoActiveModel<E::ActiveModel>,
    E::ActiveModel: ActiveModelBehavior + Send,
    C: ConnectionTrait,
{
    model.set(E::UPDATED_AT, super::now().into());
    Ok(model.update(txn).await?)
}

/// Holds user `user_id`'s row until the transaction ends, against the account's deletion only
/// (`FOR KEY SHARE` on PostgreSQL: what a new row's foreign key would take, taken up front, so many
/// of the user's changes hold it at once and refreshes are not held up); `Unauthenticated` when the
/// account is gone. A fan action that adds or removes the user's rows holds it before any other
/// lock, as `deleteAccount` locks the user first: they run one after the other, never interleaved,
/// and the later one sees what the earlier did. On SQLite the write transaction holds the
/// database already.
pub(crate) async fn hold<C: ConnectionTrait>(txn: &C, user_id: i64) -> DomainResult<()> {
    user::Entity::find_by_id(user_id)
        .select_only()
        .column(user::Column::Id)
        .lock(LockType::KeyShare)
        .into_tuple::<i64>()
        .one(txn)
        .await?
        .map(|_| ())
        .ok_or(DomainError::Unauthenticated)
}

/// Declares a table `Editable`, and `Named` when given its name column and limits.
macro_rules! editable {
    ($table:ident, $what:literal) => {
        impl Editable for entity::$table::Entity {
            const WHAT: &'static str = $what;
            const ID: Self::Column = entity::$table::Column::Id;
            const CREATED_AT: Self::Column = entity::$table::Column::CreatedAt;
            const UPDATED_AT: Self::Column = entity::$table::Column::UpdatedAt;
        }
    };
    ($table:ident, $what:literal, $name:ident, $field:literal, $max:expr) => {
        editable!($table, $what);
        impl Named for entity::$table::Entity {
            const SLUG: Self::Column = entity::$table::Column::Slug;
            const NAME: Self::Column = entity::$table::Column::$name;
            const NAME_FIELD: &'static str = $field;
            const NAME_MAX: usize = $max;
        }
    };
}

editable!(quote, "quote");
editable!(film, "film", Title, "input.title", validate::FILM_TITLE_MAX);
editable!(person, "person", Name, "input.name", validate::PERSON_NAME_MAX);
editable!(event, "event", Title, "input.title", validate::EVENT_TITLE_MAX);
editable!(petition, "petition", Title, "input.title", validate::PETITION_TITLE_MAX);
