//! Accounts: registration, login, password changes, roles. Sessions (refresh, logout, ending
//! them) are `sessions`'s.

use std::net::IpAddr;

use entity::enums::Role;
use entity::user;
use sea_orm::TransactionTrait;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, IntoActiveModel, PaginatorTrait,
    QueryFilter, QuerySelect, Set,
};

use super::audit::{self, Actor};
use super::mailbox::canonical;
use super::sessions::{Session, end_all_sessions, lock_user, recheck_password, start_session};
use super::{DomainError, DomainResult, validate};
use crate::auth::Auth;
use crate::auth::password::check_strength;
use crate::domain::Viewer;
use crate::infra::mail::Mailer;
use crate::limits::sign_in::SignInOperation;

/// What a new account is made of.
#[derive(Debug)]
pub(crate) struct Registration {
    pub(crate) email: String,
    pub(crate) password: String,
    pub(crate) display_name: String,
}

/// Creates an account with `role` (no session) from the command line: no one signed in, so the
/// audit row (`createUser`, in the same transaction) has no actor.
pub(crate) async fn create_user(
    db: &DatabaseConnection,
    auth: &Auth,
    registration: Registration,
    role: Role,
) -> DomainResult<user::Model> {
    let account = new_account(db, auth, registration, Requester::CommandLine).await?;
    super::write::transaction(db, async |txn| {
        let user = insert_user(txn, account, role).await?;
        audit::created(txn, &audit::Actor::default(), "createUser", user).await
    })
    .await
}

/// A new account, checked, with its password hashed: everything slow happens before any
/// transaction begins.
#[derive(Clone)]
pub(super) struct NewAccount {
    pub(super) email: String,
    pub(super) display_name: String,
    pub(super) password_hash: String,
}

/// Who asks for a new account.
#[derive(Debug, Clone, Copy)]
enum Requester {
    /// An operator at the command line: no limits.
    CommandLine,
    /// A client at this address: held to the sign-in limits.
    Client(Option<IpAddr>),
}

async fn new_account(
    db: &DatabaseConnection,
    auth: &Auth,
    registration: Registration,
    requester: Requester,
) -> DomainResult<NewAccount> {
    let email = canonical(&registration.email, "input.email")?;
    let display_name = validate::text("input.displayName", &registration.display_name, 100)?;
    check_strength(&registration.password, "input.password")?;
    // A taken address is answered `CONFLICT`, which tells that it has an account; so asking costs
    // what a wrong password costs: the delays of that email from this address apply first, and a
    // taken address counts as a failed attempt on it.
    if let Requester::Client(ip) = requester {
        auth.throttle.admit_login(&email, ip).await?;
    }
    if user::Entity::find().filter(user::Column::Email.eq(&email)).count(db).await? > 0 {
        if let Requester::Client(ip) = requester {
            auth.throttle.record_failure(&email, ip).await;
        }
        return Err(DomainError::conflict("input.email", "an account with this email already exists"));
    }
    let password_hash = auth.passwords.hash(&registration.password).await?;
    Ok(NewAccount { email, display_name, password_hash })
}

/// Inserts a checked account; a race for the same email is the same `CONFLICT`.
pub(super) async fn insert_user<C: ConnectionTrait>(
    db: &C,
    account: NewAccount,
    role: Role,
) -> DomainResult<user::Model> {
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

/// Registers a fan, signs them in, and mails them a link to verify their address. A taken address
/// is `CONFLICT`, metered like a wrong password (see `new_account`).
pub(crate) async fn register(
    db: &DatabaseConnection,
    auth: &Auth,
    mailer: &Mailer,
    client_ip: Option<IpAddr>,
    registration: Registration,
) -> DomainResult<Session> {
    auth.throttle.attempt(SignInOperation::Register, client_ip).await?;
    let account = new_account(db, auth, registration, Requester::Client(client_ip)).await?;
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
/// With `require_verified`, the right password of an account whose address is not proven yet is
/// `VerificationPending`, and no session starts (`enrollment`).
pub(crate) async fn login(
    db: &DatabaseConnection,
    auth: &Auth,
    actor: &Actor,
    client_ip: Option<IpAddr>,
    email: &str,
    password: &str,
    require_verified: bool,
) -> DomainResult<Session> {
    auth.throttle.attempt(SignInOperation::Login, client_ip).await?;
    let normalized = canonical(email, "input.email").ok();
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
            if require_verified && !user.email_verified {
                return Err(DomainError::VerificationPending);
            }
            let before = user.clone();
            user.last_login_at = Some(super::now());
            // The sign-in, its session and its audit row (the user as actor) commit together.
            super::write::transaction(db, async |txn| {
                // Under the user's lock (see `sessions`) the password checked above must still be
                // the account's: a password change, a reset or the deletion that committed
                // meanwhile ended every session, and no sign-in with the old password may start
                // one after it (nor insert a token for a deleted account).
                let unchanged =
                    lock_user(txn, user.id).await?.is_some_and(|current| current.password_hash == user.password_hash);
                if !unchanged {
                    return Err(DomainError::WrongCredentials);
                }
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

/// Changes the viewer's password and ends every one of their sessions. Checking the current
/// password is a sign-in attempt: it spends the client's sign-in budget and meets the failed-login
/// delays and locks of the account's email, so a stolen access token cannot guess the password
/// faster than `login` could.
pub(crate) async fn change_password(
    db: &DatabaseConnection,
    auth: &Auth,
    viewer: &Viewer,
    client_ip: Option<IpAddr>,
    current: &str,
    new: &str,
) -> DomainResult<()> {
    let user_id = viewer.user_id.ok_or(DomainError::Unauthenticated)?;
    check_strength(new, "newPassword")?;
    let refused = ("currentPassword", "is not your current password");
    let user =
        recheck_password(db, auth, SignInOperation::ChangePassword, client_ip, user_id, current, refused).await?;
    let password_hash = auth.passwords.hash(new).await?;
    let txn = super::begin_write(db).await?;
    // The user's lock before anything is written: a refresh running beside the change either
    // committed first (its token is revoked below) or waits and finds its token revoked. Under it,
    // the password checked above must still be the account's: of two changes from the same
    // password, the second finds the first's and is refused rather than silently overwriting it.
    let checked = user.password_hash;
    let user = lock_user(&txn, user_id).await?.ok_or(DomainError::Unauthenticated)?;
    if user.password_hash != checked {
        return Err(DomainError::invalid("currentPassword", "is not your current password"));
    }
    let mut model = user.into_active_model();
    model.password_hash = Set(password_hash);
    model.updated_at = Set(super::now());
    model.update(&txn).await?;
    end_all_sessions(&txn, user_id).await?;
    txn.commit().await?;
    Ok(())
}

/// Gives user `user_id` a role; the last admin cannot be demoted. A change of role ends the user's
/// sessions, so they sign in again under it.
/// Recorded in the audit trail as `setUserRole` by `actor`.
pub(crate) async fn set_role(
    db: &DatabaseConnection,
    actor: &Actor,
    user_id: i64,
    role: Role,
) -> DomainResult<user::Model> {
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
    // Locked like a refresh locks it, so no session of the user can start beside the change.
    let user = lock_user(&txn, user_id).await?.ok_or(DomainError::NotFound("user"))?;
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
