//! The account flows that go through the user's mailbox: email verification (a link mailed at
//! registration and on request) and password reset (a link mailed on request), and the rule that
//! may require a verified address before signing or RSVPing.
//!
//! A mailed token is 256 random bits, stored only as its SHA-256 (like refresh tokens), works once,
//! and expires (48 hours to verify, 30 minutes to reset). A new link does not void the ones already
//! sent, so a stranger asking for mail cannot break the link the owner is about to open; using any
//! link voids every other outstanding one of its purpose. Each address gets at most
//! `MailPacing::per_hour` mails of a kind an hour, `MailPacing::min_gap` apart, whoever asks: the
//! tokens are the record of what was sent, so the count lives in the database and holds across
//! processes. A request past the limit is answered as usual and sends nothing. Mail leaves in the
//! background, so no answer waits on the mail server, and a password-reset request does the same
//! work, and answers the same, whether or not the address has an account or is at its limit.

use std::net::IpAddr;

use chrono::Duration;
use entity::enums::TokenPurpose;
use entity::{account_token, user};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};

use super::{DomainError, DomainResult};
use crate::auth::Auth;
use crate::auth::password::check_strength;
use crate::auth::tokens;
use crate::config::MailPacing;
use crate::infra::mail::{Letter, MailError, Mailer};
use crate::limits::sign_in::SignInOperation;

/// How long a verification link works.
pub(crate) const VERIFY_TTL: Duration = Duration::hours(48);
/// How long a password-reset link works.
pub(crate) const RESET_TTL: Duration = Duration::minutes(30);
/// The page a verification link opens.
pub(crate) const VERIFY_PATH: &str = "/account/verify";
/// The page a password-reset link opens.
pub(crate) const RESET_PATH: &str = "/account/reset";

/// The account rules an operator can switch.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct AccountPolicy {
    /// Signing petitions and RSVPing need a verified email address.
    pub(crate) require_verified_email: bool,
}

impl From<MailError> for DomainError {
    fn from(error: MailError) -> Self {
        match error {
            MailError::NotConfigured => Self::MailNotConfigured,
        }
    }
}

/// The answer to a token that does not work, whatever the reason (unknown, used, voided by the use
/// of another link, expired): the same for all, so a guesser learns nothing.
fn bad_token() -> DomainError {
    DomainError::invalid("token", "this link is invalid, already used or expired: ask for a new one")
}

