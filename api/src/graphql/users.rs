//! Accounts as the API shows them: `User`, `Rsvp`, `me`, and the admins' `users`/`user`.

use async_graphql::{Context, ID, InputObject, Object};
use entity::{rsvp, user};

use super::connection::{self, Connection, NodeName};
use super::errors::GqlResult;
use super::events::Event;
use super::guards::RoleGuard;
use super::ids::{NodeType, decode_as, global_id, global_id_text};
use super::petitions::Signature;
use super::quotes::Quote;
use super::scalars::{DateTime, Role, RsvpStatus, order_input};
use super::{db, loaders, viewer_id};
use crate::domain::{self, DomainResult, users, validate};
use crate::loaders::{OwnQuoteScope, OwnRsvpScope, OwnSignatureScope};

/// An account. Its email, `emailVerified` and `lastLoginAt` are shown only to the user itself and
/// to admins; its signatures, RSVPs and submitted quotes only to the user itself.
#[derive(Clone)]
pub(crate) struct User(pub std::sync::Arc<user::Model>, pub Audience);

/// Who is looking at a `User`: the account's owner just signed in, or anyone else (the email is
/// then shown only to the user itself and admins).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Audience {
    Owner,
    Viewer,
}

impl NodeName for User {
    const NAME: &'static str = "User";
}

impl User {
    /// Whether the viewer is this user (signed in as them, or just signed in as them).
    fn is_viewer(&self, ctx: &Context<'_>) -> GqlResult<bool> {
        Ok(self.1 == Audience::Owner || loaders(ctx)?.viewer.user_id == Some(self.0.id))
    }

    /// One of the user's own lists, children of the user in `scope`: null unless the viewer is
    /// this user.
    async fn own<S, N>(
        &self,
        ctx: &Context<'_>,
        scope: S,
        page: crate::domain::paging::PageRequest,
        wrap: impl Fn(std::sync::Arc<<S::Entity as sea_orm::EntityTrait>::Model>) -> N,
    ) -> GqlResult<Option<Connection<N>>>
    where
        S: crate::loaders::ScopeLoaders,
        <S::Entity as sea_orm::EntityTrait>::Model: Send + Sync,
    {
        if !self.is_viewer(ctx)? {
            return Ok(None);
        }
        Ok(Some(connection::children(ctx, scope, self.0.id, page, wrap).await?))
    }

    /// Whether the viewer may see this user's private details: the user itself or an admin.
    fn private_visible(&self, ctx: &Context<'_>) -> GqlResult<bool> {
        Ok(self.is_viewer(ctx)? || loaders(ctx)?.viewer.is_admin())
    }
}

