//! People: what the people lists filter and sort by.

use entity::{credit, person};
use sea_orm::DatabaseBackend;
use sea_orm::sea_query::Query;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
};

use super::paging::{Direction, Sort};
use super::text::contains_ignoring_case;
use super::validate::{self, Patch};
use super::write::{self, patch};
use super::{DomainError, DomainResult};

/// The longest name of a person.
pub const NAME_MAX: usize = 200;

/// What a people list may be narrowed to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct PersonFilter {
    pub name_contains: Option<String>,
    /// Only people credited on this film.
    pub film_id: Option<i64>,
}

impl PersonFilter {
    /// The filter as a WHERE condition on `backend`.
    pub fn condition(&self, backend: DatabaseBackend) -> Condition {
        let mut condition = Condition::all();
        if let Some(name) = &self.name_contains {
            condition = condition.add(contains_ignoring_case(backend, person::Column::Name, name));
        }
        if let Some(film_id) = self.film_id {
            condition = condition.add(
                person::Column::Id.in_subquery(
                    Query::select()
                        .column(credit::Column::PersonId)
                        .from(credit::Entity)
                        .and_where(credit::Column::FilmId.eq(film_id))
                        .to_owned(),
                ),
            );
        }
        condition
    }
}

/// The keys a people list can be sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PersonOrderField {
    Name,
    BirthDate,
    CreatedAt,
}

/// The sort of a people list.
pub fn sort(field: PersonOrderField, direction: Direction) -> Sort<person::Column> {
    let (column, nullable) = match field {
        PersonOrderField::Name => (person::Column::Name, false),
        PersonOrderField::BirthDate => (person::Column::BirthDate, true),
        PersonOrderField::CreatedAt => (person::Column::CreatedAt, false),
    };
    Sort { column, direction, nullable }
}

/// The person with this slug, if any.
pub async fn by_slug<D: ConnectionTrait>(db: &D, slug: &str) -> DomainResult<Option<person::Model>> {
    Ok(person::Entity::find().filter(person::Column::Slug.eq(slug)).one(db).await?)
}

/// A change to a person. On create, `name` is required and a missing slug is made from it.
#[derive(Debug, Default)]
pub struct PersonChanges {
    pub slug: Option<String>,
    pub name: Option<String>,
    pub bio: Patch<String>,
    pub birth_date: Patch<chrono::NaiveDate>,
    /// An https image URL.
    pub photo_url: Patch<String>,
}

fn apply(model: &mut person::ActiveModel, changes: PersonChanges) -> DomainResult<()> {
    patch(&mut model.bio, validate::patch_text("input.bio", changes.bio, 10_000)?);
    let today = super::now().date_naive();
    patch(
        &mut model.birth_date,
        changes.birth_date.try_map(|date| {
            if date > today {
                Err(DomainError::invalid("input.birthDate", "must not be in the future"))
            } else {
                Ok(date)
            }
        })?,
    );
    patch(&mut model.photo_url, validate::patch_image_url("input.photoUrl", changes.photo_url)?);
    Ok(())
}

/// Creates a person, in the caller's transaction (see `write::transaction`; an import runs
/// many in one).
pub async fn create(txn: &impl ConnectionTrait, changes: PersonChanges) -> DomainResult<person::Model> {
    let mut model = write::create::<person::Entity, _>(txn, changes.name.as_deref(), changes.slug.as_deref()).await?;
    apply(&mut model, changes)?;
    Ok(model.insert(txn).await?)
}

/// Changes the given fields of person `id`, in the caller's transaction.
pub async fn update(txn: &impl ConnectionTrait, id: i64, changes: PersonChanges) -> DomainResult<person::Model> {
    let (name, slug) = (changes.name.as_deref(), changes.slug.as_deref());
    let mut model = write::edit::<person::Entity, _>(txn, id, name, slug).await?;
    apply(&mut model, changes)?;
    write::save::<person::Entity, _>(txn, model).await
}

/// Deletes person `id` with their credits and quotes.
pub async fn delete(db: &DatabaseConnection, id: i64) -> DomainResult<()> {
    write::delete::<person::Entity>(db, id, "person").await
}
