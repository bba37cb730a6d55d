//! Users as admins and the users themselves see them: the admins' user list (filter and order), the
//! viewer's own lists, a profile change, deleting an account with what goes with it, and the export
//! of every row that names a user.
//!
//! Deleting an account moves the counters its signatures and RSVPs held, under the same row locks
//! and with the same notices as `withdrawSignature` and `cancelRsvp`, so live subscribers see it.

use std::collections::HashMap;
use std::net::IpAddr;

use chrono::{DateTime, Utc};
use entity::enums::{Role, RsvpStatus};
use entity::{event, petition, petition_update, quote, refresh_token, rsvp, signature, user};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseBackend, DatabaseConnection, EntityTrait,
    IntoActiveModel, QueryFilter, QueryOrder, Set,
};
use serde_json::{Value, json};

use super::audit::{self, Actor};

use super::counters;
use super::notify::{Counter, Notifier};
use super::paging::{Direction, Sort};
use super::text::contains_ignoring_case;
use super::{DomainError, DomainResult, validate, write};
use crate::auth::Auth;
use crate::limits::sign_in::SignInOperation;

/// What the admins' user list may be narrowed to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub(crate) struct UserFilter {
    pub(crate) role: Option<Role>,
    pub(crate) email_contains: Option<String>,
    pub(crate) created_after: Option<DateTime<Utc>>,
}

impl UserFilter {
    /// The filter as a WHERE condition on `backend`.
    pub(crate) fn condition(&self, backend: DatabaseBackend) -> Condition {
        let mut condition = Condition::all();
        if let Some(role) = self.role {
            condition = condition.add(user::Column::Role.eq(role));
        }
        if let Some(email) = &self.email_contains {
            condition = condition.add(contains_ignoring_case(backend, user::Column::Email, email));
        }
        if let Some(after) = self.created_after {
            condition = condition.add(user::Column::CreatedAt.gt(after));
        }
        condition
    }
}

/// The keys the user list can be sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum UserOrderField {
    CreatedAt,
    Email,
    DisplayName,
    LastLoginAt,
}

/// A key of the user list's sort; users who never logged in come last by `LAST_LOGIN_AT`.
pub(crate) fn sort(field: UserOrderField, direction: Direction) -> super::paging::SortKey {
    let (column, nullable) = match field {
        UserOrderField::CreatedAt => (user::Column::CreatedAt, false),
        UserOrderField::Email => (user::Column::Email, false),
        UserOrderField::DisplayName => (user::Column::DisplayName, false),
        UserOrderField::LastLoginAt => (user::Column::LastLoginAt, true),
    };
    super::paging::SortKey::column(column, direction, nullable)
}

/// A user's own signatures, newest first.
pub(crate) const OWN_SIGNATURE_SORT: Sort<signature::Column> =
    Sort { column: signature::Column::CreatedAt, direction: Direction::Desc, nullable: false };

/// A user's own RSVPs, newest first.
pub(crate) const OWN_RSVP_SORT: Sort<rsvp::Column> =
    Sort { column: rsvp::Column::CreatedAt, direction: Direction::Desc, nullable: false };

/// A user's submitted quotes, newest first.
pub(crate) const OWN_QUOTE_SORT: Sort<quote::Column> =
    Sort { column: quote::Column::CreatedAt, direction: Direction::Desc, nullable: false };

/// A change to the viewer's profile: only what is given changes.
#[derive(Debug, Default)]
pub(crate) struct ProfileChanges {
    pub(crate) display_name: Option<String>,
}

/// Changes the given fields of user `user_id`'s profile.
pub(crate) async fn update_profile(
    db: &DatabaseConnection,
    user_id: i64,
    changes: ProfileChanges,
) -> DomainResult<user::Model> {
    let display_name = changes
        .display_name
        .map(|name| validate::text("input.displayName", &name, validate::DISPLAY_NAME_MAX))
        .transpose()?;
    let Some(display_name) = display_name else {
        return user::Entity::find_by_id(user_id).one(db).await?.ok_or(DomainError::Unauthenticated);
    };
    let txn = super::begin_write(db).await?;
    let user = user::Entity::find_by_id(user_id).one(&txn).await?.ok_or(DomainError::Unauthenticated)?;
    let mut model = user.into_active_model();
    model.display_name = Set(display_name);
    model.updated_at = Set(super::now());
    let user = model.update(&txn).await?;
    txn.commit().await?;
    Ok(user)
}

/// Deletes the account of `user_id` once `password` is proven to be theirs: their signatures and
/// RSVPs (moving the counters they held), their sessions and the account itself; quotes they
/// submitted and events they created stay, no longer linked to anyone. The password check counts
/// as a sign-in attempt: it spends the address's sign-in budget and meets the failed-login delays
/// and locks of the account's email.
pub(crate) async fn delete_account(
    db: &DatabaseConnection,
    auth: &Auth,
    notifier: &Notifier,
    actor: &Actor,
    client_ip: Option<IpAddr>,
    user_id: i64,
    password: &str,
) -> DomainResult<()> {
    let refused = ("password", "is not your password");
    super::sessions::recheck_password(db, auth, SignInOperation::DeleteAccount, client_ip, user_id, password, refused)
        .await?;
    super::retrying(|| delete_account_once(db, notifier, actor, user_id)).await
}

