//! People: what the people lists filter and sort by.

use entity::{credit, person};
use sea_orm::DatabaseBackend;
use sea_orm::sea_query::Query;
use sea_orm::{ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait};

use super::audit::Actor;
use super::films::{self, CreditLink, FilmChanges};
use super::paging::Direction;
use super::text::contains_ignoring_case;
use super::validate::{self, Patch};
use super::write::{self, patch};
use super::{DomainError, DomainResult};

/// What a people list may be narrowed to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub(crate) struct PersonFilter {
    pub(crate) name_contains: Option<String>,
    /// Only people credited on this film.
    pub(crate) film_id: Option<i64>,
}

impl PersonFilter {
    /// The filter as a WHERE condition on `backend`.
    pub(crate) fn condition(&self, backend: DatabaseBackend) -> Condition {
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
pub(crate) enum PersonOrderField {
    Name,
    BirthDate,
    CreatedAt,
    /// The person's credits.
    CreditCount,
    /// The person's quotes the viewer may see.
    QuoteCount,
}

/// A key of a people list's sort, for `viewer` (who sees some quotes and not others).
pub(crate) fn sort(field: PersonOrderField, direction: Direction, viewer: &super::Viewer) -> super::paging::SortKey {
    use super::paging::SortKey;
    use super::row_counts::{person_credit_count, person_quote_count};
    match field {
        PersonOrderField::Name => SortKey::column(person::Column::Name, direction, false),
        PersonOrderField::BirthDate => SortKey::column(person::Column::BirthDate, direction, true),
        PersonOrderField::CreatedAt => SortKey::column(person::Column::CreatedAt, direction, false),
        PersonOrderField::CreditCount => SortKey::count("people.#credits", person_credit_count(), direction),
        PersonOrderField::QuoteCount => SortKey::count("people.#quotes", person_quote_count(viewer), direction),
    }
}

/// A change to a person. On create, `name` is required and a missing slug is made from it.
#[derive(Debug, Default)]
pub struct PersonChanges {
    pub(crate) slug: Option<String>,
    pub(crate) name: Option<String>,
    pub(crate) bio: Patch<String>,
    pub(crate) birth_date: Patch<chrono::NaiveDate>,
    /// Credits to add with the person (see `films::link_credits`).
    pub(crate) credits: Vec<CreditLink<FilmChanges>>,
    /// An https image URL.
    pub(crate) photo_url: Patch<String>,
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

/// Creates a person with their credits, in the caller's transaction (see `write::transaction`; an
/// import runs many in one). With `audit`, the films created and the credits added or changed
/// through `credits` each get their audit row (the person's own row is the caller's).
pub(crate) async fn create(
    txn: &impl ConnectionTrait,
    mut changes: PersonChanges,
    audit: Option<&Actor>,
) -> DomainResult<person::Model> {
    let credits = std::mem::take(&mut changes.credits);
    let person = insert(txn, changes).await?;
    credit_person(txn, person.id, credits, audit).await?;
    Ok(person)
}

/// Creates a person without their credits.
async fn insert(txn: &impl ConnectionTrait, changes: PersonChanges) -> DomainResult<person::Model> {
    let mut model = write::create::<person::Entity, _>(txn, changes.name.as_deref(), changes.slug.as_deref()).await?;
    apply(&mut model, changes)?;
    Ok(model.insert(txn).await?)
}

/// Changes the given fields of person `id` and adds or changes the given credits, in the
/// caller's transaction (`audit` as in `create`).
pub(crate) async fn update(
    txn: &impl ConnectionTrait,
    id: i64,
    mut changes: PersonChanges,
    audit: Option<&Actor>,
) -> DomainResult<person::Model> {
    let credits = std::mem::take(&mut changes.credits);
    let (name, slug) = (changes.name.as_deref(), changes.slug.as_deref());
    let mut model = write::edit::<person::Entity, _>(txn, id, name, slug).await?;
    apply(&mut model, changes)?;
    let person = write::save::<person::Entity, _>(txn, model).await?;
    credit_person(txn, id, credits, audit).await?;
    Ok(person)
}

/// Creates the person with this slug (made from the name when not given) or, when there is one,
/// makes them what `changes` says: validated like `create`, written in one statement, and an
/// optional field left out is cleared. Credits are added or changed as on update (`audit` as in
/// `create`).
pub(crate) async fn upsert(
    txn: &impl ConnectionTrait,
    mut changes: PersonChanges,
    audit: Option<&Actor>,
) -> DomainResult<write::Upserted<person::Model>> {
    let credits = std::mem::take(&mut changes.credits);
    let changes = PersonChanges {
        bio: write::stated(changes.bio),
        birth_date: write::stated(changes.birth_date),
        photo_url: write::stated(changes.photo_url),
        ..changes
    };
    let (mut model, _) = write::fresh::<person::Entity>(changes.name.as_deref(), changes.slug.as_deref())?;
    apply(&mut model, changes)?;
    let upserted = write::upsert::<person::Entity, _>(txn, model, &[], None).await?;
    credit_person(txn, upserted.row.id, credits, audit).await?;
    Ok(upserted)
}

impl films::CreditEnd for PersonChanges {
    type Entity = person::Entity;
    const NOUN: &'static str = "person";
    const CREATED: &'static str = "createPerson";
    fn has_credits(&self) -> bool {
        !self.credits.is_empty()
    }
    async fn insert(self, txn: &impl ConnectionTrait) -> DomainResult<person::Model> {
        insert(txn, self).await
    }
    fn id(row: &person::Model) -> i64 {
        row.id
    }
}

/// Adds `credits` to person `person_id` (see `films::link_credits`).
async fn credit_person<C: ConnectionTrait>(
    txn: &C,
    person_id: i64,
    credits: Vec<CreditLink<FilmChanges>>,
    audit: Option<&Actor>,
) -> DomainResult<()> {
    let film = |to, at: String| async move { films::ref_or_create(txn, to, &at, audit).await };
    films::link_credits(txn, credits, "film", audit, film, |film_id| (film_id, person_id)).await
}

/// Deletes person `id` with their credits and quotes.
pub(crate) async fn delete(db: &impl write::Db, id: i64) -> DomainResult<()> {
    write::delete::<person::Entity>(db, id, "person").await
}
