//! Authorization in one place: every mutation and private field names the role it needs with a
//! `RoleGuard`. No token means `UNAUTHENTICATED`; too little role means `FORBIDDEN`.

use async_graphql::{Context, Guard};
use entity::enums::Role;

use super::loaders;
use crate::domain::DomainError;

/// Requires a signed-in viewer with at least a role.
pub(crate) struct RoleGuard(Role);

impl RoleGuard {
    /// Any signed-in user.
    pub(crate) fn fan() -> Self {
        Self(Role::Fan)
    }

    /// Moderators and admins.
    pub(crate) fn moderator() -> Self {
        Self(Role::Moderator)
    }

    /// Admins only.
    pub(crate) fn admin() -> Self {
        Self(Role::Admin)
    }
}

impl Guard for RoleGuard {
    async fn check(&self, ctx: &Context<'_>) -> async_graphql::Result<()> {
        let viewer = loaders(ctx)?.viewer;
        if viewer.user_id.is_none() {
            return Err(DomainError::Unauthenticated.into());
        }
        if !viewer.has_role(self.0) {
            return Err(DomainError::Forbidden.into());
        }
        Ok(())
    }
}
