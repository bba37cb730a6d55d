//! A schema extension that gives every error an `extensions.code`: parse and validation errors
//! get theirs here, and any error a resolver raised without one (argument coercion, a library
//! error) is coded too, masked when it is not the client's fault.

use std::sync::Arc;

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextParseQuery, NextRequest, NextValidation,
};
use async_graphql::parser::types::ExecutableDocument;
use async_graphql::{Response, ServerError, ServerResult, ValidationResult, Variables};

use super::errors::{code, internal};

/// Registers the extension.
pub struct ErrorCodes;

impl ExtensionFactory for ErrorCodes {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(ErrorCodes)
    }
}

fn has_code(error: &ServerError) -> bool {
    error.extensions.as_ref().is_some_and(|extensions| extensions.get("code").is_some())
}

fn with_code(mut error: ServerError, value: &str) -> ServerError {
    if !has_code(&error) {
        error.extensions.get_or_insert_with(Default::default).set("code", value);
    }
    error
}

#[async_trait::async_trait]
impl Extension for ErrorCodes {
    async fn request(&self, ctx: &ExtensionContext<'_>, next: NextRequest<'_>) -> Response {
        let mut response = next.run(ctx).await;
        response.errors = std::mem::take(&mut response.errors)
            .into_iter()
            .map(|error| {
                if has_code(&error) {
                    error
                } else if error.path.is_empty() {
                    with_code(error, code::GRAPHQL_VALIDATION_FAILED)
                } else if error.message.starts_with("Failed to parse") || error.message.starts_with("Invalid value") {
                    with_code(error, code::BAD_USER_INPUT)
                } else {
                    let masked = internal(&error.message)
                        .into_server_error(error.locations.first().copied().unwrap_or_default());
                    ServerError { path: error.path, locations: error.locations, ..masked }
                }
            })
            .collect();
        response
    }

    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        next.run(ctx, query, variables).await.map_err(|error| with_code(error, code::GRAPHQL_PARSE_FAILED))
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        next.run(ctx).await.map_err(|errors| {
            errors.into_iter().map(|error| with_code(error, code::GRAPHQL_VALIDATION_FAILED)).collect()
        })
    }
}
