//! Accounts over GraphQL: `register`, `login`, `refreshSession`, `logout`, `changePassword`,
//! `setUserRole`, and the viewer's `updateProfile` and `deleteAccount`.

use std::sync::Arc;

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};

use super::actor;
use super::errors::GqlResult;
use super::guards::RoleGuard;
use super::ids::{NodeType, decode_as};
use super::scalars::{DateTime, Role};
use super::users::{Audience, User};
use super::{db, loaders, notifier, viewer_id};
use crate::auth::{Auth, ClientIp};
use crate::domain::accounts::{self, Registration};
use crate::domain::sessions::Session;
use crate::domain::{enrollment, sessions, users};

/// A signed-in session: send `accessToken` as `Authorization: Bearer …`; trade `refreshToken`
/// for a new pair with `refreshSession` before `expiresAt`.
#[derive(SimpleObject)]
pub(crate) struct AuthPayload {
    access_token: String,
    refresh_token: String,
    /// When the access token expires.
    expires_at: DateTime,
    user: User,
}

impl From<Session> for AuthPayload {
    fn from(session: Session) -> Self {
        Self {
            access_token: session.access_token,
            refresh_token: session.refresh_token,
            expires_at: DateTime(session.expires_at),
            user: User(session.user.into(), Audience::Owner),
        }
    }
}

/// A new account.
#[derive(InputObject)]
pub(crate) struct RegisterInput {
    /// The address alone (no name or angle brackets) at a domain name; fullwidth and other
    /// compatibility forms are the same mailbox as their plain twins (NFKC, any case).
    email: String,
    /// 8 to 128 characters, not only white space, and not one of the most common passwords.
    password: String,
    /// The name shown beside public signatures.
    display_name: String,
}

/// Credentials.
#[derive(InputObject)]
pub(crate) struct LoginInput {
    email: String,
    password: String,
}

/// Changes to your profile: only the fields given change.
#[derive(InputObject)]
pub(crate) struct UpdateProfileInput {
    /// The name shown beside public signatures (1 to 100 characters, as at registration).
    display_name: Option<String>,
}

/// The client's address, when the transport knows it.
fn client_ip(ctx: &Context<'_>) -> Option<std::net::IpAddr> {
    ctx.data_opt::<ClientIp>().and_then(|ip| ip.0)
}

fn auth<'a>(ctx: &Context<'a>) -> async_graphql::Result<&'a Arc<Auth>> {
    ctx.data::<Arc<Auth>>()
}

/// The account mutations.
#[derive(Default)]
pub(crate) struct AccountMutation;

#[Object]
impl AccountMutation {
    /// Creates a fan account, signs it in, and mails a link to verify the address (see
    /// `verifyEmail`). A taken address is `CONFLICT` (and costs what a wrong password costs).
    ///
    /// Where the server requires a proven address (`FANDB_REQUIRE_VERIFIED_EMAIL`), no session
    /// starts here: the answer is always `EMAIL_VERIFICATION_PENDING` ("check your mailbox"), for a
    /// new address (which gets its link) and a taken one (whose owner is told someone tried) alike;
    /// after following the link, sign in with `login`.
    async fn register(&self, ctx: &Context<'_>, input: RegisterInput) -> GqlResult<AuthPayload> {
        let registration =
            Registration { email: input.email, password: input.password, display_name: input.display_name };
        let mailer = super::account_mail::mailer(ctx)?;
        if super::account_mail::policy(ctx).require_verified_email {
            match enrollment::enroll(db(ctx)?, auth(ctx)?, mailer, client_ip(ctx), registration).await? {}
        }
        Ok(accounts::register(db(ctx)?, auth(ctx)?, mailer, client_ip(ctx), registration).await?.into())
    }

    /// Signs in; a wrong email or password is `UNAUTHENTICATED` either way. Where the server requires
    /// a proven address, the right password of an account whose address is not proven yet is
    /// `EMAIL_VERIFICATION_PENDING`.
    async fn login(&self, ctx: &Context<'_>, input: LoginInput) -> GqlResult<AuthPayload> {
        let actor = actor(ctx)?;
        let require_verified = super::account_mail::policy(ctx).require_verified_email;
        let session = accounts::login(
            db(ctx)?,
            auth(ctx)?,
            &actor,
            client_ip(ctx),
            &input.email,
            &input.password,
            require_verified,
        );
        Ok(session.await?.into())
    }

    /// Trades a refresh token for a new pair; each refresh token works once.
    async fn refresh_session(&self, ctx: &Context<'_>, refresh_token: String) -> GqlResult<AuthPayload> {
        Ok(sessions::refresh(db(ctx)?, auth(ctx)?, &refresh_token).await?.into())
    }

    /// Ends the session of a refresh token; false when it was not live.
    async fn logout(&self, ctx: &Context<'_>, refresh_token: String) -> GqlResult<bool> {
        Ok(sessions::logout(db(ctx)?, &refresh_token).await?)
    }

    /// Changes your password and ends all your sessions. A wrong current password counts as a
    /// failed sign-in (rate limits and delays apply).
    #[graphql(guard = "RoleGuard::fan()")]
    async fn change_password(
        &self,
        ctx: &Context<'_>,
        current_password: String,
        new_password: String,
    ) -> GqlResult<bool> {
        let viewer = loaders(ctx)?.viewer;
        accounts::change_password(db(ctx)?, auth(ctx)?, &viewer, client_ip(ctx), &current_password, &new_password)
            .await?;
        Ok(true)
    }

    /// Changes the given fields of your profile.
    #[graphql(guard = "RoleGuard::fan()")]
    async fn update_profile(&self, ctx: &Context<'_>, input: UpdateProfileInput) -> GqlResult<User> {
        let changes = users::ProfileChanges { display_name: input.display_name };
        Ok(User(users::update_profile(db(ctx)?, viewer_id(ctx)?, changes).await?.into(), Audience::Owner))
    }

    /// Deletes your account once `password` proves it is yours: your signatures and RSVPs go
    /// (their counters move), and your sessions end; quotes you submitted and events you created
    /// stay, unlinked. A wrong password counts as a failed sign-in (rate limits and delays apply).
    #[graphql(guard = "RoleGuard::fan()")]
    async fn delete_account(&self, ctx: &Context<'_>, password: String) -> GqlResult<bool> {
        let user_id = viewer_id(ctx)?;
        let actor = actor(ctx)?;
        users::delete_account(db(ctx)?, auth(ctx)?, notifier(ctx)?, &actor, client_ip(ctx), user_id, &password).await?;
        Ok(true)
    }

    /// Gives a user a role (admins only; the last admin cannot be demoted).
    #[graphql(guard = "RoleGuard::admin()")]
    async fn set_user_role(&self, ctx: &Context<'_>, user_id: ID, role: Role) -> GqlResult<User> {
        let user_id = decode_as(&user_id, NodeType::User, "userId")?;
        Ok(User(accounts::set_role(db(ctx)?, &actor(ctx)?, user_id, role.into()).await?.into(), Audience::Viewer))
    }
}
