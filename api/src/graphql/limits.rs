//! Limits on a parsed document, checked before validation and execution: data nested at most 10
//! fields deep (introspection, which client generators send 15 deep, gets 20), at most 15 aliases,
//! at most 5 directives on one field or fragment, at most one `login` or `register` (each hashes a
//! password). Fragments count where they are spread.

use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::{Pos, Positioned, ServerError};

/// The deepest a data selection may nest.
pub const MAX_DEPTH: usize = 10;
/// The deepest an introspection selection (`__schema`, `__type`) may nest.
pub const MAX_INTROSPECTION_DEPTH: usize = 20;
/// The most aliases a document may use.
pub const MAX_ALIASES: usize = 15;
/// The most directives on one field or fragment.
pub const MAX_DIRECTIVES: usize = 5;

struct Walk<'a> {
    document: &'a ExecutableDocument,
    aliases: usize,
    /// Fragments being expanded, so a cycle (refused later by validation) cannot recurse forever.
    expanding: Vec<&'a str>,
}

fn refuse(message: String, pos: Pos) -> ServerError {
    ServerError::new(message, Some(pos))
}

impl<'a> Walk<'a> {
    fn selection_set(
        &mut self,
        set: &'a Positioned<SelectionSet>,
        depth: usize,
        limit: usize,
    ) -> Result<(), ServerError> {
        for selection in &set.node.items {
            match &selection.node {
                Selection::Field(field) => {
                    let field_limit =
                        if depth == 0 && field.node.name.node.starts_with("__") && field.node.name.node != "__typename"
                        {
                            MAX_INTROSPECTION_DEPTH
                        } else {
                            limit
                        };
                    if depth + 1 > field_limit {
                        return Err(refuse(format!("the query nests deeper than {field_limit} fields"), field.pos));
                    }
                    if field.node.alias.is_some() {
                        self.aliases += 1;
                        if self.aliases > MAX_ALIASES {
                            return Err(refuse(format!("the query uses more than {MAX_ALIASES} aliases"), field.pos));
                        }
                    }
                    if field.node.directives.len() > MAX_DIRECTIVES {
                        return Err(refuse(format!("more than {MAX_DIRECTIVES} directives on one field"), field.pos));
                    }
                    self.selection_set(&field.node.selection_set, depth + 1, field_limit)?;
                }
                Selection::InlineFragment(fragment) => {
                    if fragment.node.directives.len() > MAX_DIRECTIVES {
                        return Err(refuse(
                            format!("more than {MAX_DIRECTIVES} directives on one fragment"),
                            fragment.pos,
                        ));
                    }
                    self.selection_set(&fragment.node.selection_set, depth, limit)?;
                }
                Selection::FragmentSpread(spread) => {
                    if spread.node.directives.len() > MAX_DIRECTIVES {
                        return Err(refuse(
                            format!("more than {MAX_DIRECTIVES} directives on one fragment"),
                            spread.pos,
                        ));
                    }
                    let name = spread.node.fragment_name.node.as_str();
                    if self.expanding.contains(&name) {
                        continue;
                    }
                    if let Some(fragment) = self.document.fragments.get(&spread.node.fragment_name.node) {
                        self.expanding.push(name);
                        self.selection_set(&fragment.node.selection_set, depth, limit)?;
                        self.expanding.pop();
                    }
                }
            }
        }
        Ok(())
    }
}

/// The fields that hash a password; one a request, so aliases cannot multiply guesses.
const PASSWORD_FIELDS: [&str; 2] = ["login", "register"];

/// How many password-hashing fields a selection set asks for at its root.
fn password_fields(document: &ExecutableDocument, set: &SelectionSet, expanding: &mut Vec<String>) -> usize {
    set.items
        .iter()
        .map(|selection| match &selection.node {
            Selection::Field(field) => usize::from(PASSWORD_FIELDS.contains(&field.node.name.node.as_str())),
            Selection::InlineFragment(fragment) => {
                password_fields(document, &fragment.node.selection_set.node, expanding)
            }
            Selection::FragmentSpread(spread) => {
                let name = spread.node.fragment_name.node.to_string();
                match document.fragments.get(&spread.node.fragment_name.node) {
                    Some(fragment) if !expanding.contains(&name) => {
                        expanding.push(name);
                        let count = password_fields(document, &fragment.node.selection_set.node, expanding);
                        expanding.pop();
                        count
                    }
                    _ => 0,
                }
            }
        })
        .sum()
}

/// Checks every operation of `document` against the limits.
pub fn check(document: &ExecutableDocument) -> Result<(), ServerError> {
    let mut walk = Walk { document, aliases: 0, expanding: Vec::new() };
    for (_, operation) in document.operations.iter() {
        walk.aliases = 0;
        walk.selection_set(&operation.node.selection_set, 0, MAX_DEPTH)?;
        if password_fields(document, &operation.node.selection_set.node, &mut Vec::new()) > 1 {
            return Err(refuse("at most one `login` or `register` per request".to_owned(), operation.pos));
        }
    }
    Ok(())
}
