//! The account flows that go through the user's mailbox: email verification (a link mailed at
//! registration and on request) and password reset (a link mailed on request), and the rule that
//! may require a verified address before signing or RSVPing.
//!
//! A mailed token is 256 random bits, stored only as its SHA-256 (like refresh tokens), works once,
//! and expires (48 hours to verify, 30 minutes to reset). A new token supersedes the user's unused
//! ones of the same purpose. Mail leaves in the background, so no answer waits on the mail server,
//! and a password-reset request does the same work, and answers the same, whether or not the
//! address has an account.

use std::net::IpAddr;

use chrono::Duration;
use entity::enums::TokenPurpose;
use entity::{account_token, user};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, Set};

use super::{DomainError, DomainResult};
use crate::auth::Auth;
use crate::auth::password::check_strength;
use crate::auth::throttle::SignInOperation;
use crate::auth::tokens;
use crate::mail::{Letter, MailError, Mailer};

/// How long a verification link works.
pub const VERIFY_TTL: Duration = Duration::hours(48);
/// How long a password-reset link works.
pub const RESET_TTL: Duration = Duration::minutes(30);
/// The page a verification link opens.
pub const VERIFY_PATH: &str = "/account/verify";
/// The page a password-reset link opens.
pub const RESET_PATH: &str = "/account/reset";

/// The account rules an operator can switch.
#[derive(Debug, Clone, Copy, Default)]
pub struct AccountPolicy {
    /// Signing petitions and RSVPing need a verified email address.
    pub require_verified_email: bool,
}

impl From<MailError> for DomainError {
    fn from(error: MailError) -> Self {
        match error {
            MailError::NotConfigured => Self::MailNotConfigured,
        }
    }
}

/// The answer to a token that does not work, whatever the reason (unknown, used, superseded,
/// expired): the same for all, so a guesser learns nothing.
fn bad_token() -> DomainError {
    DomainError::invalid("token", "this link is invalid, already used or expired: ask for a new one")
}

/// Stores a new token of `purpose` for `user_id`, superseding its unused ones; the token itself.
async fn issue<C: ConnectionTrait>(db: &C, user_id: i64, purpose: TokenPurpose, ttl: Duration) -> DomainResult<String> {
    let token = tokens::new_refresh_token();
    let now = super::now();
    supersede(db, user_id, purpose).await?;
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

/// Marks the unused tokens of `purpose` for `user_id` as used.
async fn supersede<C: ConnectionTrait>(db: &C, user_id: i64, purpose: TokenPurpose) -> DomainResult<()> {
    account_token::Entity::update_many()
        .col_expr(account_token::Column::UsedAt, Expr::value(super::now()))
        .filter(account_token::Column::UserId.eq(user_id))
        .filter(account_token::Column::Purpose.eq(purpose))
        .filter(account_token::Column::UsedAt.is_null())
        .exec(db)
        .await?;
    Ok(())
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

/// Uses up a live token of `purpose`: its user's id, or `bad_token` (also when another request
/// used it first).
async fn redeem<C: ConnectionTrait>(db: &C, presented: &str, purpose: TokenPurpose) -> DomainResult<i64> {
    let stored = live(db, presented, purpose).await?;
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
    Ok(stored.user_id)
}

/// Mails `user` a new verification link.
pub async fn send_verification(db: &DatabaseConnection, mailer: &Mailer, user: &user::Model) -> DomainResult<()> {
    mailer.check_ready()?;
    let token = issue(db, user.id, TokenPurpose::VerifyEmail, VERIFY_TTL).await?;
    let link = mailer.link(VERIFY_PATH, &token);
    mailer.send(Letter {
        user_id: user.id,
        to: user.email.clone(),
        subject: "Confirm your email address".to_owned(),
        body: format!(
            "Hello {name},\n\nplease confirm this is your email address by opening this link:\n\n{link}\n\n\
             The link works once, for the next 48 hours. If you did not sign up, ignore this message.\n",
            name = user.display_name
        ),
    });
    Ok(())
}

/// After a registration: mails the verification link when mail can be sent. A failure is logged,
/// not returned: the account exists either way, and `resendVerification` can try again.
pub async fn welcome(db: &DatabaseConnection, mailer: &Mailer, user: &user::Model) {
    if mailer.check_ready().is_err() {
        return;
    }
    if let Err(error) = send_verification(db, mailer, user).await {
        tracing::warn!(user.id = user.id, error = %error, "the verification link of a new account was not sent");
    }
}

/// Marks the address of the token's user verified; the token works once.
pub async fn verify_email(db: &DatabaseConnection, presented: &str) -> DomainResult<i64> {
    let txn = super::begin_write(db).await?;
    let user_id = redeem(&txn, presented, TokenPurpose::VerifyEmail).await?;
    mark_verified(&txn, user_id).await?;
    txn.commit().await?;
    Ok(user_id)
}

/// Whether a verification token would work, without using it up or verifying anything: what a
/// `HEAD` on the link answers, since a `HEAD` (a mail scanner probing links) must change nothing.
pub async fn check_verification(db: &DatabaseConnection, presented: &str) -> DomainResult<()> {
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

/// Mails the viewer a new verification link (spending one of the client's sign-in attempts);
/// `false`, and nothing sent, when the address is already verified.
pub async fn resend_verification(
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

/// Mails a password-reset link to `email` if it has an account. The answer, and the work done
/// before it, are the same either way (one lookup, one write transaction; the mail leaves in the
/// background), so the answer says nothing about which addresses have accounts.
pub async fn request_password_reset(
    db: &DatabaseConnection,
    auth: &Auth,
    mailer: &Mailer,
    client_ip: Option<IpAddr>,
    email: &str,
) -> DomainResult<()> {
    mailer.check_ready()?;
    auth.throttle.attempt(SignInOperation::RequestPasswordReset, client_ip).await?;
    let email = super::accounts::normalize_email(email, "email")?;
    let txn = super::begin_write(db).await?;
    let user = user::Entity::find().filter(user::Column::Email.eq(&email)).one(&txn).await?;
    let token = match &user {
        Some(user) => Some(issue(&txn, user.id, TokenPurpose::ResetPassword, RESET_TTL).await?),
        None => {
            // The same statements against no user: a supersede that matches nothing, and a
            // lookup standing in for the insert.
            supersede(&txn, 0, TokenPurpose::ResetPassword).await?;
            let unused = tokens::hash_refresh_token(&tokens::new_refresh_token());
            account_token::Entity::find().filter(account_token::Column::TokenHash.eq(unused)).one(&txn).await?;
            None
        }
    };
    txn.commit().await?;
    if let (Some(user), Some(token)) = (user, token) {
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
    Ok(())
}

/// Sets a new password with a reset token (which works once), marks the address verified (the
/// link proved it), and ends every session of the user.
pub async fn reset_password(
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
    super::accounts::end_all_sessions(&txn, user_id).await?;
    txn.commit().await?;
    Ok(())
}

/// Refuses a fan action by a user whose address is not verified, when `policy` requires it.
pub async fn require_verified(db: &DatabaseConnection, policy: AccountPolicy, user_id: i64) -> DomainResult<()> {
    if !policy.require_verified_email {
        return Ok(());
    }
    let verified = user::Entity::find_by_id(user_id).one(db).await?.is_some_and(|user| user.email_verified);
    if verified { Ok(()) } else { Err(DomainError::Unverified) }
}
