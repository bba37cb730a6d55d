//! Gives every error an `extensions.code`: parse and validation errors get theirs here, and any
//! error a resolver raised without one (argument coercion, a library error) is coded too, masked
//! when it is not the client's fault. Called by the request pipeline (`pipeline`) once per request,
//! at its parse, validation and response.
//!
//! A value that fails to coerce outside the argument check (an input object sent as a string while
//! resolving; an `Int` beyond 32 bits while costing the query) is reported at the position of the
//! argument or of its field, without the argument's name; the pipeline names it from where each
//! argument is written (`Arguments`), walked only when such an error needs naming.

use std::collections::HashMap;

use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::{Pos, ServerError, Variables};
use async_graphql_value::ConstValue;

use super::errors::internal;
use crate::code;

/// The codes of persisted and trusted documents (`persisted`), in Apollo's spelling where Apollo
/// has one.
pub(crate) mod persisted {
    /// A hash sent alone that this process does not know: send it again with its `query`.
    pub(crate) const PERSISTED_QUERY_NOT_FOUND: &str = "PERSISTED_QUERY_NOT_FOUND";
    /// A `sha256Hash` sent with a `query` that is not the query's SHA-256.
    pub(crate) const PERSISTED_QUERY_HASH_MISMATCH: &str = "PERSISTED_QUERY_HASH_MISMATCH";
    /// A document outside the trusted-documents manifest, from a viewer who is not an admin.
    pub(crate) const PERSISTED_QUERY_NOT_ALLOWED: &str = "PERSISTED_QUERY_NOT_ALLOWED";
}

/// Names the argument an error is about, if it can.
pub(super) type NameArgument<'a> = &'a dyn Fn(&ServerError) -> Option<String>;

/// The arguments of a document: their names by the position of their value, and each field's
/// arguments (with variables filled in) by the position of the field.
#[derive(Default)]
pub(super) struct Arguments {
    at_value: HashMap<Pos, (String, ConstValue)>,
    of_field: HashMap<Pos, Vec<(String, ConstValue)>>,
}

impl Arguments {
    pub(super) fn of(document: &ExecutableDocument, variables: &Variables) -> Self {
        let mut arguments = Self::default();
        for (_, operation) in document.operations.iter() {
            arguments.walk(&operation.node.selection_set.node, variables);
        }
        for fragment in document.fragments.values() {
            arguments.walk(&fragment.node.selection_set.node, variables);
        }
        arguments
    }

    fn walk(&mut self, set: &SelectionSet, variables: &Variables) {
        for selection in &set.items {
            match &selection.node {
                Selection::Field(field) => {
                    let mut values = Vec::new();
                    for (name, value) in &field.node.arguments {
                        let resolved = value
                            .node
                            .clone()
                            .into_const_with(|name| variables.get(&name).cloned().ok_or(()))
                            .unwrap_or(ConstValue::Null);
                        self.at_value.insert(value.pos, (name.node.to_string(), resolved.clone()));
                        values.push((name.node.to_string(), resolved));
                    }
                    self.of_field.insert(field.pos, values);
                    self.walk(&field.node.selection_set.node, variables);
                }
                Selection::InlineFragment(fragment) => self.walk(&fragment.node.selection_set.node, variables),
                Selection::FragmentSpread(_) => {}
            }
        }
    }

    /// The argument a coercion error is about: the one written at its position, or else, at a
    /// field's position, the field's first argument whose value cannot be of the type it names.
    pub(super) fn named_by(&self, error: &ServerError) -> Option<String> {
        let position = error.locations.first()?;
        let int_error = error.message.contains("\"Int\"");
        if let Some((name, value)) = self.at_value.get(position) {
            let nested = match value {
                ConstValue::Object(fields) if int_error => misfit_field(fields, misfit_int),
                _ => None,
            };
            return Some(nested.map_or_else(|| name.clone(), |path| format!("{name}.{path}")));
        }
        let misfit: fn(&ConstValue) -> bool = if int_error {
            misfit_int
        } else if error.message.contains("\"ID\"") {
            |value| match value {
                ConstValue::List(items) => {
                    items.iter().any(|item| !matches!(item, ConstValue::String(_) | ConstValue::Number(_)))
                }
                ConstValue::String(_) | ConstValue::Number(_) | ConstValue::Null => false,
                _ => true,
            }
        } else {
            return None;
        };
        self.of_field.get(position)?.iter().find_map(|(name, value)| {
            // Inside an input object, the field whose value misfits (`input.goal`), not the whole
            // argument, is the one at fault.
            let nested = match value {
                ConstValue::Object(fields) => misfit_field(fields, misfit),
                _ => None,
            };
            match nested {
                Some(path) => Some(format!("{name}.{path}")),
                None => misfit(value).then(|| name.clone()),
            }
        })
    }
}