/// Rows locked per statement: far below both databases' bound-parameter limits.
const IDS_PER_LOCK: usize = 5_000;

/// One attempt of `delete_account`'s writes, in one transaction.
async fn delete_account_once(
    db: &DatabaseConnection,
    notifier: &Notifier,
    actor: &Actor,
    user_id: i64,
) -> DomainResult<()> {
    let gate = notifier.write_gate().await;
    let txn = super::begin_write(db).await?;
    // The user's row first: on PostgreSQL a signature or RSVP change of theirs (which holds this
    // row before anything else, see `hold`) is waited for, and a new one waits until the account is
    // gone and then finds it gone, so the rows read next are all there are and stay so.
    let user = write::lock::<user::Entity, _>(&txn, user_id, "user").await.map_err(|error| match error {
        DomainError::NotFound(_) => DomainError::Unauthenticated,
        other => other,
    })?;
    // Recorded while the account exists (the row names it as actor until the deletion below sets
    // that to null), without the address and name: they go with the account.
    let mut row = audit::row(&user);
    row.retain(|key, _| !matches!(key.as_str(), "email" | "displayName"));
    audit::record_raw(&txn, actor, "deleteAccount", "User", Some(user_id), Some(row), None).await?;
    let signed: Vec<i64> = signature::Entity::find()
        .filter(signature::Column::UserId.eq(user_id))
        .order_by_asc(signature::Column::PetitionId)
        .all(&txn)
        .await?
        .into_iter()
        .map(|row| row.petition_id)
        .collect();
    let answered: Vec<rsvp::Model> = rsvp::Entity::find()
        .filter(rsvp::Column::UserId.eq(user_id))
        .order_by_asc(rsvp::Column::EventId)
        .all(&txn)
        .await?;
    // Each counter under its row lock, as signing and RSVPs take it (`write::lock`, here a batch of
    // rows at once), always in id order, so two deletions never wait on each other in a cycle. The
    // user's own signing and RSVPs took the user's row before any petition's or event's, so they
    // cannot hold one of these while waiting for the user.
    for ids in signed.chunks(IDS_PER_LOCK) {
        write::lock_all::<petition::Entity, _>(&txn, petition::Column::Id, ids).await?;
    }
    let going: Vec<i64> =
        answered.iter().filter(|rsvp| rsvp.status == RsvpStatus::Going).map(|rsvp| rsvp.event_id).collect();
    for ids in going.chunks(IDS_PER_LOCK) {
        write::lock_all::<event::Entity, _>(&txn, event::Column::Id, ids).await?;
    }
    signature::Entity::delete_many().filter(signature::Column::UserId.eq(user_id)).exec(&txn).await?;
    rsvp::Entity::delete_many().filter(rsvp::Column::UserId.eq(user_id)).exec(&txn).await?;
    // Each counter given back in one of its slots (see `counters`), under the row lock taken above.
    for petition_id in &signed {
        counters::SIGNATURES.add(&txn, *petition_id, -1).await?;
    }
    for event_id in &going {
        counters::GOING.add(&txn, *event_id, -1).await?;
    }
    // What the foreign keys would do too, said here so docs/API.md's table of what a delete takes is the code's.
    refresh_token::Entity::delete_many().filter(refresh_token::Column::UserId.eq(user_id)).exec(&txn).await?;
    quote::Entity::update_many()
        .col_expr(quote::Column::SubmittedById, Expr::value(Option::<i64>::None))
        .filter(quote::Column::SubmittedById.eq(user_id))
        .exec(&txn)
        .await?;
    event::Entity::update_many()
        .col_expr(event::Column::CreatedById, Expr::value(Option::<i64>::None))
        .filter(event::Column::CreatedById.eq(user_id))
        .exec(&txn)
        .await?;
    user::Entity::delete_by_id(user_id).exec(&txn).await?;
    txn.commit().await?;
    drop(gate);
    for petition_id in signed {
        notifier.moved(Counter::Petition, petition_id);
    }
    for event_id in going {
        notifier.moved(Counter::Event, event_id);
    }
    Ok(())
}

/// The rows of `E` whose `owner` column is `user_id`, newest first (by `order`: the creation time,
/// then the id, both descending), for `export`.
async fn owned<E: EntityTrait, D: ConnectionTrait>(
    db: &D,
    owner: E::Column,
    user_id: i64,
    order: [E::Column; 2],
) -> DomainResult<Vec<E::Model>> {
    let [created, id] = order;
    Ok(E::find().filter(owner.eq(user_id)).order_by_desc(created).order_by_desc(id).all(db).await?)
}

