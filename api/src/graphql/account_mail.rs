//! The account mutations that go through mail: `verifyEmail`, `resendVerification`,
//! `requestPasswordReset`, `resetPassword`.

use std::sync::Arc;

use async_graphql::{Context, Object};

use super::errors::GqlResult;
use super::guards::RoleGuard;
use super::{db, viewer_id};
use crate::auth::{Auth, ClientIp};
use crate::domain::account_mail::{self, AccountPolicy};
use crate::infra::mail::Mailer;

/// The client's address, when the transport knows it.
fn client_ip(ctx: &Context<'_>) -> Option<std::net::IpAddr> {
    ctx.data_opt::<ClientIp>().and_then(|ip| ip.0)
}

/// The mailer of this server.
pub(crate) fn mailer<'a>(ctx: &Context<'a>) -> async_graphql::Result<&'a Mailer> {
    Ok(ctx.data::<Arc<Mailer>>()?.as_ref())
}

/// The account rules of this server.
pub(crate) fn policy(ctx: &Context<'_>) -> AccountPolicy {
    ctx.data_opt::<AccountPolicy>().copied().unwrap_or_default()
}

/// The mail-link mutations.
#[derive(Default)]
pub(crate) struct AccountMailMutation;

#[Object]
impl AccountMailMutation {
    /// Marks the address of the account the token was mailed to as verified. The token comes from
    /// the link in the verification mail and works once, and using it voids the other verification
    /// links mailed before; a used, voided or expired one is `BAD_USER_INPUT` on `token`.
    async fn verify_email(&self, ctx: &Context<'_>, token: String) -> GqlResult<bool> {
        account_mail::verify_email(db(ctx)?, &token).await?;
        Ok(true)
    }

    /// Mails you a new verification link (the earlier ones keep working until one is used);
    /// false, and nothing sent, when your address is already verified. An address gets a few of
    /// these mails an hour, spaced out: past that the answer is the same and nothing is sent. Counts against the sign-in rate limit. `MAIL_NOT_CONFIGURED` when the
    /// server cannot send mail.
    #[graphql(guard = "RoleGuard::fan()")]
    async fn resend_verification(&self, ctx: &Context<'_>) -> GqlResult<bool> {
        let auth = ctx.data::<Arc<Auth>>()?;
        Ok(account_mail::resend_verification(db(ctx)?, auth, mailer(ctx)?, client_ip(ctx), viewer_id(ctx)?).await?)
    }

    /// Mails a password-reset link (it works once, for 30 minutes; links mailed before keep
    /// working until one is used) if the address has an account. An address gets a few of these
    /// mails an hour, spaced out, whoever asks: past that nothing is sent. The
    /// answer is `true` in every case, so it tells nothing about which addresses have accounts.
    /// Counts against the sign-in rate limit. `MAIL_NOT_CONFIGURED` when the server cannot send
    /// mail.
    async fn request_password_reset(&self, ctx: &Context<'_>, email: String) -> GqlResult<bool> {
        let auth = ctx.data::<Arc<Auth>>()?;
        account_mail::request_password_reset(db(ctx)?, auth, mailer(ctx)?, client_ip(ctx), &email).await?;
        Ok(true)
    }

    /// Sets a new password (8 to 128 characters) with the token of a reset link, which then stops
    /// working, as do the account's other reset links, and ends every session of the account.
    /// Counts against the sign-in rate limit.
    async fn reset_password(&self, ctx: &Context<'_>, token: String, new_password: String) -> GqlResult<bool> {
        let auth = ctx.data::<Arc<Auth>>()?;
        account_mail::reset_password(db(ctx)?, auth, client_ip(ctx), &token, &new_password).await?;
        Ok(true)
    }
}
