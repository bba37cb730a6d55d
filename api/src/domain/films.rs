//! Films and their credits: what the film lists filter and sort by, and the per-film relations.

use chrono::NaiveDate;
use entity::enums::{CreditRole, FilmStatus};
use entity::{credit, film};
use sea_orm::DatabaseBackend;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter, Set,
};

use super::audit::Actor;
use super::paging::{Direction, Sort};
use super::text::contains_ignoring_case;
use super::validate::{self, Patch};
use super::write::{self, patch, set_if};
use super::{DomainError, DomainResult};

/// What a film list may be narrowed to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub(crate) struct FilmFilter {
    pub(crate) title_contains: Option<String>,
    pub(crate) status: Option<FilmStatus>,
    pub(crate) released_after: Option<NaiveDate>,
    pub(crate) released_before: Option<NaiveDate>,
}

impl FilmFilter {
    /// The filter as a WHERE condition on `backend`.
    pub(crate) fn condition(&self, backend: DatabaseBackend) -> Condition {
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
pub(crate) enum FilmOrderField {
    Title,
    ReleaseDate,
    CreatedAt,
    /// The quotes the viewer may see.
    QuoteCount,
}

/// A key of a film list's sort, for `viewer` (who sees some quotes and not others).
pub(crate) fn sort(field: FilmOrderField, direction: Direction, viewer: &super::Viewer) -> super::paging::SortKey {
    use super::paging::SortKey;
    match field {
        FilmOrderField::Title => SortKey::column(film::Column::Title, direction, false),
        FilmOrderField::ReleaseDate => SortKey::column(film::Column::ReleaseDate, direction, true),
        FilmOrderField::CreatedAt => SortKey::column(film::Column::CreatedAt, direction, false),
        FilmOrderField::QuoteCount => {
            SortKey::count("films.#quotes", super::row_counts::film_quote_count(viewer), direction)
        }
    }
}

/// The film with this slug, if any.
pub(crate) async fn by_slug<D: ConnectionTrait>(db: &D, slug: &str) -> DomainResult<Option<film::Model>> {
    Ok(film::Entity::find().filter(film::Column::Slug.eq(slug)).one(db).await?)
}

/// Sequels are listed oldest first, films without a date last.
pub(crate) const SEQUEL_SORT: Sort<film::Column> =
    Sort { column: film::Column::ReleaseDate, direction: Direction::Asc, nullable: true };

/// Credits are listed in billing order; credits without one come last.
pub(crate) const CREDIT_SORT: Sort<credit::Column> =
    Sort { column: credit::Column::BillingOrder, direction: Direction::Asc, nullable: true };

/// The credits a film's or person's credit list may be narrowed to.
pub(crate) fn credit_condition(role: Option<CreditRole>) -> Condition {
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
    /// Credits to add with the film (see `link_credits`).
    pub credits: Vec<CreditLink<super::people::PersonChanges>>,
}

impl FilmChanges {
    /// The changes an upsert makes: the input is the whole record, so an optional field it leaves
    /// out is cleared.
    fn stated(self) -> Self {
        use write::stated;
        Self {
            tagline: stated(self.tagline),
            synopsis: stated(self.synopsis),
            release_date: stated(self.release_date),
            runtime_minutes: stated(self.runtime_minutes),
            budget_usd: stated(self.budget_usd),
            box_office_usd: stated(self.box_office_usd),
            distributor: stated(self.distributor),
            sequel_of_id: stated(self.sequel_of_id),
            poster_url: stated(self.poster_url),
            ..self
        }
    }
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

/// Creates a film with its credits, in the caller's transaction (see `write::transaction`; an
/// import runs many in one). With `audit`, the people created and the credits added or changed
/// through `credits` each get their audit row (the film's own row is the caller's).
pub(crate) async fn create(
    txn: &impl ConnectionTrait,
    mut changes: FilmChanges,
    audit: Option<&Actor>,
) -> DomainResult<film::Model> {
    let credits = std::mem::take(&mut changes.credits);
    let film = insert(txn, changes).await?;
    credit_film(txn, film.id, credits, audit).await?;
    Ok(film)
}

/// Creates a film without its credits.
async fn insert(txn: &impl ConnectionTrait, changes: FilmChanges) -> DomainResult<film::Model> {
    let mut model = write::create::<film::Entity, _>(txn, changes.title.as_deref(), changes.slug.as_deref()).await?;
    validate::required("input.status", changes.status)?;
    apply(txn, &mut model, changes, None).await?;
    Ok(model.insert(txn).await?)
}

/// Changes the given fields of film `id` and adds or changes the given credits, in the caller's
/// transaction (`audit` as in `create`).
pub async fn update(
    txn: &impl ConnectionTrait,
    id: i64,
    mut changes: FilmChanges,
    audit: Option<&Actor>,
) -> DomainResult<film::Model> {
    let credits = std::mem::take(&mut changes.credits);
    let (title, slug) = (changes.title.as_deref(), changes.slug.as_deref());
    let mut model = write::edit::<film::Entity, _>(txn, id, title, slug).await?;
    apply(txn, &mut model, changes, Some(id)).await?;
    let film = write::save::<film::Entity, _>(txn, model).await?;
    credit_film(txn, id, credits, audit).await?;
    Ok(film)
}

/// Creates the film with this slug (made from the title when not given) or, when there is one,
/// makes it what `changes` says: validated like `create`, written in one statement, and an
/// optional field left out is cleared. Credits are added or changed as on update (`audit` as in
/// `create`).
pub(crate) async fn upsert(
    txn: &impl ConnectionTrait,
    mut changes: FilmChanges,
    audit: Option<&Actor>,
) -> DomainResult<write::Upserted<film::Model>> {
    let credits = std::mem::take(&mut changes.credits);
    let changes = changes.stated();
    let (mut model, slug) = write::fresh::<film::Entity>(changes.title.as_deref(), changes.slug.as_deref())?;
    validate::required("input.status", changes.status)?;
    // Only a stored film can be its own sequel; look it up only when that can be.
    let id = match changes.sequel_of_id {
        Patch::Set(_) => by_slug(txn, &slug).await?.map(|film| film.id),
        _ => None,
    };
    apply(txn, &mut model, changes, id).await?;
    let upserted = write::upsert::<film::Entity, _>(txn, model, &[], None).await?;
    credit_film(txn, upserted.row.id, credits, audit).await?;
    Ok(upserted)
}

/// Deletes film `id`; its credits go with it, and quotes, events, petitions and sequels about it
/// stay, no longer linked to a film.
pub(crate) async fn delete(db: &impl write::Db, id: i64) -> DomainResult<()> {
    write::delete::<film::Entity>(db, id, "film").await
}

/// A new credit.
#[derive(Debug)]
pub(crate) struct NewCredit {
    pub(crate) film_id: i64,
    pub(crate) person_id: i64,
    pub(crate) role: CreditRole,
    pub(crate) character: Option<String>,
    pub(crate) billing_order: Option<i32>,
}

/// The record at the other end of a credit given with a film or person: a stored one by id or
/// slug, or a new one.
#[derive(Debug)]
pub(crate) enum Ref<T> {
    Id(i64),
    Slug(String),
    Create(T),
}

/// A credit given with a film (linking a person) or with a person (linking a film).
#[derive(Debug)]
pub struct CreditLink<T> {
    pub(crate) to: Ref<T>,
    pub(crate) role: CreditRole,
    pub(crate) character: Option<String>,
    pub(crate) billing_order: Option<i32>,
}

impl<T> Ref<T> {
    /// The id of the stored row of `E` this names by id or slug (`at` is the path of the
    /// reference, e.g. `input.credits[0].person`), or the changes of a row to create.
    pub(crate) async fn stored<E: write::Named, C: ConnectionTrait>(
        self,
        txn: &C,
        at: &str,
    ) -> DomainResult<Result<i64, T>>
    where
        E::Model: Sync,
    {
        use sea_orm::QuerySelect;
        match self {
            Ref::Id(id) => {
                write::ensure_exists::<E, _>(txn, E::ID, id, &format!("{at}.id"), E::WHAT).await?;
                Ok(Ok(id))
            }
            Ref::Slug(slug) => {
                let found = E::find()
                    .select_only()
                    .column(E::ID)
                    .filter(E::SLUG.eq(&slug))
                    .into_tuple::<i64>()
                    .one(txn)
                    .await?
                    .ok_or_else(|| {
                        DomainError::invalid(format!("{at}.slug"), format!("no {} with slug `{slug}`", E::WHAT))
                    })?;
                Ok(Ok(found))
            }
            Ref::Create(changes) => Ok(Err(changes)),
        }
    }
}

/// What a credit may create at its other end: a film's changes (a credit given with a person) or
/// a person's (a credit given with a film). `ref_or_create` treats both alike.
pub(crate) trait CreditEnd: Sized {
    /// The table the record is stored in.
    type Entity: write::Named + super::audit::Audited;
    /// `film` or `person`, as a refusal names it.
    const NOUN: &'static str;
    /// The audit action of its creation, e.g. `createFilm`.
    const CREATED: &'static str;
    /// Whether it brings credits of its own (one created inside a credit may not).
    fn has_credits(&self) -> bool;
    /// Inserts it, in the caller's transaction.
    fn insert(
        self,
        txn: &impl ConnectionTrait,
    ) -> impl Future<Output = DomainResult<<Self::Entity as EntityTrait>::Model>>;
    /// The id of the inserted row.
    fn id(row: &<Self::Entity as EntityTrait>::Model) -> i64;
}

impl CreditEnd for FilmChanges {
    type Entity = film::Entity;
    const NOUN: &'static str = "film";
    const CREATED: &'static str = "createFilm";
    fn has_credits(&self) -> bool {
        !self.credits.is_empty()
    }
    async fn insert(self, txn: &impl ConnectionTrait) -> DomainResult<film::Model> {
        insert(txn, self).await
    }
    fn id(row: &film::Model) -> i64 {
        row.id
    }
}

/// The record a credit links to at its other end, created when asked; `at` is the path of the
/// reference (`input.credits[0].person`). A record created here cannot bring credits of its own;
/// with `audit` its creation is recorded (`createFilm`, `createPerson`).
pub(crate) async fn ref_or_create<T: CreditEnd>(
    txn: &impl ConnectionTrait,
    to: Ref<T>,
    at: &str,
    audit: Option<&Actor>,
) -> DomainResult<i64>
where
    <T::Entity as EntityTrait>::Model: Sync,
{
    let changes = match to.stored::<T::Entity, _>(txn, at).await? {
        Ok(id) => return Ok(id),
        Err(changes) => changes,
    };
    let at = format!("{at}.create");
    if changes.has_credits() {
        let message = format!("a {} created in a credit has no credits", T::NOUN);
        return Err(DomainError::invalid(format!("{at}.credits"), message));
    }
    let row = changes.insert(txn).await.map_err(|error| error.at(&at))?;
    if let Some(actor) = audit {
        super::audit::record(txn, actor, T::CREATED, None, Some(&row)).await?;
    }
    Ok(T::id(&row))
}

/// Adds `credits` to film `film_id` (see `link_credits`).
async fn credit_film<C: ConnectionTrait>(
    txn: &C,
    film_id: i64,
    credits: Vec<CreditLink<super::people::PersonChanges>>,
    audit: Option<&Actor>,
) -> DomainResult<()> {
    let person = |to, at: String| async move { ref_or_create(txn, to, &at, audit).await };
    link_credits(txn, credits, "person", audit, person, |person_id| (film_id, person_id)).await
}

/// Adds or changes each of the credits given with a film or person (see `link_credit`), in the
/// caller's transaction, refusing more than `validate::CREDITS_MAX`. `resolve` finds or creates the record
/// at the other end (`end` names it in error paths: `input.credits[0].person`), and `ids` pairs
/// its id with the given record's as (film id, person id).
pub(crate) async fn link_credits<T, C, F>(
    txn: &C,
    credits: Vec<CreditLink<T>>,
    end: &str,
    audit: Option<&Actor>,
    resolve: impl Fn(Ref<T>, String) -> F,
    ids: impl Fn(i64) -> (i64, i64),
) -> DomainResult<()>
where
    C: ConnectionTrait,
    F: Future<Output = DomainResult<i64>>,
{
    if credits.len() > validate::CREDITS_MAX {
        return Err(DomainError::invalid(
            "input.credits",
            format!("at most {} credits at a time", validate::CREDITS_MAX),
        ));
    }
    let mut seen = CreditKeys::new();
    for (index, link) in credits.into_iter().enumerate() {
        let at = format!("input.credits[{index}]");
        let (film_id, person_id) = ids(resolve(link.to, format!("{at}.{end}")).await?);
        let credit = NewCredit {
            film_id,
            person_id,
            role: link.role,
            character: link.character,
            billing_order: link.billing_order,
        };
        link_credit(txn, &mut seen, &at, credit, audit).await?;
    }
    Ok(())
}

/// The (film, person, role) keys of the credits a mutation has listed so far.
pub(crate) type CreditKeys = std::collections::HashSet<(i64, i64, CreditRole)>;

/// Adds credit element `at` given with a film or person, in the caller's transaction. A credit is
/// keyed by film, person and role: one that exists takes the element's character and billing
/// order, and credits not listed stay. Errors name the element (`input.credits[3].role`);
/// listing one key twice (`seen`) is a `CONFLICT`. With `audit`, an added credit is recorded as
/// `addCredit` and a changed one as `updateCredit`.
async fn link_credit(
    txn: &impl ConnectionTrait,
    seen: &mut CreditKeys,
    at: &str,
    credit: NewCredit,
    audit: Option<&Actor>,
) -> DomainResult<()> {
    if !seen.insert((credit.film_id, credit.person_id, credit.role)) {
        return Err(DomainError::conflict(format!("{at}.role"), "this credit is listed twice"));
    }
    let put = put_credit(txn, credit).await.map_err(|error| error.at(at))?;
    match (audit, put) {
        (Some(actor), Put::Added(added)) => super::audit::record(txn, actor, "addCredit", None, Some(&added)).await,
        (Some(actor), Put::Changed { before, after }) => {
            super::audit::record(txn, actor, "updateCredit", Some(&before), Some(&after)).await
        }
        _ => Ok(()),
    }
}

/// What `put_credit` did.
#[derive(Debug)]
pub(crate) enum Put {
    Added(credit::Model),
    Changed { before: credit::Model, after: credit::Model },
    Unchanged,
}

/// A credit's place in the billing, checked.
fn billing_order(order: i32) -> DomainResult<i32> {
    validate::range("input.billingOrder", order, 1, 100_000)
}

/// The character and billing order of a credit, checked.
fn credit_details(character: Option<&str>, order: Option<i32>) -> DomainResult<(Option<String>, Option<i32>)> {
    let character = validate::optional_text("input.character", character, validate::CHARACTER_MAX)?;
    Ok((character, order.map(billing_order).transpose()?))
}

/// The credit of this film, person and role (but `except`), if any.
pub(crate) async fn credit_by_key(
    txn: &impl ConnectionTrait,
    film_id: i64,
    person_id: i64,
    role: CreditRole,
    except: Option<i64>,
) -> DomainResult<Option<credit::Model>> {
    let mut query = credit::Entity::find()
        .filter(credit::Column::FilmId.eq(film_id))
        .filter(credit::Column::PersonId.eq(person_id))
        .filter(credit::Column::Role.eq(role));
    if let Some(id) = except {
        query = query.filter(credit::Column::Id.ne(id));
    }
    Ok(query.one(txn).await?)
}

/// Credits a person on a film, in the caller's transaction; one credit per film, person and role.
pub(crate) async fn add_credit(txn: &impl ConnectionTrait, credit: NewCredit) -> DomainResult<credit::Model> {
    write::ensure_exists::<film::Entity, _>(txn, film::Column::Id, credit.film_id, "input.filmId", "film").await?;
    write::ensure_exists::<entity::person::Entity, _>(
        txn,
        entity::person::Column::Id,
        credit.person_id,
        "input.personId",
        "person",
    )
    .await?;
    let (character, billing_order) = credit_details(credit.character.as_deref(), credit.billing_order)?;
    if credit_by_key(txn, credit.film_id, credit.person_id, credit.role, None).await?.is_some() {
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

/// Adds the credit or, when the person has the role on the film already, gives that credit the
/// character and billing order; says which happened.
pub(crate) async fn put_credit(txn: &impl ConnectionTrait, credit: NewCredit) -> DomainResult<Put> {
    let Some(existing) = credit_by_key(txn, credit.film_id, credit.person_id, credit.role, None).await? else {
        return Ok(Put::Added(add_credit(txn, credit).await?));
    };
    let (character, billing_order) = credit_details(credit.character.as_deref(), credit.billing_order)?;
    if existing.character == character && existing.billing_order == billing_order {
        return Ok(Put::Unchanged);
    }
    let mut model = existing.clone().into_active_model();
    model.character = Set(character);
    model.billing_order = Set(billing_order);
    Ok(Put::Changed { before: existing, after: model.update(txn).await? })
}

/// A change to a credit; only what is given changes.
#[derive(Debug, Default)]
pub(crate) struct CreditChanges {
    pub(crate) role: Option<CreditRole>,
    pub(crate) character: Patch<String>,
    pub(crate) billing_order: Patch<i32>,
}

/// Changes the given fields of credit `id`; a role the person already has on the film is a
/// `CONFLICT`.
pub(crate) async fn update_credit(
    txn: &impl ConnectionTrait,
    id: i64,
    changes: CreditChanges,
) -> DomainResult<credit::Model> {
    let existing = write::lock::<credit::Entity, _>(txn, id, "credit").await?;
    if let Some(role) = changes.role
        && credit_by_key(txn, existing.film_id, existing.person_id, role, Some(id)).await?.is_some()
    {
        return Err(DomainError::conflict("input.role", "this person already has this role on this film"));
    }
    let mut model = existing.into_active_model();
    set_if(&mut model.role, changes.role);
    patch(&mut model.character, validate::patch_text("input.character", changes.character, validate::CHARACTER_MAX)?);
    patch(&mut model.billing_order, changes.billing_order.try_map(billing_order)?);
    Ok(model.update(txn).await?)
}

/// Removes credit `id`.
pub(crate) async fn remove_credit(db: &impl write::Db, id: i64) -> DomainResult<()> {
    write::delete::<credit::Entity>(db, id, "credit").await
}
