//! In production the schema is for admins to explore: `__schema` and `__type` answer only an
//! admin viewer (others get `UNAUTHENTICATED` or `FORBIDDEN`, like any admin-only field), so the
//! shape of the API is not handed to anyone who asks. `__typename` stays open: clients need it.

use std::sync::Arc;

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextResolve, ResolveInfo};
use async_graphql::{ServerResult, Value};

use crate::domain::DomainError;
use crate::loaders::Loaders;

/// Registers the extension.
pub struct AdminOnlyIntrospection;

impl ExtensionFactory for AdminOnlyIntrospection {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(AdminOnlyIntrospection)
    }
}

#[async_trait::async_trait]
impl Extension for AdminOnlyIntrospection {
    async fn resolve(
        &self,
        ctx: &ExtensionContext<'_>,
        info: ResolveInfo<'_>,
        next: NextResolve<'_>,
    ) -> ServerResult<Option<Value>> {
        let introspection_root = info.path_node.parent.is_none() && matches!(info.name, "__schema" | "__type");
        if introspection_root {
            let viewer = ctx.data_opt::<Arc<Loaders>>().map(|loaders| loaders.viewer).unwrap_or_default();
            let refusal = if viewer.user_id.is_none() {
                Some(DomainError::Unauthenticated)
            } else if !viewer.is_admin() {
                Some(DomainError::Forbidden)
            } else {
                None
            };
            if let Some(refusal) = refusal {
                let position = info.field.name.pos;
                let mut error = async_graphql::Error::from(refusal).into_server_error(position);
                error.path = vec![async_graphql::PathSegment::Field(info.alias.unwrap_or(info.name).to_owned())];
                return Err(error);
            }
        }
        next.run(ctx, info).await
    }
}
