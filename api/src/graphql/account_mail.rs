//! The account mutations that go through mail: `verifyEmail`, `resendVerification`,
//! `requestPasswordReset`, `resetPassword`.

use std::sync::Arc;

use async_graphql::{Context, Object};

use super::errors::GqlResult;
use super::guards::RoleGuard;
use super::{db, viewer_id};
use crate::auth::{Auth, ClientIp};
use crate::domain::account_mail::{self, AccountPolicy};
use crate::mail::Mailer;

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
pub struct AccountMailMutation;

#[Object]
impl AccountMailMutation {
    /// Marks the address of the account the token was mailed to as verified. The token comes from
    /// the link in the verification mail and works once; a used, superseded or expired one is
    /// `BAD_USER_INPUT` on `token`.
    async fn verify_email(&self, ctx: &Context<'_>, token: String) -> GqlResult<bool> {
        account_mail::verify_email(db(ctx)?, &token).await?;
        Ok(true)
    }

    /// Mails you a new verification link (the earlier ones stop working); false, and nothing
    /// sent, when your address is already verified. Counts against the sign-in rate limit.
    /// `MAIL_NOT_CONFIGURED` when the server cannot send mail.
    #[graphql(guard = "RoleGuard::fan()")]
    async fn resend_verification(&self, ctx: &Context<'_>) -> GqlResult<bool> {
        let auth = ctx.data::<Arc<Auth>>()?;
        Ok(account_mail::resend_verification(db(ctx)?, auth, mailer(ctx)?, client_ip(ctx), viewer_id(ctx)?).await?)
    }

    /// Mails a password-reset link (it works once, for 30 minutes) if the address has an
    /// account. The answer is `true` either way, so it tells nothing about which addresses have
    /// accounts. Counts against the sign-in rate limit. `MAIL_NOT_CONFIGURED` when the server
    /// cannot send mail.
    async fn request_password_reset(&self, ctx: &Context<'_>, email: String) -> GqlResult<bool> {
        let auth = ctx.data::<Arc<Auth>>()?;
        account_mail::request_password_reset(db(ctx)?, auth, mailer(ctx)?, client_ip(ctx), &email).await?;
        Ok(true)
    }

    /// Sets a new password (8 to 128 characters) with the token of a reset link, which then stops
    /// working, and ends every session of the account. Counts against the sign-in rate limit.
    async fn reset_password(&self, ctx: &Context<'_>, token: String, new_password: String) -> GqlResult<bool> {
        let auth = ctx.data::<Arc<Auth>>()?;
        account_mail::reset_password(db(ctx)?, auth, client_ip(ctx), &token, &new_password).await?;
        Ok(true)
    }
}
