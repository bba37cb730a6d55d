//! Films and their credits: what the film lists filter and sort by, and the per-film relations.

use chrono::NaiveDate;
use entity::enums::{CreditRole, FilmStatus};
use entity::{credit, film};
use sea_orm::DatabaseBackend;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait,
    QueryFilter, Set,
};

use super::paging::{Direction, Sort};
use super::text::contains_ignoring_case;
use super::validate::{self, Patch};
use super::write::{self, patch, set_if};
use super::{DomainError, DomainResult};

/// The longest film title.
pub const TITLE_MAX: usize = 200;

/// What a film list may be narrowed to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct FilmFilter {
    pub title_contains: Option<String>,
    pub status: Option<FilmStatus>,
    pub released_after: Option<NaiveDate>,
    pub released_before: Option<NaiveDate>,
}

impl FilmFilter {
    /// The filter as a WHERE condition on `backend`.
    pub fn condition(&self, backend: DatabaseBackend) -> Condition {
        let mut condition = Condition::all();
        if let Some(title) = &self.title_contains {
            condition = condition.add(contains_ignoring_case(backend, film::Column::Title, title));
        }
        if let Some(status) = self.status {
            condition = condition.add(film::Column::Status.eq(status));
        }
        if let Some(date) = self.released_after {
            condition = condition.add(film::Column::ReleaseDate.gt(date));
        }
        if let Some(date) = self.released_before {
            condition = condition.add(film::Column::ReleaseDate.lt(date));
        }
        condition
    }
}

/// The keys a film list can be sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FilmOrderField {
    Title,
    ReleaseDate,
    CreatedAt,
}

/// The sort of a film list.
pub fn sort(field: FilmOrderField, direction: Direction) -> Sort<film::Column> {
    let (column, nullable) = match field {
        FilmOrderField::Title => (film::Column::Title, false),
        FilmOrderField::ReleaseDate => (film::Column::ReleaseDate, true),
        FilmOrderField::CreatedAt => (film::Column::CreatedAt, false),
    };
    Sort { column, direction, nullable }
}

/// The film with this slug, if any.
pub async fn by_slug<D: ConnectionTrait>(db: &D, slug: &str) -> DomainResult<Option<film::Model>> {
    Ok(film::Entity::find().filter(film::Column::Slug.eq(slug)).one(db).await?)
}

/// Sequels are listed oldest first, films without a date last.
pub const SEQUEL_SORT: Sort<film::Column> =
    Sort { column: film::Column::ReleaseDate, direction: Direction::Asc, nullable: true };

/// Credits are listed in billing order; credits without one come last.
pub const CREDIT_SORT: Sort<credit::Column> =
    Sort { column: credit::Column::BillingOrder, direction: Direction::Asc, nullable: true };

/// The credits a film's or person's credit list may be narrowed to.
pub fn credit_condition(role: Option<CreditRole>) -> Condition {
    let mut condition = Condition::all();
    if let Some(role) = role {
        condition = condition.add(credit::Column::Role.eq(role));
    }
    condition
}

/// A change to a film. On create, `title` and `status` are required and a missing slug is made
/// from the title; on update, only what is given changes.
#[derive(Debug, Default)]
pub struct FilmChanges {
    pub slug: Option<String>,
    pub title: Option<String>,
    pub tagline: Patch<String>,
    pub synopsis: Patch<String>,
    pub release_date: Patch<NaiveDate>,
    pub runtime_minutes: Patch<i32>,
    pub status: Option<FilmStatus>,
    pub budget_usd: Patch<i64>,
    pub box_office_usd: Patch<i64>,
    pub distributor: Patch<String>,
    pub sequel_of_id: Patch<i64>,
    /// An https image URL.
    pub poster_url: Patch<String>,
}

