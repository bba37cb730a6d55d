//! Petition updates: news an admin or moderator posts to a petition. The body is Markdown, rendered
//! once when it is written (pulldown-cmark) and sanitized (ammonia: no scripts, no event handlers,
//! no `javascript:` links), so every reader gets the same safe HTML without rendering it again.
//!
//! `published_at` defaults to now. A later time schedules the update: until then only admins and
//! moderators see it (in `Petition.updates` and `node`); search and `/campaign` show it from then
//! on. The `petitionUpdates` subscription pushes each update once fans see it: posting one, or
//! changing when one is published, sends a notice (see `notify`), and a subscriber's `Feed` says
//! which updates it has yet to send and when the next scheduled one falls due.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use entity::petition_update;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait, IntoActiveModel,
    QueryFilter, QueryOrder, QuerySelect, Set,
};

use super::notify::{Counter, Notice, Notifier};
use super::paging::{Direction, Sort};
use super::{DomainError, DomainResult, Viewer, validate, write};

/// A petition's updates are listed newest first.
pub(crate) const SORT: Sort<petition_update::Column> =
    Sort { column: petition_update::Column::PublishedAt, direction: Direction::Desc, nullable: false };

/// The updates `viewer` may see: all for admins and moderators, else only those published by now.
pub(crate) fn visible_to(viewer: &Viewer) -> Condition {
    visible(viewer.is_moderator())
}

/// `visible_to` by whether the reader is staff (admin or moderator).
pub(crate) fn visible(staff: bool) -> Condition {
    if staff { Condition::all() } else { Condition::all().add(petition_update::Column::PublishedAt.lte(super::now())) }
}

/// Markdown rendered to HTML and sanitized: raw HTML in the Markdown is filtered like the rest, and
/// links keep only safe schemes (http, https, mailto…) with `rel="noopener noreferrer"`.
pub(crate) fn render(markdown: &str) -> String {
    use pulldown_cmark::{Options, Parser, html};
    let options = Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TABLES;
    let mut unsafe_html = String::with_capacity(markdown.len() * 3 / 2);
    html::push_html(&mut unsafe_html, Parser::new_ext(markdown, options));
    ammonia::clean(&unsafe_html)
}

/// A new update, or a change to one (only the given fields change).
#[derive(Debug, Default)]
pub(crate) struct UpdateChanges {
    pub(crate) title: Option<String>,
    /// Markdown.
    pub(crate) body: Option<String>,
    pub(crate) published_at: Option<DateTime<Utc>>,
}

/// Checks and applies `changes` to `model`, rendering the body when it changes.
fn apply(model: &mut petition_update::ActiveModel, changes: UpdateChanges) -> DomainResult<()> {
    if let Some(title) = &changes.title {
        model.title = Set(validate::text("input.title", title, validate::UPDATE_TITLE_MAX)?);
    }
    if let Some(body) = &changes.body {
        let body = validate::text("input.body", body, validate::UPDATE_BODY_MAX)?;
        model.body_html = Set(render(&body));
        model.body_markdown = Set(body);
    }
    if let Some(published_at) = changes.published_at {
        model.published_at = Set(published_at);
    }
    Ok(())
}

/// The notice that `update` was posted or its publication time changed: its petition is the id
/// watched (subscribers then read their `Feed`), the update's id the value and version.
fn notice_of(update: &petition_update::Model) -> Notice {
    Notice { counter: Counter::PetitionUpdates, id: update.petition_id, count: update.id, version: update.id }
}

/// Posts an update to petition `petition_id` as `author` (recorded in the audit trail in the same
/// transaction), and announces it to the `petitionUpdates` subscribers of every server process
/// once committed, scheduled or not (a scheduled one tells them when to look again).
pub(crate) async fn post(
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
        notifier.in_transaction(txn, notice).await?;
        Ok((update, notice))
    })
    .await?;
    notifier.committed(Some(notice));
    drop(gate);
    Ok(update)
}

/// Changes the given fields of update `id`, in the caller's transaction. When its publication
/// time changes, the notice is queued in `txn` and returned: the caller hands it to
/// `Notifier::committed` once `txn` is committed (under `Notifier::write_gate`, like `post`).
pub(crate) async fn edit(
    txn: &impl ConnectionTrait,
    notifier: &Notifier,
    id: i64,
    changes: UpdateChanges,
) -> DomainResult<(petition_update::Model, Option<Notice>)> {
    let existing = write::lock::<petition_update::Entity, _>(txn, id, "petition update").await?;
    let published_at = existing.published_at;
    let mut model = existing.into_active_model();
    apply(&mut model, changes)?;
    model.updated_at = Set(super::now());
    let update = model.update(txn).await?;
    let notice = (update.published_at != published_at).then(|| notice_of(&update));
    if let Some(notice) = notice {
        notifier.in_transaction(txn, notice).await?;
    }
    Ok((update, notice))
}

