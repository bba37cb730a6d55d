//! Petition updates: news an admin or moderator posts to a petition. The body is Markdown, rendered
//! once when it is written (pulldown-cmark) and sanitized (ammonia: no scripts, no event handlers,
//! no `javascript:` links), so every reader gets the same safe HTML without rendering it again.
//!
//! `published_at` defaults to now. A later time schedules the update: until then only admins and
//! moderators see it (in `Petition.updates` and `node`); search and `/campaign` show it from then
//! on. The `petitionUpdates` subscription pushes an update when it is posted already published; a
//! scheduled one is not pushed when its time comes (readers find it in the list).

use chrono::{DateTime, Utc};
use entity::petition_update;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait, IntoActiveModel,
    QueryFilter, QueryOrder, QuerySelect, Set,
};

use super::notify::{Counter, Notice, Notifier};
use super::paging::{Direction, Sort};
use super::{DomainError, DomainResult, Viewer, validate, write};

/// The longest title.
pub const TITLE_MAX: usize = 200;
/// The longest body, in characters of Markdown.
pub const BODY_MAX: usize = 20_000;

/// A petition's updates are listed newest first.
pub const SORT: Sort<petition_update::Column> =
    Sort { column: petition_update::Column::PublishedAt, direction: Direction::Desc, nullable: false };

/// The updates `viewer` may see: all for admins and moderators, else only those published by now.
pub fn visible_to(viewer: &Viewer) -> Condition {
    visible(viewer.is_moderator())
}

/// `visible_to` by whether the reader is staff (admin or moderator).
pub fn visible(staff: bool) -> Condition {
    if staff { Condition::all() } else { Condition::all().add(petition_update::Column::PublishedAt.lte(super::now())) }
}

/// Markdown rendered to HTML and sanitized: raw HTML in the Markdown is filtered like the rest, and
/// links keep only safe schemes (http, https, mailto…) with `rel="noopener noreferrer"`.
pub fn render(markdown: &str) -> String {
    use pulldown_cmark::{Options, Parser, html};
    let options = Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TABLES;
    let mut unsafe_html = String::with_capacity(markdown.len() * 3 / 2);
    html::push_html(&mut unsafe_html, Parser::new_ext(markdown, options));
    ammonia::clean(&unsafe_html)
}

/// A new update, or a change to one (only the given fields change).
#[derive(Debug, Default)]
pub struct UpdateChanges {
    pub title: Option<String>,
    /// Markdown.
    pub body: Option<String>,
    pub published_at: Option<DateTime<Utc>>,
}

/// Checks and applies `changes` to `model`, rendering the body when it changes.
fn apply(model: &mut petition_update::ActiveModel, changes: UpdateChanges) -> DomainResult<()> {
    if let Some(title) = &changes.title {
        model.title = Set(validate::text("input.title", title, TITLE_MAX)?);
    }
    if let Some(body) = &changes.body {
        let body = validate::text("input.body", body, BODY_MAX)?;
        model.body_html = Set(render(&body));
        model.body_markdown = Set(body);
    }
    if let Some(published_at) = changes.published_at {
        model.published_at = Set(published_at);
    }
    Ok(())
}

/// The notice of a new update, when it is already published: its petition is the id watched, the
/// update's id both the value and the version (ids only grow).
fn notice_of(update: &petition_update::Model) -> Option<Notice> {
    (update.published_at <= super::now()).then_some(Notice {
        counter: Counter::PetitionUpdates,
        id: update.petition_id,
        count: update.id,
        version: update.id,
    })
}

/// Posts an update to petition `petition_id` as `author` (recorded in the audit trail in the same
/// transaction), and announces it to the `petitionUpdates` subscribers of every server process
/// once committed.
pub async fn post(
    db: &DatabaseConnection,
    notifier: &Notifier,
    author: &super::audit::Actor,
    petition_id: i64,
    changes: UpdateChanges,
) -> DomainResult<petition_update::Model> {
    validate::required("input.title", changes.title.as_ref())?;
    validate::required("input.body", changes.body.as_ref())?;
    let now = super::now();
    let mut model = petition_update::ActiveModel {
        petition_id: Set(petition_id),
        author_id: Set(author.user_id),
        published_at: Set(now),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    apply(&mut model, changes)?;
    let gate = notifier.write_gate().await;
    let (update, notice) = write::transaction(db, async |txn| {
        // Under the petition's row lock, a petition's updates commit in id order, so a subscriber
        // that has been sent update N never later finds a smaller id committed.
        write::lock::<entity::petition::Entity, _>(txn, petition_id, "petition").await.map_err(
            |error| match error {
                DomainError::NotFound(_) => DomainError::invalid("petitionId", "no petition with this ID"),
                other => other,
            },
        )?;
        let update = model.insert(txn).await?;
        super::audit::record(txn, author, "postPetitionUpdate", None, Some(&update)).await?;
        let notice = notice_of(&update);
        if let Some(notice) = notice {
            notifier.in_transaction(txn, notice).await?;
        }
        Ok((update, notice))
    })
    .await?;
    notifier.committed(notice);
    drop(gate);
    Ok(update)
}

/// Changes the given fields of update `id` (not announced again), in the caller's transaction.
pub async fn edit(txn: &impl ConnectionTrait, id: i64, changes: UpdateChanges) -> DomainResult<petition_update::Model> {
    let existing = write::lock::<petition_update::Entity, _>(txn, id, "petition update").await?;
    let mut model = existing.into_active_model();
    apply(&mut model, changes)?;
    model.updated_at = Set(super::now());
    Ok(model.update(txn).await?)
}

/// Deletes update `id`.
pub async fn delete(db: &impl write::Db, id: i64) -> DomainResult<()> {
    write::delete::<petition_update::Entity>(db, id, "petition update").await
}

/// The id of the newest update of `petition_id` (0 when there is none): a new subscriber is sent
/// only updates after it.
pub async fn latest_id<C: ConnectionTrait>(db: &C, petition_id: i64) -> DomainResult<i64> {
    let latest: Option<i64> = petition_update::Entity::find()
        .select_only()
        .column(petition_update::Column::Id)
        .filter(petition_update::Column::PetitionId.eq(petition_id))
        .order_by_desc(petition_update::Column::Id)
        .limit(1)
        .into_tuple()
        .one(db)
        .await?;
    Ok(latest.unwrap_or(0))
}

/// The published updates of `petition_id` after `after_id`, oldest first: what a subscriber has not
/// been sent yet.
pub async fn published_after<C: ConnectionTrait>(
    db: &C,
    petition_id: i64,
    after_id: i64,
) -> DomainResult<Vec<petition_update::Model>> {
    Ok(petition_update::Entity::find()
        .filter(petition_update::Column::PetitionId.eq(petition_id))
        .filter(petition_update::Column::Id.gt(after_id))
        .filter(visible(false))
        .order_by_asc(petition_update::Column::Id)
        .limit(100)
        .all(db)
        .await?)
}
