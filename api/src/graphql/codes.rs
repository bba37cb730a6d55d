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

const INVALID_ARGUMENT: &str = "Invalid value for argument \"";

/// The message of a value that did not coerce to its input type.
fn is_coercion_error(message: &str) -> bool {
    message.starts_with("Failed to parse") || message.starts_with("Expected input type")
}

/// A validation error: a value that does not fit its argument's type (`Invalid value for argument
/// "input.budgetUsd", expected type "Money"`) is the client's input at fault, so `BAD_USER_INPUT`
/// naming the argument path; any other is `GRAPHQL_VALIDATION_FAILED`.
fn validation_error(mut error: ServerError) -> ServerError {
    let field = error
        .message
        .strip_prefix(INVALID_ARGUMENT)
        .and_then(|rest| rest.split_once('"'))
        .map(|(field, _)| field.to_owned());
    match field {
        Some(field) if !has_code(&error) => {
            let extensions = error.extensions.get_or_insert_with(Default::default);
            extensions.set("code", code::BAD_USER_INPUT);
            extensions.set("field", field);
            error
        }
        _ if is_coercion_error(&error.message) => with_code(error, code::BAD_USER_INPUT),
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
                } else if is_coercion_error(&error.message) || error.message.starts_with("Invalid value") {
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
        next.run(ctx).await.map_err(|errors| {
            // The complexity pass parses `first`/`last` itself and reports a bad value a second
            // time, without naming the argument; the argument check's error already says it all.
            let named = errors.iter().any(|error| error.message.starts_with(INVALID_ARGUMENT));
            errors
                .into_iter()
                .filter(|error| !(named && is_coercion_error(&error.message)))
                .map(validation_error)
                .collect()
        })
    }
}
