//! Sessions: starting one, refresh-token rotation with reuse detection, and ending them (logout,
//! and the changes that end every session of a user).
//!
//! A session is a family of refresh tokens: each use rotates the token; presenting a rotated token
//! again means it was stolen or replayed, and revokes the whole family.
//!
//! Ending a session is final, whatever runs beside it. Every refresh, logout and session-ending
//! change takes one lock first, the user's row (`lock_user`), and reads the tokens only once it
//! holds it. Without it, on PostgreSQL under READ COMMITTED, an `UPDATE … WHERE revoked_at IS NULL`
//! cannot see the token a concurrent refresh inserted and has not committed, and a refresh that
//! read its token before a logout committed goes on to rotate it: either way the new token outlives
//! the ended session. On SQLite every write transaction holds the database from its first
//! statement (`begin_write`), which serializes them just the same.

use chrono::{DateTime, Utc};
use entity::enums::Role;
use entity::{refresh_token, user};
use sea_orm::sea_query::{Expr, ExprTrait, IntoCondition, LockType, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QuerySelect, Set,
};

use super::{DomainError, DomainResult, Viewer};
use crate::auth::Auth;
use crate::auth::error::{AuthError, AuthResult};
use crate::auth::tokens::{self, REFRESH_TTL};

/// A signed-in session as handed to the client.
#[derive(Debug)]
pub struct Session {
    pub user: user::Model,
    pub access_token: String,
    pub refresh_token: String,
    pub expires_at: DateTime<Utc>,
}

/// User `user_id`'s row, locked until the transaction ends, so that the refreshes, logouts and
/// session-ending changes of one user run one at a time; `None` when the user is gone.
///
/// `FOR NO KEY UPDATE` on PostgreSQL: it excludes the other session changes and the account's
/// deletion (`FOR UPDATE`), but not the key-share locks that a new signature or RSVP's foreign key
/// takes, so sessions never hold up fan actions. On SQLite the write transaction already holds the
/// database.
pub(crate) async fn lock_user<C: ConnectionTrait>(txn: &C, user_id: i64) -> DomainResult<Option<user::Model>> {
    Ok(user::Entity::find_by_id(user_id).lock(LockType::NoKeyUpdate).one(txn).await?)
}

/// Starts a new session (a new refresh-token family) for `user`, whose credentials the caller has
/// checked.
pub async fn start_session<C: ConnectionTrait>(db: &C, auth: &Auth, user: user::Model) -> DomainResult<Session> {
    issue(db, auth, user, tokens::new_family_id()).await
}

/// Issues an access token and a refresh token in `family` for `user`.
async fn issue<C: ConnectionTrait>(db: &C, auth: &Auth, user: user::Model, family: String) -> DomainResult<Session> {
    let now = super::now();
    let refresh_token = tokens::new_refresh_token();
    refresh_token::ActiveModel {
        user_id: Set(user.id),
        token_hash: Set(tokens::hash_refresh_token(&refresh_token)),
        family_id: Set(family.clone()),
        expires_at: Set(now + REFRESH_TTL),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    let (access_token, expires_at) = auth.tokens.issue_access(user.id, user.role, &family, now)?;
    Ok(Session { user, access_token, refresh_token, expires_at })
}

/// The stored refresh token `presented` stands for, read without a lock: only to learn whose it
/// is, so that the transaction can take that user's lock before it reads the token again.
async fn find(db: &DatabaseConnection, presented: &str) -> DomainResult<Option<refresh_token::Model>> {
    let hash = tokens::hash_refresh_token(presented);
    Ok(refresh_token::Entity::find().filter(refresh_token::Column::TokenHash.eq(hash)).one(db).await?)
}

/// Revokes every live token of a session.
async fn revoke_family<C: ConnectionTrait>(db: &C, family: &str) -> DomainResult<()> {
    revoke_live(db, refresh_token::Column::FamilyId.eq(family)).await
}

/// Revokes the live refresh tokens `selected` picks out.
async fn revoke_live<C: ConnectionTrait>(db: &C, selected: impl IntoCondition) -> DomainResult<()> {
    refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::RevokedAt, Expr::value(super::now()))
        .filter(selected)
        .filter(refresh_token::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}

/// Trades a refresh token for a new session token pair, rotating it. A token used twice revokes
/// its whole session. A refresh that loses a race with the end of its session is `Unauthenticated`,
/// like any refresh of an ended session.
pub(crate) async fn refresh(db: &DatabaseConnection, auth: &Auth, presented: &str) -> DomainResult<Session> {
    let Some(found) = find(db, presented).await? else {
        return Err(DomainError::Unauthenticated);
    };
    let txn = super::begin_write(db).await?;
    let Some(user) = lock_user(&txn, found.user_id).await? else {
        return Err(DomainError::Unauthenticated);
    };
    // Read again under the lock: a logout or a password change that committed meanwhile shows.
    let Some(stored) = refresh_token::Entity::find_by_id(found.id).one(&txn).await? else {
        return Err(DomainError::Unauthenticated);
    };
    let now = super::now();
    if stored.revoked_at.is_some() || stored.expires_at <= now {
        return Err(DomainError::Unauthenticated);
    }
    if stored.rotated_at.is_some() {
        revoke_family(&txn, &stored.family_id).await?;
        txn.commit().await?;
        tracing::warn!(user.id = stored.user_id, "a rotated refresh token was reused: session revoked");
        return Err(DomainError::Unauthenticated);
    }
    refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::RotatedAt, Expr::value(now))
        .filter(refresh_token::Column::Id.eq(stored.id))
        .exec(&txn)
        .await?;
    let session = issue(&txn, auth, user, stored.family_id).await?;
    txn.commit().await?;
    Ok(session)
}