#[Object]
impl User {
    /// The global ID.
    pub(crate) async fn id(&self) -> ID {
        global_id(NodeType::User, self.0.id)
    }
    async fn display_name(&self) -> &str {
        &self.0.display_name
    }
    /// The sign-in email; null unless you are this user or an admin.
    async fn email(&self, ctx: &Context<'_>) -> GqlResult<Option<&str>> {
        Ok(self.private_visible(ctx)?.then_some(self.0.email.as_str()))
    }
    /// Whether the email address was proven to be this user's. Always false for now: no mail is
    /// sent yet, so nothing can verify an address. Null unless you are this user or an admin.
    async fn email_verified(&self, ctx: &Context<'_>) -> GqlResult<Option<bool>> {
        Ok(self.private_visible(ctx)?.then_some(self.0.email_verified))
    }
    /// When this user last signed in with `login` (registering signs in without counting as
    /// one); null before the first, and unless you are this user or an admin.
    async fn last_login_at(&self, ctx: &Context<'_>) -> GqlResult<Option<DateTime>> {
        Ok(self.private_visible(ctx)?.then_some(self.0.last_login_at).flatten().map(DateTime))
    }
    async fn role(&self) -> Role {
        self.0.role.into()
    }
    async fn created_at(&self) -> DateTime {
        DateTime(self.0.created_at)
    }
    /// The petitions you signed, as your signatures (with your own details even when they are
    /// not public), newest first; null unless you are this user.
    #[graphql(complexity = "super::connection::cost(first, last, child_complexity)")]
    async fn signatures(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> GqlResult<Option<Connection<Signature>>> {
        self.own(ctx, OwnSignatureScope, connection::page_request(first, after, last, before)?, Signature).await
    }
    /// Your answers to events, newest first; null unless you are this user.
    #[graphql(complexity = "super::connection::cost(first, last, child_complexity)")]
    async fn rsvps(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> GqlResult<Option<Connection<Rsvp>>> {
        self.own(ctx, OwnRsvpScope, connection::page_request(first, after, last, before)?, Rsvp).await
    }
    /// The quotes you submitted, whatever their status, newest first; null unless you are this
    /// user.
    #[graphql(complexity = "super::connection::cost(first, last, child_complexity)")]
    async fn submitted_quotes(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> GqlResult<Option<Connection<Quote>>> {
        self.own(ctx, OwnQuoteScope, connection::page_request(first, after, last, before)?, Quote).await
    }
}

/// A fan's answer to an event; visible only to that fan.
#[derive(Clone)]
pub(crate) struct Rsvp(pub std::sync::Arc<rsvp::Model>);

impl NodeName for Rsvp {
    const NAME: &'static str = "Rsvp";
}

#[Object]
impl Rsvp {
    /// The global ID.
    pub(crate) async fn id(&self) -> ID {
        global_id(NodeType::Rsvp, self.0.id)
    }
    async fn event(&self, ctx: &Context<'_>) -> GqlResult<Event> {
        Ok(Event(super::parent(&loaders(ctx)?.events, self.0.event_id, "event").await?))
    }
    async fn status(&self) -> RsvpStatus {
        self.0.status.into()
    }
    async fn created_at(&self) -> DateTime {
        DateTime(self.0.created_at)
    }
}

order_input!(
    /// The keys the user list can be sorted by.
    UserOrderField => users::UserOrderField { CreatedAt, Email, DisplayName, LastLoginAt },
    /// How to sort users; ties are broken by id.
    UserOrder
);

/// Narrows the user list; all given conditions must hold.
#[derive(InputObject, Default)]
pub(crate) struct UserFilter {
    role: Option<Role>,
    /// Emails containing this text, ignoring case.
    email_contains: Option<String>,
    /// Registered strictly after this instant.
    created_after: Option<DateTime>,
}

impl UserFilter {
    fn into_domain(self) -> DomainResult<users::UserFilter> {
        Ok(users::UserFilter {
            role: self.role.map(Into::into),
            email_contains: validate::filter_text("filter.emailContains", self.email_contains, validate::EMAIL_MAX)?,
            created_after: self.created_after.map(|instant| instant.0),
        })
    }
}

/// `me`, the admins' `users` and `user`, and `exportMyData`.
#[derive(Default)]
pub(crate) struct UserQuery;

#[Object]
impl UserQuery {
    /// The signed-in user; null when anonymous.
    async fn me(&self, ctx: &Context<'_>) -> GqlResult<Option<User>> {
        let loaders = loaders(ctx)?;
        let Some(user_id) = loaders.viewer.user_id else {
            return Ok(None);
        };
        Ok(loaders.users.load_one(user_id).await?.map(|user| User(user, Audience::Owner)))
    }

    /// Every account, newest first unless `orderBy` says otherwise (admins only).
    #[graphql(guard = "RoleGuard::admin()", complexity = "super::connection::cost(first, last, child_complexity)")]
    async fn users(
        &self,
        ctx: &Context<'_>,
        filter: Option<UserFilter>,
        order_by: Option<UserOrder>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> GqlResult<Connection<User>> {
        let page = connection::page_request(first, after, last, before)?;
        let condition = filter.unwrap_or_default().into_domain()?.condition(db(ctx)?.get_database_backend());
        let sort = super::scalars::sort_or(
            order_by,
            (users::UserOrderField::CreatedAt, domain::paging::Direction::Desc),
            users::sort,
        );
        connection::list::<user::Entity, _>(ctx, condition, sort, page, |row| User(row, Audience::Viewer)).await
    }

    /// An account by global ID; null when there is none (admins only).
    #[graphql(guard = "RoleGuard::admin()")]
    async fn user(&self, ctx: &Context<'_>, id: ID) -> GqlResult<Option<User>> {
        let id = decode_as(&id, NodeType::User, "id")?;
        Ok(loaders(ctx)?.users.load_one(id).await?.map(|row| User(row, Audience::Viewer)))
    }

    /// Every row that names you (your account, signatures, RSVPs, submitted quotes, events you
    /// created, sessions), as the text of one JSON document; no password or token hashes.
    #[graphql(guard = "RoleGuard::fan()")]
    async fn export_my_data(&self, ctx: &Context<'_>) -> GqlResult<String> {
        let document = users::export(db(ctx)?, viewer_id(ctx)?, global_id_text).await?;
        Ok(document.to_string())
    }
}
