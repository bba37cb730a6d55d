//! Quotes: who may see which (only published ones are public; a submitter sees its own; moderators
//! see all), and what the quote lists filter and sort by.

use entity::enums::QuoteStatus;
use entity::quote;
use sea_orm::DatabaseBackend;
use sea_orm::{ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, IntoActiveModel, Set};

use super::audit::{self, Actor};
use super::validate::{self, Patch};
use super::write::{self, patch, set_if};
use super::{DomainError, DomainResult};

use super::paging::{Direction, Sort};
use super::text::contains_ignoring_case;
use crate::domain::Viewer;

/// The quotes `viewer` may see, as a WHERE condition. Every path to a quote goes through this.
pub(crate) fn visible_to(viewer: &Viewer) -> Condition {
    if viewer.is_moderator() {
        return Condition::all();
    }
    let mut condition = Condition::any().add(quote::Column::Status.eq(QuoteStatus::Published));
    if let Some(user_id) = viewer.user_id {
        condition = condition.add(quote::Column::SubmittedById.eq(user_id));
    }
    condition
}

/// What a quote list may be narrowed to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub(crate) struct QuoteFilter {
    pub(crate) person_id: Option<i64>,
    pub(crate) film_id: Option<i64>,
    pub(crate) text_contains: Option<String>,
    pub(crate) status: Option<QuoteStatus>,
}

impl QuoteFilter {
    /// The filter as a WHERE condition on `backend`, within what `viewer` may see.
    pub(crate) fn condition(&self, viewer: &Viewer, backend: DatabaseBackend) -> Condition {
        let mut condition = Condition::all().add(visible_to(viewer));
        if let Some(person_id) = self.person_id {
            condition = condition.add(quote::Column::PersonId.eq(person_id));
        }
        if let Some(film_id) = self.film_id {
            condition = condition.add(quote::Column::FilmId.eq(film_id));
        }
        if let Some(text) = &self.text_contains {
            condition = condition.add(contains_ignoring_case(backend, quote::Column::Text, text));
        }
        if let Some(status) = self.status {
            condition = condition.add(quote::Column::Status.eq(status));
        }
        condition
    }
}

/// The keys a quote list can be sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum QuoteOrderField {
    CreatedAt,
    SaidOn,
}

/// A key of a quote list's sort.
pub(crate) fn sort(field: QuoteOrderField, direction: Direction) -> super::paging::SortKey {
    use super::paging::SortKey;
    match field {
        QuoteOrderField::CreatedAt => SortKey::column(quote::Column::CreatedAt, direction, false),
        QuoteOrderField::SaidOn => SortKey::column(quote::Column::SaidOn, direction, true),
    }
}

/// Quotes under a film or a person are listed in the order they were added.
pub(crate) const RELATION_SORT: Sort<quote::Column> =
    Sort { column: quote::Column::CreatedAt, direction: Direction::Asc, nullable: false };

/// A change to a quote. On create, `text`, `person_id` and `source` are required.
#[derive(Debug, Default)]
pub(crate) struct QuoteChanges {
    pub(crate) text: Option<String>,
    pub(crate) person_id: Option<i64>,
    pub(crate) film_id: Patch<i64>,
    pub(crate) source: Option<String>,
    pub(crate) source_url: Patch<String>,
    pub(crate) said_on: Patch<chrono::NaiveDate>,
    pub(crate) context: Patch<String>,
    pub(crate) status: Option<QuoteStatus>,
}

async fn apply<C: ConnectionTrait>(db: &C, model: &mut quote::ActiveModel, changes: QuoteChanges) -> DomainResult<()> {
    if let Some(text) = &changes.text {
        model.text = Set(validate::text("input.text", text, validate::QUOTE_TEXT_MAX)?);
    }
    if let Some(person_id) = changes.person_id {
        write::ensure_exists::<entity::person::Entity, _>(
            db,
            entity::person::Column::Id,
            person_id,
            "input.personId",
            "person",
        )
        .await?;
        model.person_id = Set(person_id);
    }
    if let Patch::Set(film_id) = changes.film_id {
        write::ensure_exists::<entity::film::Entity, _>(db, entity::film::Column::Id, film_id, "input.filmId", "film")
            .await?;
    }
    patch(&mut model.film_id, changes.film_id);
    if let Some(source) = &changes.source {
        model.source = Set(validate::text("input.source", source, 300)?);
    }
    patch(&mut model.source_url, changes.source_url.try_map(|url| validate::url("input.sourceUrl", &url))?);
    let today = super::now().date_naive();
    patch(
        &mut model.said_on,
        changes.said_on.try_map(|date| {
            if date > today { Err(DomainError::invalid("input.saidOn", "must not be in the future")) } else { Ok(date) }
        })?,
    );
    patch(&mut model.context, validate::patch_text("input.context", changes.context, 2_000)?);
    set_if(&mut model.status, changes.status);
    Ok(())
}

/// Creates a quote (published unless a status is given), in the caller's transaction (see `write::transaction`; an import runs
/// many in one).
pub(crate) async fn create(
    txn: &impl ConnectionTrait,
    changes: QuoteChanges,
    by: Option<i64>,
) -> DomainResult<quote::Model> {
    validate::required("input.text", changes.text.as_ref())?;
    validate::required("input.personId", changes.person_id)?;
    validate::required("input.source", changes.source.as_ref())?;
    let mut model = write::stamped::<quote::Entity>();
    model.status = Set(QuoteStatus::Published);
    model.submitted_by_id = Set(by);
    apply(txn, &mut model, changes).await?;
    Ok(model.insert(txn).await?)
}

/// Changes the given fields of quote `id`, in the caller's transaction.
pub(crate) async fn update(txn: &impl ConnectionTrait, id: i64, changes: QuoteChanges) -> DomainResult<quote::Model> {
    let mut model = write::find::<quote::Entity, _>(txn, id).await?.into_active_model();
    apply(txn, &mut model, changes).await?;
    write::save::<quote::Entity, _>(txn, model).await
}

/// Deletes quote `id`.
pub(crate) async fn delete(db: &impl write::Db, id: i64) -> DomainResult<()> {
    write::delete::<quote::Entity>(db, id, "quote").await
}

/// A quote a fan found: stored as `PENDING` until a moderator publishes it.
pub(crate) async fn submit(
    db: &DatabaseConnection,
    user_id: i64,
    mut changes: QuoteChanges,
) -> DomainResult<quote::Model> {
    changes.status = Some(QuoteStatus::Pending);
    write::transaction(db, async |txn| {
        // The submitter's row is held first, as signing holds it (`write::hold`): a submission
        // racing the account's deletion comes before it or is `Unauthenticated` after it.
        super::write::hold(txn, user_id).await?;
        create(txn, changes, Some(user_id)).await
    })
    .await
}

/// Publishes, rejects or returns a quote to pending.
/// Recorded in the audit trail as `moderateQuote` by `actor`.
pub(crate) async fn moderate(
    db: &DatabaseConnection,
    actor: &Actor,
    id: i64,
    status: QuoteStatus,
) -> DomainResult<quote::Model> {
    let changes = QuoteChanges { status: Some(status), ..Default::default() };
    write::transaction(db, async |txn| {
        audit::updating::<quote::Entity, _>(txn, actor, "moderateQuote", id, update(txn, id, changes)).await
    })
    .await
}
