//! Accounts and sessions: registration, login, refresh-token rotation with reuse detection,
//! logout, password changes, roles.
//!
//! A session is a family of refresh tokens: each use rotates the token; presenting a rotated token
//! again means it was stolen or replayed, and revokes the whole family.

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use entity::enums::Role;
use entity::{refresh_token, user};
use sea_orm::TransactionTrait;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, IntoActiveModel, PaginatorTrait,
    QueryFilter, QuerySelect, Set,
};

use super::audit::{self, Actor};
use super::{DomainError, DomainResult, validate};
use crate::auth::password::check_strength;
use crate::auth::throttle::SignInOperation;
use crate::auth::tokens::{self, REFRESH_TTL};
use crate::auth::{Auth, Viewer};
use crate::mail::Mailer;

/// A signed-in session as handed to the client.
#[derive(Debug)]
pub struct Session {
    pub user: user::Model,
    pub access_token: String,
    pub refresh_token: String,
    pub expires_at: DateTime<Utc>,
}

/// Trims and lower-cases an email and checks its shape.
pub fn normalize_email(email: &str, field: &str) -> DomainResult<String> {
    let email = email.trim().to_lowercase();
    let well_formed = email.len() <= 254
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && !domain.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !domain.contains('@')
                && !email.chars().any(char::is_whitespace)
        });
    if !well_formed {
        return Err(DomainError::invalid(field, "must be an email address"));
    }
    Ok(email)
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

/// What a new account is made of.
#[derive(Debug)]
pub struct Registration {
    pub email: String,
    pub password: String,
    pub display_name: String,
}

/// Creates an account with `role` (no session) from the command line: no one signed in, so the
/// audit row (`createUser`, in the same transaction) has no actor.
pub async fn create_user(
    db: &DatabaseConnection,
    auth: &Auth,
    registration: Registration,
    role: Role,
) -> DomainResult<user::Model> {
    let account = new_account(db, auth, registration).await?;
    super::write::transaction(db, async |txn| {
        let user = insert_user(txn, account, role).await?;
        audit::created(txn, &audit::Actor::default(), "createUser", user).await
    })
    .await
}

/// A new account, checked, with its password hashed: everything slow happens before any
/// transaction begins.
struct NewAccount {
    email: String,
    display_name: String,
    password_hash: String,
}

async fn new_account(db: &DatabaseConnection, auth: &Auth, registration: Registration) -> DomainResult<NewAccount> {
    let email = normalize_email(&registration.email, "input.email")?;
    let display_name = validate::text("input.displayName", &registration.display_name, 100)?;
    check_strength(&registration.password, "input.password")?;
    if user::Entity::find().filter(user::Column::Email.eq(&email)).count(db).await? > 0 {
        return Err(DomainError::conflict("input.email", "an account with this email already exists"));
    }
    let password_hash = auth.passwords.hash(&registration.password).await?;
    Ok(NewAccount { email, display_name, password_hash })
}

/// Inserts a checked account; a race for the same email is the same `CONFLICT`.
async fn insert_user<C: ConnectionTrait>(db: &C, account: NewAccount, role: Role) -> DomainResult<user::Model> {
    let now = super::now();
    user::ActiveModel {
        email: Set(account.email),
        display_name: Set(account.display_name),
        password_hash: Set(account.password_hash),
        role: Set(role),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await
    .map_err(|error| match DomainError::from(error) {
        DomainError::Conflict { .. } => {
            DomainError::conflict("input.email", "an account with this email already exists")
        }
        other => other,
    })
}

/// Registers a fan, signs them in, and mails them a link to verify their address.
pub async fn register(
    db: &DatabaseConnection,
    auth: &Auth,
    mailer: &Mailer,
    client_ip: Option<IpAddr>,
    registration: Registration,
) -> DomainResult<Session> {
    auth.throttle.attempt(SignInOperation::Register, client_ip).await?;
    let account = new_account(db, auth, registration).await?;
    // The account and its first session commit together: a registration that fails stores
    // nothing, so trying it again is safe.
    let txn = db.begin().await?;
    let user = insert_user(&txn, account, Role::Fan).await?;
    let session = start_session(&txn, auth, user).await?;
    txn.commit().await?;
    super::account_mail::welcome(db, mailer, &session.user).await;
    Ok(session)
}

/// Signs in with email and password, noting the time as the user's last login. An unknown email costs the same time as a wrong password
/// and gets the same error, and is slowed down and locked after failures just like a known one.
pub async fn login(
    db: &DatabaseConnection,
    auth: &Auth,
    actor: &Actor,
    client_ip: Option<IpAddr>,
    email: &str,
    password: &str,
) -> DomainResult<Session> {
    auth.throttle.attempt(SignInOperation::Login, client_ip).await?;
    let normalized = normalize_email(email, "input.email").ok();
    let lock_key = normalized.clone().unwrap_or_else(|| email.trim().to_lowercase());
    auth.throttle.admit_login(&lock_key, client_ip).await?;
    let user = match normalized {
        Some(email) => user::Entity::find().filter(user::Column::Email.eq(email)).one(db).await?,
        None => None,
    };
    let password_ok = auth.passwords.verify(password, user.as_ref().map(|user| user.password_hash.as_str())).await?;
    match user {
        Some(mut user) if password_ok => {
            auth.throttle.record_success(&lock_key, client_ip).await;
            let before = user.clone();
            user.last_login_at = Some(super::now());
            // The sign-in, its session and its audit row (the user as actor) commit together.
            super::write::transaction(db, async |txn| {
                user::Entity::update_many()
                    .col_expr(user::Column::LastLoginAt, Expr::value(user.last_login_at))
                    .filter(user::Column::Id.eq(user.id))
                    .exec(txn)
                    .await?;
                audit::record(txn, &actor.as_user(user.id), "signIn", Some(&before), Some(&user)).await?;
                start_session(txn, auth, user).await
            })
            .await
        }
        _ => {
            auth.throttle.record_failure(&lock_key, client_ip).await;
            Err(DomainError::WrongCredentials)
        }
    }
}

/// Revokes every live token of a session.
async fn revoke_family<C: ConnectionTrait>(db: &C, family: &str) -> DomainResult<()> {
    refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::RevokedAt, Expr::value(super::now()))
        .filter(refresh_token::Column::FamilyId.eq(family))
        .filter(refresh_token::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}

/// Trades a refresh token for a new session token pair, rotating it. A token used twice revokes
/// its whole session.
pub async fn refresh(db: &DatabaseConnection, auth: &Auth, presented: &str) -> DomainResult<Session> {
    let txn = super::begin_write(db).await?;
    let hash = tokens::hash_refresh_token(presented);
    let Some(stored) =
        refresh_token::Entity::find().filter(refresh_token::Column::TokenHash.eq(hash)).one(&txn).await?
    else {
        return Err(DomainError::Unauthenticated);
    };
    let now = super::now();
    if stored.revoked_at.is_some() || stored.expires_at <= now {
        return Err(DomainError::Unauthenticated);
    }
    let rotated = refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::RotatedAt, Expr::value(now))
        .filter(refresh_token::Column::Id.eq(stored.id))
        .filter(refresh_token::Column::RotatedAt.is_null())
        .exec(&txn)
        .await?
        .rows_affected;
    if rotated == 0 {
        revoke_family(&txn, &stored.family_id).await?;
        txn.commit().await?;
        tracing::warn!(user.id = stored.user_id, "a rotated refresh token was reused: session revoked");
        return Err(DomainError::Unauthenticated);
    }
    let Some(user) = user::Entity::find_by_id(stored.user_id).one(&txn).await? else {
        return Err(DomainError::Unauthenticated);
    };
    let session = issue(&txn, auth, user, stored.family_id).await?;
    txn.commit().await?;
    Ok(session)
}

