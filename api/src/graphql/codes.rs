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

/// A validation error: a value that does not fit its argument's type (`Invalid value for argument
/// "input.budgetUsd", expected type "Money"`) is the client's input at fault, so `BAD_USER_INPUT`
/// naming the argument path; any other is `GRAPHQL_VALIDATION_FAILED`.
fn validation_error(mut error: ServerError) -> ServerError {
    let field = error
        .message
        .strip_prefix("Invalid value for argument \"")
        .and_then(|rest| rest.split_once('"'))
        .map(|(field, _)| field.to_owned());
    match field {
        Some(field) if !has_code(&error) => {
            let extensions = error.extensions.get_or_insert_with(Default::default);
            extensions.set("code", code::BAD_USER_INPUT);
            extensions.set("field", field);
            error
        }
        _ => with_code(error, code::GRAPHQL_VALIDATION_FAILED),
    }
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
                } else if error.message.starts_with("Failed to parse")
                    || error.message.starts_with("Invalid value")
                    || error.message.starts_with("Expected input type")
                {
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
        let document =
            next.run(ctx, query, variables).await.map_err(|error| with_code(error, code::GRAPHQL_PARSE_FAILED))?;
        super::limits::check(&document).map_err(|error| with_code(error, code::GRAPHQL_VALIDATION_FAILED))?;
        super::input_text::check(&document, variables)?;
        Ok(document)
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        next.run(ctx).await.map_err(|errors| errors.into_iter().map(validation_error).collect())
    }
}
