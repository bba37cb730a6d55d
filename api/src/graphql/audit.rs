//! The audit trail as the API shows it: `AuditEvent` and the admins' `auditLog`, plus `actor`,
//! which every audited mutation passes to `domain::audit` (see there for how to record a change).

use std::sync::Arc;

use async_graphql::{Context, ID, InputObject, Object};
use entity::audit_event;

use super::connection::{self, Connection, NodeName};
use super::errors::GqlResult;
use super::guards::RoleGuard;
use super::ids::{NodeType, decode, decode_as, global_id_text};
use super::loaders;
use super::scalars::DateTime;
use super::users::{Audience, User};
use super::where_types::AuditEventWhere;
use crate::domain::audit::{self, AuditFilter};
use crate::domain::{DomainError, DomainResult, validate};

/// One recorded change: who made it, to what, and the fields it changed.
#[derive(Clone)]
pub(crate) struct AuditEvent(pub Arc<audit_event::Model>);

impl NodeName for AuditEvent {
    const NAME: &'static str = "AuditEvent";
}

#[Object]
impl AuditEvent {
    /// An opaque ID of the event.
    async fn id(&self) -> ID {
        ID(global_id_text("AuditEvent", self.0.id))
    }
    /// Who made the change; null once their account is deleted.
    async fn actor(&self, ctx: &Context<'_>) -> GqlResult<Option<User>> {
        let Some(actor) = self.0.actor_id else {
            return Ok(None);
        };
        Ok(loaders(ctx)?.users.load_one(actor).await?.map(|user| User(user, Audience::Viewer)))
    }
    /// The mutation, e.g. `updateFilm`, `signIn`, `setUserRole`, `deleteAccount`.
    async fn action(&self) -> &str {
        &self.0.action
    }
    /// The changed entity's type, e.g. `Film`.
    async fn entity_type(&self) -> &str {
        &self.0.entity_type
    }
    /// The changed entity's global ID (it may no longer exist).
    async fn entity_id(&self) -> Option<ID> {
        self.0.entity_id.map(|id| ID(global_id_text(&self.0.entity_type, id)))
    }
    /// The changed fields as they were, as the text of a JSON object keyed by field name (the
    /// whole row for a deletion, null for a creation). Passwords, hashes and tokens are never kept.
    async fn before(&self) -> Option<&str> {
        self.0.before.as_deref()
    }
    /// The changed fields as they are now, like `before` (the whole row for a creation, null for a
    /// deletion).
    async fn after(&self) -> Option<&str> {
        self.0.after.as_deref()
    }
    /// The `X-Request-Id` of the request that made the change.
    async fn request_id(&self) -> Option<&str> {
        self.0.request_id.as_deref()
    }
    async fn created_at(&self) -> DateTime {
        DateTime(self.0.created_at)
    }
}

/// Narrows the audit log; all given conditions must hold.
#[derive(InputObject, Default)]
pub(crate) struct AuditLogFilter {
    /// Changes made by this user (global ID).
    actor_id: Option<ID>,
    /// Changes to entities of this type, e.g. `Film`.
    entity_type: Option<String>,
    /// Changes to this entity (global ID).
    entity_id: Option<ID>,
    /// Made strictly after this instant.
    after: Option<DateTime>,
    /// Made strictly before this instant.
    before: Option<DateTime>,
}

/// The longest entity type name.
const ENTITY_TYPE_MAX: usize = 64;

impl AuditLogFilter {
    fn into_domain(self) -> DomainResult<AuditFilter> {
        let actor_id = self.actor_id.map(|id| decode_as(&id, NodeType::User, "filter.actorId")).transpose()?;
        let entity_type = validate::filter_text("filter.entityType", self.entity_type, ENTITY_TYPE_MAX)?;
        let (entity_type, entity_id) = match self.entity_id {
            None => (entity_type, None),
            Some(id) => {
                let (node_type, key) = decode(&id, "filter.entityId")?;
                if entity_type.as_deref().is_some_and(|wanted| wanted != node_type.name()) {
                    return Err(DomainError::invalid(
                        "filter.entityId",
                        format!("is the ID of a {}, not of the entityType given", node_type.name()),
                    ));
                }
                (Some(node_type.name().to_owned()), Some(key))
            }
        };
        Ok(AuditFilter {
            actor_id,
            entity_type,
            entity_id,
            after: self.after.map(|instant| instant.0),
            before: self.before.map(|instant| instant.0),
        })
    }
}

/// The admins' `auditLog`.
#[derive(Default)]
pub(crate) struct AuditQuery;

#[Object]
impl AuditQuery {
    /// Every recorded change, newest first (admins only).
    #[graphql(guard = "RoleGuard::admin()", complexity = "super::connection::cost(first, last, child_complexity)")]
    async fn audit_log(
        &self,
        ctx: &Context<'_>,
        filter: Option<AuditLogFilter>,
        #[graphql(name = "where", desc = "Boolean conditions on fields and relations; with `filter`, both must hold.")]
        where_: Option<AuditEventWhere>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> GqlResult<Connection<AuditEvent>> {
        let page = connection::page_request(first, after, last, before)?;
        let condition = filter.unwrap_or_default().into_domain()?.condition();
        let condition = super::where_inputs::and_where(ctx, condition, where_.as_ref())?;
        connection::list::<audit_event::Entity, _>(ctx, condition, audit::SORT, page, AuditEvent).await
    }
}
