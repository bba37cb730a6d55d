//! In production the schema is for admins to explore: `__schema` and `__type` answer only an
//! admin viewer (others get `UNAUTHENTICATED` or `FORBIDDEN`, like any admin-only field), so the
//! shape of the API is not handed to anyone who asks. `__typename` stays open: clients need it.
//! Checked by the request pipeline (`pipeline`) as each root field resolves.

use std::sync::Arc;

use async_graphql::ServerError;
use async_graphql::extensions::{ExtensionContext, ResolveInfo};

use crate::domain::DomainError;
use crate::loaders::Loaders;

/// The refusal of a field about to resolve, when it is an introspection root and the viewer is
/// not an admin.
pub(super) fn refusal(ctx: &ExtensionContext<'_>, info: &ResolveInfo<'_>) -> Option<ServerError> {
    let introspection_root = info.path_node.parent.is_none() && matches!(info.name, "__schema" | "__type");
    if !introspection_root {
        return None;
    }
    let viewer = ctx.data_opt::<Arc<Loaders>>().map(|loaders| loaders.viewer).unwrap_or_default();
    let refusal = if viewer.user_id.is_none() {
        DomainError::Unauthenticated
    } else if !viewer.is_admin() {
        DomainError::Forbidden
    } else {
        return None;
    };
    let position = info.field.name.pos;
    let mut error = async_graphql::Error::from(refusal).into_server_error(position);
    error.path = vec![async_graphql::PathSegment::Field(info.alias.unwrap_or(info.name).to_owned())];
    Some(error)
}