/// Stores a new token of `purpose` for `user_id`; the token itself. The user's other unused tokens
/// stay valid until one of them is used (`redeem`).
pub(super) async fn issue<C: ConnectionTrait>(
    db: &C,
    user_id: i64,
    purpose: TokenPurpose,
    ttl: Duration,
) -> DomainResult<String> {
    let token = tokens::new_refresh_token();
    let now = super::now();
    account_token::ActiveModel {
        user_id: Set(user_id),
        purpose: Set(purpose),
        token_hash: Set(tokens::hash_refresh_token(&token)),
        expires_at: Set(now + ttl),
        used_at: Set(None),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(token)
}

/// Whether one more mail of `purpose` may go to `user_id` now under `pacing`: fewer than
/// `per_hour` in the last hour, the newest at least `min_gap` ago. Every mail sent is one token
/// row (used or not, expired or not), so the rows are the count: one statement reading at most
/// `per_hour` of them, the newest first. The caller holds the user's row lock, so concurrent
/// requests for one address count one after another.
pub(super) async fn may_mail<C: ConnectionTrait>(
    db: &C,
    user_id: i64,
    purpose: TokenPurpose,
    pacing: MailPacing,
) -> DomainResult<bool> {
    let now = super::now();
    let newest: Vec<chrono::DateTime<chrono::Utc>> = account_token::Entity::find()
        .select_only()
        .column(account_token::Column::CreatedAt)
        .filter(account_token::Column::UserId.eq(user_id))
        .filter(account_token::Column::Purpose.eq(purpose))
        .order_by_desc(account_token::Column::Id)
        .limit(u64::from(pacing.per_hour.max(1)))
        .into_tuple()
        .all(db)
        .await?;
    let gap = Duration::from_std(pacing.min_gap).unwrap_or(Duration::MAX);
    let in_last_hour = newest.iter().filter(|sent| now - **sent < Duration::hours(1)).count();
    let too_soon = newest.iter().max().is_some_and(|last| now - *last < gap);
    Ok(in_last_hour < pacing.per_hour.max(1) as usize && !too_soon)
}

/// Voids the unused tokens of `purpose` for `user_id` (marks them used): once one link of a
/// purpose has done its work, the others sent with it must not work again.
async fn void_outstanding<C: ConnectionTrait>(db: &C, user_id: i64, purpose: TokenPurpose) -> DomainResult<()> {
    account_token::Entity::update_many()
        .col_expr(account_token::Column::UsedAt, Expr::value(super::now()))
        .filter(account_token::Column::UserId.eq(user_id))
        .filter(account_token::Column::Purpose.eq(purpose))
        .filter(account_token::Column::UsedAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}

/// The user's row, locked until the transaction ends (`SELECT … FOR UPDATE` on PostgreSQL; SQLite's
/// write transaction holds the database): what serializes the mail count and the use of links
/// for one account, whichever process serves them.
pub(super) async fn lock_user<C: ConnectionTrait>(
    db: &C,
    condition: sea_orm::Condition,
) -> DomainResult<Option<user::Model>> {
    Ok(user::Entity::find().filter(condition).lock_exclusive().one(db).await?)
}

/// The stored token `presented` stands for, if it is of `purpose`, unused and unexpired.
async fn live<C: ConnectionTrait>(
    db: &C,
    presented: &str,
    purpose: TokenPurpose,
) -> DomainResult<account_token::Model> {
    let now = super::now();
    account_token::Entity::find()
        .filter(account_token::Column::TokenHash.eq(tokens::hash_refresh_token(presented)))
        .filter(account_token::Column::Purpose.eq(purpose))
        .one(db)
        .await?
        .filter(|stored| stored.used_at.is_none() && stored.expires_at > now)
        .ok_or_else(bad_token)
}

/// Uses up a live token of `purpose`, and voids every other outstanding one of the user's of that
/// purpose: its user's id, or `bad_token` (also when another request used it, or a sibling link,
/// first). Both uses of two sibling links lock the user's row before they write, so they run one
/// after the other and the second finds its token void.
async fn redeem<C: ConnectionTrait>(db: &C, presented: &str, purpose: TokenPurpose) -> DomainResult<i64> {
    let stored = live(db, presented, purpose).await?;
    lock_user(db, user::Column::Id.eq(stored.user_id).into()).await?;
    let used = account_token::Entity::update_many()
        .col_expr(account_token::Column::UsedAt, Expr::value(super::now()))
        .filter(account_token::Column::Id.eq(stored.id))
        .filter(account_token::Column::UsedAt.is_null())
        .exec(db)
        .await?
        .rows_affected;
    if used == 0 {
        return Err(bad_token());
    }
    void_outstanding(db, stored.user_id, purpose).await?;
    Ok(stored.user_id)
}

/// Mails `user` a new verification link, unless the address has had its share of them
/// (`MailPacing`): then nothing is sent and the earlier links still work.
pub(crate) async fn send_verification(
    db: &DatabaseConnection,
    mailer: &Mailer,
    user: &user::Model,
) -> DomainResult<()> {
    mailer.check_ready()?;
    let txn = super::begin_write(db).await?;
    let locked = lock_user(&txn, user::Column::Id.eq(user.id).into()).await?.ok_or(DomainError::Unauthenticated)?;
    let token = if may_mail(&txn, locked.id, TokenPurpose::VerifyEmail, mailer.pacing()).await? {
        Some(issue(&txn, locked.id, TokenPurpose::VerifyEmail, VERIFY_TTL).await?)
    } else {
        None
    };
    txn.commit().await?;
    let Some(token) = token else {
        tracing::info!(user.id = locked.id, "verification mail not sent: the address had its share this hour");
        return Ok(());
    };
    let link = mailer.link(VERIFY_PATH, &token);
    mailer.send(Letter {
        user_id: locked.id,
        to: locked.email,
        subject: "Confirm your email address".to_owned(),
        body: format!(
            "Hello {name},\n\nplease confirm this is your email address by opening this link:\n\n{link}\n\n\
             The link works once, for the next 48 hours. If you did not sign up, ignore this message.\n",
            name = locked.display_name
        ),
    });
    Ok(())
}

/// After a registration: mails the verification link when mail can be sent. A failure is logged,
/// not returned: the account exists either way, and `resendVerification` can try again.
pub(crate) async fn welcome(db: &DatabaseConnection, mailer: &Mailer, user: &user::Model) {
    if mailer.check_ready().is_err() {
        return;
    }
    if let Err(error) = send_verification(db, mailer, user).await {
        tracing::warn!(user.id = user.id, error = %error, "the verification link of a new account was not sent");
    }
}

/// Marks the address of the token's user verified; the token works once.
pub(crate) async fn verify_email(db: &DatabaseConnection, presented: &str) -> DomainResult<i64> {
    let txn = super::begin_write(db).await?;
    let user_id = redeem(&txn, presented, TokenPurpose::VerifyEmail).await?;
    mark_verified(&txn, user_id).await?;
    txn.commit().await?;
    Ok(user_id)
}

/// Whether a verification token would work, without using it up or verifying anything: what a
/// `HEAD` on the link answers, since a `HEAD` (a mail scanner probing links) must change nothing.
pub(crate) async fn check_verification(db: &DatabaseConnection, presented: &str) -> DomainResult<()> {
    live(db, presented, TokenPurpose::VerifyEmail).await.map(|_| ())
}

async fn mark_verified<C: ConnectionTrait>(db: &C, user_id: i64) -> DomainResult<()> {
    user::Entity::update_many()
        .col_expr(user::Column::EmailVerified, Expr::value(true))
        .filter(user::Column::Id.eq(user_id))
        .exec(db)
        .await?;
    Ok(())
}

/// Mails the viewer a new verification link (spending one of the client's sign-in attempts), unless
/// the address had its share of them this hour; `false`, and nothing sent, when the address is
/// already verified.
pub(crate) async fn resend_verification(
    db: &DatabaseConnection,
    auth: &Auth,
    mailer: &Mailer,
    client_ip: Option<IpAddr>,
    user_id: i64,
) -> DomainResult<bool> {
    mailer.check_ready()?;
    auth.throttle.attempt(SignInOperation::ResendVerification, client_ip).await?;
    let user = user::Entity::find_by_id(user_id).one(db).await?.ok_or(DomainError::Unauthenticated)?;
    if user.email_verified {
        return Ok(false);
    }
    send_verification(db, mailer, &user).await?;
    Ok(true)
}

/// Mails a password-reset link to `email` if it has an account and has not had its share of them
/// (`MailPacing`). The answer, and the work done before it, are the same either way (one locking
/// lookup, one count, one insert or a lookup standing in for it, in one write transaction; the
/// mail leaves in the background), so the answer says nothing about which addresses have
/// accounts, nor which ones a stranger has been aiming mail at.
pub(crate) async fn request_password_reset(
    db: &DatabaseConnection,
    auth: &Auth,
    mailer: &Mailer,
    client_ip: Option<IpAddr>,
    email: &str,
) -> DomainResult<()> {
    mailer.check_ready()?;
    auth.throttle.attempt(SignInOperation::RequestPasswordReset, client_ip).await?;
    // The same statements run for a known and an unknown address, but a known one also writes its
    // token: every answer waits out the same floor, so its time does not tell them apart.
    let started = tokio::time::Instant::now();
    let outcome = mail_reset_link(db, mailer, email).await;
    tokio::time::sleep_until(started + RESET_ANSWER_FLOOR).await;
    outcome
}

/// The least time `requestPasswordReset` takes, whatever the address.
pub const RESET_ANSWER_FLOOR: std::time::Duration = std::time::Duration::from_millis(40);

async fn mail_reset_link(db: &DatabaseConnection, mailer: &Mailer, email: &str) -> DomainResult<()> {
    let email = super::mailbox::canonical(email, "email")?;
    let txn = super::begin_write(db).await?;
    let user = lock_user(&txn, user::Column::Email.eq(&email).into()).await?;
    // No user counts against user id 0, which has no tokens: the same statement either way.
    let user_id = user.as_ref().map_or(0, |user| user.id);
    let allowed = may_mail(&txn, user_id, TokenPurpose::ResetPassword, mailer.pacing()).await?;
    let token = match &user {
        Some(user) if allowed => Some(issue(&txn, user.id, TokenPurpose::ResetPassword, RESET_TTL).await?),
        _ => {
            // A lookup standing in for the insert.
            let unused = tokens::hash_refresh_token(&tokens::new_refresh_token());
            account_token::Entity::find().filter(account_token::Column::TokenHash.eq(unused)).one(&txn).await?;
            None
        }
    };
    txn.commit().await?;
    match (user, token) {
        (Some(user), Some(token)) => {
            let link = mailer.link(RESET_PATH, &token);
            mailer.send(Letter {
                user_id: user.id,
                to: user.email,
                subject: "Reset your password".to_owned(),
                body: format!(
                    "Hello {name},\n\nsomeone asked to reset the password of your account. To choose a new one, open:\n\n\
                     {link}\n\nThe link works once, for the next 30 minutes. If you did not ask, ignore this \
                     message: your password stays as it is.\n",
                    name = user.display_name
                ),
            });
        }
        (Some(user), None) => {
            tracing::info!(user.id = user.id, "password-reset mail not sent: the address had its share this hour");
        }
        (None, _) => {}
    }
    Ok(())
}

/// Sets a new password with a reset token (which works once), marks the address verified (the
/// link proved it), and ends every session of the user.
pub(crate) async fn reset_password(
    db: &DatabaseConnection,
    auth: &Auth,
    client_ip: Option<IpAddr>,
    presented: &str,
    new_password: &str,
) -> DomainResult<()> {
    auth.throttle.attempt(SignInOperation::ResetPassword, client_ip).await?;
    check_strength(new_password, "newPassword")?;
    // Hashing is slow: a token that cannot work is refused before it, and it is done before the
    // write transaction, which then only stores it (and checks the token again, atomically).
    live(db, presented, TokenPurpose::ResetPassword).await?;
    let password_hash = auth.passwords.hash(new_password).await?;
    let txn = super::begin_write(db).await?;
    let user_id = redeem(&txn, presented, TokenPurpose::ResetPassword).await?;
    user::Entity::update_many()
        .col_expr(user::Column::PasswordHash, Expr::value(password_hash))
        .col_expr(user::Column::EmailVerified, Expr::value(true))
        .col_expr(user::Column::UpdatedAt, Expr::value(super::now()))
        .filter(user::Column::Id.eq(user_id))
        .exec(&txn)
        .await?;
    // The reset proved the address: verification links still out are moot, and one a stranger
    // caused to be sent (by registering the address first) must not work after the owner's reset.
    void_outstanding(&txn, user_id, TokenPurpose::VerifyEmail).await?;
    super::sessions::end_all_sessions(&txn, user_id).await?;
    txn.commit().await?;
    Ok(())
}

/// Refuses a fan action by a user whose address is not verified, when `policy` requires it.
pub(crate) async fn require_verified(db: &DatabaseConnection, policy: AccountPolicy, user_id: i64) -> DomainResult<()> {
    if !policy.require_verified_email {
        return Ok(());
    }
    let verified = user::Entity::find_by_id(user_id).one(db).await?.is_some_and(|user| user.email_verified);
    if verified { Ok(()) } else { Err(DomainError::Unverified) }
}