/// The rows of `E` whose `id` column is one of `ids`, keyed by `key` (their id), for `export`.
async fn by_id<E: EntityTrait, D: ConnectionTrait>(
    db: &D,
    id: E::Column,
    ids: impl IntoIterator<Item = i64>,
    key: impl Fn(&E::Model) -> i64,
) -> DomainResult<HashMap<i64, E::Model>> {
    Ok(E::find().filter(id.is_in(ids)).all(db).await?.into_iter().map(|row| (key(&row), row)).collect())
}

/// Every row that names user `user_id`, as one JSON document (the right of access). `global_id`
/// turns a type name and a row id into the ID the API shows. Password hashes and session token
/// hashes are secrets of the server, not data about the user, and are left out.
pub(crate) async fn export<D: ConnectionTrait>(
    db: &D,
    user_id: i64,
    global_id: impl Fn(&'static str, i64) -> String,
) -> DomainResult<Value> {
    let user = user::Entity::find_by_id(user_id).one(db).await?.ok_or(DomainError::Unauthenticated)?;
    let signatures = owned::<signature::Entity, _>(
        db,
        signature::Column::UserId,
        user_id,
        [signature::Column::CreatedAt, signature::Column::Id],
    )
    .await?;
    let rsvps =
        owned::<rsvp::Entity, _>(db, rsvp::Column::UserId, user_id, [rsvp::Column::CreatedAt, rsvp::Column::Id])
            .await?;
    let quotes = owned::<quote::Entity, _>(
        db,
        quote::Column::SubmittedById,
        user_id,
        [quote::Column::CreatedAt, quote::Column::Id],
    )
    .await?;
    let events = owned::<event::Entity, _>(
        db,
        event::Column::CreatedById,
        user_id,
        [event::Column::CreatedAt, event::Column::Id],
    )
    .await?;
    let updates = owned::<petition_update::Entity, _>(
        db,
        petition_update::Column::AuthorId,
        user_id,
        [petition_update::Column::CreatedAt, petition_update::Column::Id],
    )
    .await?;
    let sessions = owned::<refresh_token::Entity, _>(
        db,
        refresh_token::Column::UserId,
        user_id,
        [refresh_token::Column::CreatedAt, refresh_token::Column::Id],
    )
    .await?;
    let petitions =
        by_id::<petition::Entity, _>(db, petition::Column::Id, signatures.iter().map(|row| row.petition_id), |row| {
            row.id
        })
        .await?;
    let rsvp_events =
        by_id::<event::Entity, _>(db, event::Column::Id, rsvps.iter().map(|row| row.event_id), |row| row.id).await?;
    let id = &global_id;
    Ok(json!({
        "exportedAt": super::now(),
        "user": {
            "id": id("User", user.id),
            "email": user.email,
            "displayName": user.display_name,
            "role": user.role,
            "emailVerified": user.email_verified,
            "createdAt": user.created_at,
            "updatedAt": user.updated_at,
            "lastLoginAt": user.last_login_at,
        },
        "signatures": signatures.into_iter().map(|row| json!({
            "id": id("Signature", row.id),
            "petition": petitions.get(&row.petition_id).map(|p| json!({ "id": id("Petition", p.id), "slug": p.slug, "title": p.title })),
            "comment": row.comment,
            "country": row.country,
            "public": row.public,
            "createdAt": row.created_at,
        })).collect::<Vec<_>>(),
        "rsvps": rsvps.into_iter().map(|row| json!({
            "id": id("Rsvp", row.id),
            "event": rsvp_events.get(&row.event_id).map(|e| json!({ "id": id("Event", e.id), "slug": e.slug, "title": e.title })),
            "status": row.status,
            "createdAt": row.created_at,
            "updatedAt": row.updated_at,
        })).collect::<Vec<_>>(),
        "submittedQuotes": quotes.into_iter().map(|row| json!({
            "id": id("Quote", row.id),
            "text": row.text,
            "person": id("Person", row.person_id),
            "film": row.film_id.map(|film| id("Film", film)),
            "source": row.source,
            "sourceUrl": row.source_url,
            "saidOn": row.said_on,
            "context": row.context,
            "status": row.status,
            "createdAt": row.created_at,
            "updatedAt": row.updated_at,
        })).collect::<Vec<_>>(),
        "createdEvents": events.into_iter().map(|row| json!({
            "id": id("Event", row.id),
            "slug": row.slug,
            "title": row.title,
            "createdAt": row.created_at,
        })).collect::<Vec<_>>(),
        "postedPetitionUpdates": updates.into_iter().map(|row| json!({
            "id": id("PetitionUpdate", row.id),
            "petition": id("Petition", row.petition_id),
            "title": row.title,
            "body": row.body_markdown,
            "publishedAt": row.published_at,
            "createdAt": row.created_at,
            "updatedAt": row.updated_at,
        })).collect::<Vec<_>>(),
        "sessions": sessions.into_iter().map(|row| json!({
            "createdAt": row.created_at,
            "expiresAt": row.expires_at,
            "rotatedAt": row.rotated_at,
            "revokedAt": row.revoked_at,
        })).collect::<Vec<_>>(),
    }))
}