/// Ends the session of a refresh token, and with it the access tokens issued in it; `false` when
/// the token is unknown or already ended.
pub async fn logout(db: &DatabaseConnection, presented: &str) -> DomainResult<bool> {
    let hash = tokens::hash_refresh_token(presented);
    let Some(stored) = refresh_token::Entity::find().filter(refresh_token::Column::TokenHash.eq(hash)).one(db).await?
    else {
        return Ok(false);
    };
    if stored.revoked_at.is_some() {
        return Ok(false);
    }
    revoke_family(db, &stored.family_id).await?;
    Ok(true)
}

/// Changes the viewer's password and ends every one of their sessions.
pub async fn change_password(
    db: &DatabaseConnection,
    auth: &Auth,
    viewer: &Viewer,
    current: &str,
    new: &str,
) -> DomainResult<()> {
    let user_id = viewer.user_id.ok_or(DomainError::Unauthenticated)?;
    let user = user::Entity::find_by_id(user_id).one(db).await?.ok_or(DomainError::Unauthenticated)?;
    check_strength(new, "newPassword")?;
    if !auth.passwords.verify(current, Some(&user.password_hash)).await? {
        return Err(DomainError::invalid("currentPassword", "is not your current password"));
    }
    let password_hash = auth.passwords.hash(new).await?;
    let txn = super::begin_write(db).await?;
    let mut model = user.into_active_model();
    model.password_hash = Set(password_hash);
    model.updated_at = Set(super::now());
    model.update(&txn).await?;
    end_all_sessions(&txn, user_id).await?;
    txn.commit().await?;
    Ok(())
}

/// Ends every session of `user_id`: their refresh tokens are revoked, and with them the access
/// tokens issued in those sessions.
pub(crate) async fn end_all_sessions<C: ConnectionTrait>(db: &C, user_id: i64) -> DomainResult<()> {
    refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::RevokedAt, Expr::value(super::now()))
        .filter(refresh_token::Column::UserId.eq(user_id))
        .filter(refresh_token::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}

/// Gives user `user_id` a role; the last admin cannot be demoted. A change of role ends the user's
/// sessions, so they sign in again under it.
/// Recorded in the audit trail as `setUserRole` by `actor`.
pub async fn set_role(db: &DatabaseConnection, actor: &Actor, user_id: i64, role: Role) -> DomainResult<user::Model> {
    let txn = super::begin_write(db).await?;
    // Lock the admins so two concurrent demotions cannot both pass the last-admin check.
    let admins: Vec<i64> = user::Entity::find()
        .select_only()
        .column(user::Column::Id)
        .filter(user::Column::Role.eq(Role::Admin))
        .lock_exclusive()
        .into_tuple()
        .all(&txn)
        .await?;
    let user = user::Entity::find_by_id(user_id).one(&txn).await?.ok_or(DomainError::NotFound("user"))?;
    if user.role == Role::Admin && role != Role::Admin && admins.len() <= 1 {
        return Err(DomainError::conflict("role", "the last admin cannot be demoted"));
    }
    let changed = user.role != role;
    let before = user.clone();
    let mut model = user.into_active_model();
    model.role = Set(role);
    model.updated_at = Set(super::now());
    let user = model.update(&txn).await?;
    audit::record(&txn, actor, "setUserRole", Some(&before), Some(&user)).await?;
    if changed {
        end_all_sessions(&txn, user_id).await?;
    }
    txn.commit().await?;
    Ok(user)
}