/// Ends the session of a refresh token, and with it the access tokens issued in it; `false` when
/// the token is unknown or already ended.
pub(crate) async fn logout(db: &DatabaseConnection, presented: &str) -> DomainResult<bool> {
    let Some(found) = find(db, presented).await? else {
        return Ok(false);
    };
    let txn = super::begin_write(db).await?;
    if lock_user(&txn, found.user_id).await?.is_none() {
        return Ok(false);
    }
    // Under the lock, the revocation below sees every token a refresh of this session committed.
    let live = refresh_token::Entity::find_by_id(found.id).one(&txn).await?.is_some_and(|row| row.revoked_at.is_none());
    if !live {
        return Ok(false);
    }
    revoke_family(&txn, &found.family_id).await?;
    txn.commit().await?;
    Ok(true)
}

/// Ends every session of `user_id`: their refresh tokens are revoked, and with them the access
/// tokens issued in those sessions. Takes the user's lock first (a no-op when the transaction
/// holds it already), so a refresh running beside it either committed before (and its token is
/// revoked here) or waits and then finds its token revoked.
pub(crate) async fn end_all_sessions<C: ConnectionTrait>(txn: &C, user_id: i64) -> DomainResult<()> {
    lock_user(txn, user_id).await?;
    revoke_live(txn, refresh_token::Column::UserId.eq(user_id)).await
}

/// The viewer of a request that presented `bearer`: the token must verify, its user must still
/// exist and its session must not have ended (one statement); the role is the one stored now, not
/// the one in the token.
pub(crate) async fn authenticate(db: &DatabaseConnection, auth: &Auth, bearer: &str) -> AuthResult<Viewer> {
    let token = auth.tokens.verify_access(bearer)?;
    // A session is live while a token of its refresh-token family is unrevoked: logout, a password
    // or role change revoke the family, and deleting the user deletes it.
    let live_session = Query::select()
        .expr(Expr::val(1))
        .from(refresh_token::Entity)
        .and_where(Expr::col((refresh_token::Entity, refresh_token::Column::FamilyId)).eq(token.session_id))
        .and_where(
            Expr::col((refresh_token::Entity, refresh_token::Column::UserId)).equals((user::Entity, user::Column::Id)),
        )
        .and_where(Expr::col((refresh_token::Entity, refresh_token::Column::RevokedAt)).is_null())
        .to_owned();
    let (user_id, role) = user::Entity::find_by_id(token.user_id)
        .select_only()
        .column(user::Column::Id)
        .column(user::Column::Role)
        .filter(Expr::exists(live_session))
        .into_tuple::<(i64, Role)>()
        .one(db)
        .await?
        .ok_or(AuthError::Unauthenticated)?;
    Ok(Viewer::user(user_id, role))
}

/// Proves that `password` is user `user_id`'s before a sensitive change. The check is a sign-in
/// attempt of `operation`: it spends the client's sign-in budget and meets the failed-login delays
/// and locks of the account's email, so a stolen access token cannot guess the password faster
/// than `login` could. A wrong password is refused naming `refused` (field and message).
pub(crate) async fn recheck_password(
    db: &sea_orm::DatabaseConnection,
    auth: &Auth,
    operation: crate::limits::sign_in::SignInOperation,
    client_ip: Option<std::net::IpAddr>,
    user_id: i64,
    password: &str,
    refused: (&str, &str),
) -> DomainResult<user::Model> {
    auth.throttle.attempt(operation, client_ip).await?;
    let user = user::Entity::find_by_id(user_id).one(db).await?.ok_or(DomainError::Unauthenticated)?;
    auth.throttle.admit_login(&user.email, client_ip).await?;
    if !auth.passwords.verify(password, Some(&user.password_hash)).await? {
        auth.throttle.record_failure(&user.email, client_ip).await;
        return Err(DomainError::invalid(refused.0, refused.1));
    }
    auth.throttle.record_success(&user.email, client_ip).await;
    Ok(user)
}
