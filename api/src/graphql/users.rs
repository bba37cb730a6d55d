//! Accounts as the API shows them: `User`, `Rsvp` and `me`.

use async_graphql::{Context, ID, Object};
use entity::{rsvp, user};

use super::errors::GqlResult;
use super::events::Event;
use super::loaders;
use super::node::{NodeType, global_id};
use super::scalars::{DateTime, Role, RsvpStatus};
use crate::domain::DomainError;

/// An account. `email` is shown only to the user itself and to admins.
#[derive(Clone)]
pub struct User(pub user::Model, pub Audience);

/// Who is looking at a `User`: the account's owner just signed in, or anyone else (the email is
/// then shown only to the user itself and admins).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    Owner,
    Viewer,
}

#[Object]
impl User {
    /// The global ID.
    pub async fn id(&self) -> ID {
        global_id(NodeType::User, self.0.id)
    }
    async fn display_name(&self) -> &str {
        &self.0.display_name
    }
    /// The sign-in email; null unless you are this user or an admin.
    async fn email(&self, ctx: &Context<'_>) -> GqlResult<Option<&str>> {
        let viewer = loaders(ctx)?.viewer;
        let visible = self.1 == Audience::Owner || viewer.user_id == Some(self.0.id) || viewer.is_admin();
        Ok(visible.then_some(self.0.email.as_str()))
    }
    async fn role(&self) -> Role {
        self.0.role.into()
    }
    async fn created_at(&self) -> DateTime {
        DateTime(self.0.created_at)
    }
}

/// A fan's answer to an event; visible only to that fan.
#[derive(Clone)]
pub struct Rsvp(pub rsvp::Model);

#[Object]
impl Rsvp {
    /// The global ID.
    pub async fn id(&self) -> ID {
        global_id(NodeType::Rsvp, self.0.id)
    }
    async fn event(&self, ctx: &Context<'_>) -> GqlResult<Event> {
        let event = loaders(ctx)?.events.load_one(self.0.event_id).await?;
        Ok(Event(event.ok_or(DomainError::NotFound("event"))?))
    }
    async fn status(&self) -> RsvpStatus {
        self.0.status.into()
    }
    async fn created_at(&self) -> DateTime {
        DateTime(self.0.created_at)
    }
}

/// `me`.
#[derive(Default)]
pub struct UserQuery;

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
}