/// Whether `value` cannot be an `Int`.
fn misfit_int(value: &ConstValue) -> bool {
    match value {
        ConstValue::Number(number) => number.as_i64().is_none_or(|n| i32::try_from(n).is_err()),
        ConstValue::Null => false,
        _ => true,
    }
}

/// The path, inside an input object, of the first number that misfits (an `Int` beyond 32 bits or
/// with a fraction); other fields may rightly hold strings or larger numbers.
fn misfit_field(
    fields: &async_graphql::indexmap::IndexMap<async_graphql::Name, ConstValue>,
    misfit: fn(&ConstValue) -> bool,
) -> Option<String> {
    fields.iter().find_map(|(name, value)| match value {
        ConstValue::Object(inner) => misfit_field(inner, misfit).map(|path| format!("{name}.{path}")),
        ConstValue::Number(_) if misfit(value) => Some(name.to_string()),
        _ => None,
    })
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

/// Codes a coercion error as the client's input at fault, naming the argument written at its
/// position when there is one.
fn coercion_error(name: NameArgument<'_>, error: ServerError) -> ServerError {
    let field = name(&error);
    let mut error = with_code(error, code::BAD_USER_INPUT);
    let extensions = error.extensions.get_or_insert_with(Default::default);
    if let Some(field) = field
        && extensions.get("field").is_none()
    {
        extensions.set("field", field);
    }
    error
}

/// A validation error: a value that does not fit its argument's type (`Invalid value for argument
/// "input.budgetUsd", expected type "Money"`) is the client's input at fault, so `BAD_USER_INPUT`
/// naming the argument path; any other is `GRAPHQL_VALIDATION_FAILED`.
fn validation_error(name: NameArgument<'_>, mut error: ServerError) -> ServerError {
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
        _ if is_coercion_error(&error.message) => coercion_error(name, error),
        _ => with_code(error, code::GRAPHQL_VALIDATION_FAILED),
    }
}

/// Codes the errors of a response: those of a request refused before it ran, and those its
/// resolvers raised.
pub(super) fn response_errors(errors: Vec<ServerError>, name: NameArgument<'_>) -> Vec<ServerError> {
    errors
        .into_iter()
        .map(|error| {
            if is_coercion_error(&error.message) && !error.path.is_empty() {
                // Our scalars code their refusals already; the argument's name is added here.
                coercion_error(name, error)
            } else if has_code(&error) {
                error
            } else if error.path.is_empty() {
                with_code(error, code::GRAPHQL_VALIDATION_FAILED)
            } else if is_coercion_error(&error.message) || error.message.starts_with("Invalid value") {
                coercion_error(name, error)
            } else {
                let masked =
                    internal(&error.message).into_server_error(error.locations.first().copied().unwrap_or_default());
                ServerError { path: error.path, locations: error.locations, ..masked }
            }
        })
        .collect()
}

/// Codes a parse error.
pub(super) fn parse_error(error: ServerError) -> ServerError {
    with_code(error, code::GRAPHQL_PARSE_FAILED)
}

/// Codes the errors of a failed validation.
pub(super) fn validation_errors(errors: Vec<ServerError>, name: NameArgument<'_>) -> Vec<ServerError> {
    // The complexity pass parses `first`/`last`/`ids` itself and reports a bad or missing value a
    // second time, at the field; when another error already says what is wrong, such an echo that
    // names no argument is dropped.
    let named = errors.iter().any(|error| error.message.starts_with(INVALID_ARGUMENT));
    let coded: Vec<ServerError> = errors
        .into_iter()
        .filter(|error| !(named && is_coercion_error(&error.message)))
        .map(|error| validation_error(name, error))
        .collect();
    let echo = |error: &ServerError| {
        is_coercion_error(&error.message)
            && error.extensions.as_ref().is_none_or(|extensions| extensions.get("field").is_none())
    };
    if coded.iter().any(|error| !echo(error)) {
        coded.into_iter().filter(|error| !echo(error)).collect()
    } else {
        coded
    }
}