/// Deletes update `id`.
pub(crate) async fn delete(db: &impl write::Db, id: i64) -> DomainResult<()> {
    write::delete::<petition_update::Entity>(db, id, "petition update").await
}

/// Updates read per statement when a feed reads those it has not seen.
const FEED_PAGE: u64 = 500;

/// Scheduled ids per statement when a feed reads them again: far below both databases'
/// bound-parameter limits.
const SCHEDULED_PER_QUERY: usize = 5_000;

/// A `petitionUpdates` subscriber's place in one petition's updates: each update that fans come to
/// see after the subscription began is sent once, whenever that happens (posted, its scheduled
/// time reached, or edited to an earlier time), and none that fans saw before it began.
///
/// The place is not a (publication time, id) cursor: an update posted or edited to a time before
/// the last one sent (`publishedAt` in the past, or a client clock behind the server's) would fall
/// behind such a cursor and never be sent. Instead the feed keeps the newest id it has read, and
/// the updates at or below it still scheduled when last read, by id; each read looks at those and
/// at anything newer.
#[derive(Debug)]
pub(crate) struct Feed {
    petition_id: i64,
    /// Every update with a larger id is new to this feed. `post` inserts under the petition's row
    /// lock, so a petition's updates commit in id order: none with a smaller id commits later.
    seen_id: i64,
    /// Updates at or below `seen_id` that were scheduled when last read, not sent yet.
    scheduled: BTreeSet<i64>,
}

/// What one read of a feed found.
#[derive(Debug, Default)]
pub(crate) struct FeedRead {
    /// The updates fans now see that the feed had not sent, by publication time, then id.
    pub(crate) published: Vec<petition_update::Model>,
    /// When the earliest update still scheduled falls due, if any.
    pub(crate) next_due: Option<DateTime<Utc>>,
}

impl Feed {
    /// A feed of `petition_id` after the updates fans see now: those scheduled for later are sent
    /// when they fall due (the second value says when the first does).
    pub(crate) async fn start<C: ConnectionTrait>(
        db: &C,
        petition_id: i64,
    ) -> DomainResult<(Self, Option<DateTime<Utc>>)> {
        let now = super::now();
        let seen_id: Option<i64> = petition_update::Entity::find()
            .select_only()
            .column(petition_update::Column::Id)
            .filter(petition_update::Column::PetitionId.eq(petition_id))
            .order_by_desc(petition_update::Column::Id)
            .limit(1)
            .into_tuple()
            .one(db)
            .await?;
        let scheduled: Vec<(i64, DateTime<Utc>)> = petition_update::Entity::find()
            .select_only()
            .columns([petition_update::Column::Id, petition_update::Column::PublishedAt])
            .filter(petition_update::Column::PetitionId.eq(petition_id))
            // Any newer one is read as new: an update read both ways would be sent twice.
            .filter(petition_update::Column::Id.lte(seen_id.unwrap_or(0)))
            .filter(petition_update::Column::PublishedAt.gt(now))
            .into_tuple()
            .all(db)
            .await?;
        let next_due = scheduled.iter().map(|(_, at)| *at).min();
        let scheduled = scheduled.into_iter().map(|(id, _)| id).collect();
        Ok((Self { petition_id, seen_id: seen_id.unwrap_or(0), scheduled }, next_due))
    }

    /// Reads what fans see now that this feed has not sent, and moves past it: the caller sends
    /// `published` and looks again at `next_due`, or when a notice names the petition. A failed
    /// read moves nothing.
    pub(crate) async fn read<C: ConnectionTrait>(&mut self, db: &C) -> DomainResult<FeedRead> {
        let now = super::now();
        let mut rows = Vec::new();
        for ids in self.scheduled.iter().copied().collect::<Vec<_>>().chunks(SCHEDULED_PER_QUERY) {
            rows.extend(
                petition_update::Entity::find()
                    .filter(petition_update::Column::Id.is_in(ids.iter().copied()))
                    .all(db)
                    .await?,
            );
        }
        let mut seen_id = self.seen_id;
        loop {
            let page = petition_update::Entity::find()
                .filter(petition_update::Column::PetitionId.eq(self.petition_id))
                .filter(petition_update::Column::Id.gt(seen_id))
                .order_by_asc(petition_update::Column::Id)
                .limit(FEED_PAGE)
                .all(db)
                .await?;
            let full = page.len() as u64 == FEED_PAGE;
            seen_id = page.last().map_or(seen_id, |update| update.id);
            rows.extend(page);
            if !full {
                break;
            }
        }
        // Scheduled ones that are gone (deleted) drop out here.
        let (mut published, scheduled): (Vec<_>, Vec<_>) = rows.into_iter().partition(|row| row.published_at <= now);
        published.sort_by_key(|update| (update.published_at, update.id));
        let next_due = scheduled.iter().map(|update| update.published_at).min();
        self.seen_id = seen_id;
        self.scheduled = scheduled.into_iter().map(|update| update.id).collect();
        Ok(FeedRead { published, next_due })
    }
}