/// Validates everything but slug and title, and applies it to `model`.
async fn apply<C: ConnectionTrait>(
    db: &C,
    model: &mut film::ActiveModel,
    changes: FilmChanges,
    id: Option<i64>,
) -> DomainResult<()> {
    patch(&mut model.tagline, validate::patch_text("input.tagline", changes.tagline, 300)?);
    patch(&mut model.synopsis, validate::patch_text("input.synopsis", changes.synopsis, 10_000)?);
    patch(&mut model.release_date, changes.release_date);
    patch(
        &mut model.runtime_minutes,
        changes.runtime_minutes.try_map(|minutes| validate::range("input.runtimeMinutes", minutes, 1, 1_000))?,
    );
    set_if(&mut model.status, changes.status);
    patch(&mut model.budget_usd, changes.budget_usd.try_map(|usd| validate::money("input.budgetUsd", usd))?);
    patch(&mut model.box_office_usd, changes.box_office_usd.try_map(|usd| validate::money("input.boxOfficeUsd", usd))?);
    patch(&mut model.distributor, validate::patch_text("input.distributor", changes.distributor, 200)?);
    if let Patch::Set(sequel_of) = changes.sequel_of_id {
        if Some(sequel_of) == id {
            return Err(DomainError::invalid("input.sequelOfId", "a film cannot be its own sequel"));
        }
        write::ensure_exists::<film::Entity, _>(db, film::Column::Id, sequel_of, "input.sequelOfId", "film").await?;
    }
    patch(&mut model.sequel_of_id, changes.sequel_of_id);
    patch(&mut model.poster_url, validate::patch_image_url("input.posterUrl", changes.poster_url)?);
    Ok(())
}

/// Creates a film, in the caller's transaction (see `write::transaction`; an import runs
/// many in one).
pub async fn create(txn: &impl ConnectionTrait, changes: FilmChanges) -> DomainResult<film::Model> {
    let mut model = write::create::<film::Entity, _>(txn, changes.title.as_deref(), changes.slug.as_deref()).await?;
    validate::required("input.status", changes.status)?;
    apply(txn, &mut model, changes, None).await?;
    Ok(model.insert(txn).await?)
}

/// Changes the given fields of film `id`, in the caller's transaction.
pub async fn update(txn: &impl ConnectionTrait, id: i64, changes: FilmChanges) -> DomainResult<film::Model> {
    let (title, slug) = (changes.title.as_deref(), changes.slug.as_deref());
    let mut model = write::edit::<film::Entity, _>(txn, id, title, slug).await?;
    apply(txn, &mut model, changes, Some(id)).await?;
    write::save::<film::Entity, _>(txn, model).await
}

/// Deletes film `id`; its credits go with it, and quotes, events, petitions and sequels about it
/// stay, no longer linked to a film.
pub async fn delete(db: &DatabaseConnection, id: i64) -> DomainResult<()> {
    write::delete::<film::Entity>(db, id, "film").await
}

/// A new credit.
#[derive(Debug)]
pub struct NewCredit {
    pub film_id: i64,
    pub person_id: i64,
    pub role: CreditRole,
    pub character: Option<String>,
    pub billing_order: Option<i32>,
}

/// Credits a person on a film, in the caller's transaction; one credit per film, person and role.
pub async fn add_credit(txn: &impl ConnectionTrait, credit: NewCredit) -> DomainResult<credit::Model> {
    write::ensure_exists::<film::Entity, _>(txn, film::Column::Id, credit.film_id, "input.filmId", "film").await?;
    write::ensure_exists::<entity::person::Entity, _>(
        txn,
        entity::person::Column::Id,
        credit.person_id,
        "input.personId",
        "person",
    )
    .await?;
    let character = validate::optional_text("input.character", credit.character.as_deref(), 200)?;
    let billing_order =
        credit.billing_order.map(|order| validate::range("input.billingOrder", order, 1, 100_000)).transpose()?;
    let duplicate = credit::Entity::find()
        .filter(credit::Column::FilmId.eq(credit.film_id))
        .filter(credit::Column::PersonId.eq(credit.person_id))
        .filter(credit::Column::Role.eq(credit.role))
        .count(txn)
        .await?
        > 0;
    if duplicate {
        return Err(DomainError::conflict("input.role", "this person already has this role on this film"));
    }
    let created = credit::ActiveModel {
        film_id: Set(credit.film_id),
        person_id: Set(credit.person_id),
        role: Set(credit.role),
        character: Set(character),
        billing_order: Set(billing_order),
        created_at: Set(super::now()),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    Ok(created)
}

/// Removes credit `id`.
pub async fn remove_credit(db: &impl write::Db, id: i64) -> DomainResult<()> {
    write::delete::<credit::Entity>(db, id, "credit").await
}
