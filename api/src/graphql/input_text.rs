//! One rule for every string a request carries into an argument, written inline or sent as a
//! variable: no NUL character (U+0000), which PostgreSQL text cannot hold and SQLite would store
//! only on one side of the two. Checked once over the whole document before anything runs, so a
//! new argument or input field is covered without a line of its own, and both databases refuse
//! alike with `BAD_USER_INPUT` naming the argument path (`input.title`, `ids.0`).

use std::collections::HashSet;

use async_graphql::parser::types::{Directive, ExecutableDocument, Field, Selection, SelectionSet};
use async_graphql::{ErrorExtensionValues, Name, Pos, Positioned, ServerError, Variables};
use async_graphql_value::{ConstValue, Value};

use crate::code;

/// The variables an operation runs with: those sent, else the declared defaults.
struct Scope<'a> {
    document: &'a ExecutableDocument,
    sent: &'a Variables,
    defaults: Vec<(&'a Name, &'a ConstValue)>,
    visited: HashSet<&'a Name>,
}

impl<'a> Scope<'a> {
    fn variable(&self, name: &Name) -> Option<&'a ConstValue> {
        self.sent.get(name).or_else(|| self.defaults.iter().find(|(n, _)| *n == name).map(|(_, value)| *value))
    }
}

/// Refuses the first argument string holding a NUL, in any operation of `document`.
pub(crate) fn check(document: &ExecutableDocument, variables: &Variables) -> Result<(), ServerError> {
    for (_, operation) in document.operations.iter() {
        let defaults = operation
            .node
            .variable_definitions
            .iter()
            .filter_map(|definition| {
                definition.node.default_value.as_ref().map(|value| (&definition.node.name.node, &value.node))
            })
            .collect();
        let mut scope = Scope { document, sent: variables, defaults, visited: HashSet::new() };
        directives(&mut scope, &operation.node.directives)?;
        selection_set(&mut scope, &operation.node.selection_set.node)?;
    }
    Ok(())
}

fn selection_set<'a>(scope: &mut Scope<'a>, set: &'a SelectionSet) -> Result<(), ServerError> {
    for selection in &set.items {
        match &selection.node {
            Selection::Field(field) => self::field(scope, &field.node)?,
            Selection::InlineFragment(fragment) => {
                directives(scope, &fragment.node.directives)?;
                selection_set(scope, &fragment.node.selection_set.node)?;
            }
            Selection::FragmentSpread(spread) => {
                directives(scope, &spread.node.directives)?;
                let name = &spread.node.fragment_name.node;
                // Each fragment once: spreads may repeat or (until validation refuses it) cycle.
                if scope.visited.insert(name)
                    && let Some(fragment) = scope.document.fragments.get(name)
                {
                    directives(scope, &fragment.node.directives)?;
                    selection_set(scope, &fragment.node.selection_set.node)?;
                }
            }
        }
    }
    Ok(())
}

fn field<'a>(scope: &mut Scope<'a>, field: &'a Field) -> Result<(), ServerError> {
    for (name, value) in &field.arguments {
        argument(scope, name.node.as_str(), value)?;
    }
    directives(scope, &field.directives)?;
    selection_set(scope, &field.selection_set.node)
}

fn directives(scope: &mut Scope<'_>, directives: &[Positioned<Directive>]) -> Result<(), ServerError> {
    for directive in directives {
        for (name, value) in &directive.node.arguments {
            argument(scope, name.node.as_str(), value)?;
        }
    }
    Ok(())
}

fn argument(scope: &Scope<'_>, name: &str, value: &Positioned<Value>) -> Result<(), ServerError> {
    let mut path = vec![name.to_owned()];
    match literal(scope, &value.node, &mut path) {
        true => Ok(()),
        false => Err(refusal(&path, value.pos)),
    }
}

/// Whether any string among the variables sent holds a NUL (a document whose literals are clean
/// then needs no walk: see `documents`).
pub(crate) fn has_nul(variables: &Variables) -> bool {
    fn holds_nul(value: &ConstValue) -> bool {
        match value {
            ConstValue::String(text) => text.contains('\0'),
            ConstValue::List(items) => items.iter().any(holds_nul),
            ConstValue::Object(fields) => fields.values().any(holds_nul),
            ConstValue::Null
            | ConstValue::Number(_)
            | ConstValue::Boolean(_)
            | ConstValue::Binary(_)
            | ConstValue::Enum(_) => false,
        }
    }
    variables.iter().any(|(_, value)| holds_nul(value))
}

/// Walks a value as written, following variables; `false` (with `path` at the string) on a NUL.
fn literal(scope: &Scope<'_>, value: &Value, path: &mut Vec<String>) -> bool {
    match value {
        Value::Variable(name) => scope.variable(name).is_none_or(|value| constant(value, path)),
        Value::String(text) => !text.contains('\0'),
        Value::List(items) => {
            items.iter().enumerate().all(|(index, item)| nested(path, index, |path| literal(scope, item, path)))
        }
        Value::Object(fields) => fields.iter().all(|(key, item)| nested(path, key, |path| literal(scope, item, path))),
        Value::Null | Value::Number(_) | Value::Boolean(_) | Value::Binary(_) | Value::Enum(_) => true,
    }
}

/// Walks a variable's value; `false` (with `path` at the string) on a NUL.
fn constant(value: &ConstValue, path: &mut Vec<String>) -> bool {
    match value {
        ConstValue::String(text) => !text.contains('\0'),
        ConstValue::List(items) => {
            items.iter().enumerate().all(|(index, item)| nested(path, index, |path| constant(item, path)))
        }
        ConstValue::Object(fields) => fields.iter().all(|(key, item)| nested(path, key, |path| constant(item, path))),
        ConstValue::Null
        | ConstValue::Number(_)
        | ConstValue::Boolean(_)
        | ConstValue::Binary(_)
        | ConstValue::Enum(_) => true,
    }
}

/// Runs `walk` one step deeper in `path`, keeping the step when it fails.
fn nested(path: &mut Vec<String>, step: impl ToString, walk: impl FnOnce(&mut Vec<String>) -> bool) -> bool {
    path.push(step.to_string());
    let clean = walk(path);
    if clean {
        path.pop();
    }
    clean
}

fn refusal(path: &[String], pos: Pos) -> ServerError {
    let mut error = ServerError::new("must not contain the NUL character (U+0000)", Some(pos));
    let mut extensions = ErrorExtensionValues::default();
    extensions.set("code", code::BAD_USER_INPUT);
    extensions.set("field", path.join("."));
    error.extensions = Some(extensions);
    error
}
