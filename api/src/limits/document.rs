//! Guards the parser and the executor against one oversized GraphQL document. Before the parser:
//! brackets nested at most `MAX_NESTING` deep in the raw text (the parser recurses once per level).
//! Before validation and execution, in time linear in the document's text: at most so many tokens (counted before the parser runs), at most so many field selections
//! and fragment spreads once fragments are expanded, data nested at most 10 fields deep
//! (introspection, which client generators send 15 deep, gets 20), at most 15 aliases, at most 5
//! directives on one field or fragment, and at most one of the sign-in operations
//! (`sign_in::SIGN_IN_OPERATIONS`: each hashes or checks a password, or sends mail).
//!
//! Fragments count where they are spread, so `fragment F1 on Query { ...F0 ...F0 }` doubles what
//! `F0` costs: a kilobyte of such fragments would expand to tens of millions of fields. Each
//! fragment's cost is computed once and reused, so measuring a bomb is as cheap as reading it, and
//! the library's own passes (which walk every expansion) never see a document over the limits.

use std::collections::HashMap;

use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::{Name, Pos, ServerError};

use super::sign_in::{SIGN_IN_OPERATIONS, sign_in_operation_list};
use crate::code;
use crate::config::DocumentLimits;

/// The deepest a data selection may nest.
pub(crate) const MAX_DEPTH: usize = 10;
/// The deepest an introspection selection (`__schema`, `__type`) may nest.
pub(crate) const MAX_INTROSPECTION_DEPTH: usize = 20;
/// The most aliases a document may use.
pub(crate) const MAX_ALIASES: usize = 15;
/// The most directives on one field or fragment.
pub(crate) const MAX_DIRECTIVES: usize = 5;

/// The first byte of each GraphQL token in `document`, in order: punctuators (`...` as `.`), names
/// and numbers (runs of letters, digits and `_`), and strings (`"`, block strings included); white
/// space, commas and comments are not tokens. A lexer this small cannot be made to work hard, so it
/// measures a document before the parser sees it.
pub(crate) fn tokens(document: &str) -> impl Iterator<Item = u8> + '_ {
    let bytes = document.as_bytes();
    let mut index = 0_usize;
    let is_word = |byte: u8| byte.is_ascii_alphanumeric() || byte == b'_';
    std::iter::from_fn(move || {
        while index < bytes.len() {
            let byte = bytes[index];
            match byte {
                b' ' | b'\t' | b'\n' | b'\r' | b',' => index += 1,
                b'#' => {
                    while index < bytes.len() && bytes[index] != b'\n' && bytes[index] != b'\r' {
                        index += 1;
                    }
                }
                b'"' if bytes[index..].starts_with(b"\"\"\"") => {
                    index += 3;
                    while index < bytes.len() && !bytes[index..].starts_with(b"\"\"\"") {
                        index += if bytes[index..].starts_with(b"\\\"\"\"") { 4 } else { 1 };
                    }
                    index += 3;
                    return Some(byte);
                }
                b'"' => {
                    index += 1;
                    while index < bytes.len() && bytes[index] != b'"' && bytes[index] != b'\n' {
                        index += if bytes[index] == b'\\' { 2 } else { 1 };
                    }
                    index += 1;
                    return Some(byte);
                }
                b'.' if bytes[index..].starts_with(b"...") => {
                    index += 3;
                    return Some(byte);
                }
                byte if is_word(byte) => {
                    while index < bytes.len() && is_word(bytes[index]) {
                        index += 1;
                    }
                    return Some(byte);
                }
                _ => {
                    index += 1;
                    return Some(byte);
                }
            }
        }
        None
    })
}

/// The number of GraphQL tokens in `document`.
pub(crate) fn token_count(document: &str) -> usize {
    tokens(document).count()
}

/// What a selection set costs once its fragments are expanded.
#[derive(Debug, Clone, Copy, Default)]
struct Cost {
    fields: u64,
    spreads: u64,
    aliases: u64,
    /// The deepest field below, counting this level as 1.
    depth: usize,
    /// Like `depth`, leaving out `__schema` and `__type` at this level (the introspection roots).
    data_depth: usize,
    /// `PASSWORD_FIELDS` at this level.
    password_fields: u64,
}

impl Cost {
    fn add(&mut self, other: Cost) {
        self.fields = self.fields.saturating_add(other.fields);
        self.spreads = self.spreads.saturating_add(other.spreads);
        self.aliases = self.aliases.saturating_add(other.aliases);
        self.depth = self.depth.max(other.depth);
        self.data_depth = self.data_depth.max(other.data_depth);
        self.password_fields = self.password_fields.saturating_add(other.password_fields);
    }
}

/// Whether a field is one of the sign-in operations, which hash or check a password, or send
/// mail; one a request, so aliases cannot multiply guesses or messages.
fn is_sign_in(name: &str) -> bool {
    SIGN_IN_OPERATIONS.iter().any(|operation| operation.field() == name)
}

/// Measures selection sets, remembering each fragment's cost.
struct Measure<'a> {
    document: &'a ExecutableDocument,
    fragments: HashMap<&'a Name, Cost>,
    /// Fragments being measured, so a cycle (refused later by validation) cannot recurse forever.
    measuring: Vec<&'a Name>,
}

fn refuse(message: String, pos: Pos) -> ServerError {
    let mut error = ServerError::new(message, Some(pos));
    error.extensions.get_or_insert_with(Default::default).set("code", code::GRAPHQL_VALIDATION_FAILED);
    error
}

impl<'a> Measure<'a> {
    fn selection_set(&mut self, set: &'a SelectionSet) -> Result<Cost, ServerError> {
        let mut cost = Cost::default();
        for selection in &set.items {
            match &selection.node {
                Selection::Field(field) => {
                    let field = &field.node;
                    if field.directives.len() > MAX_DIRECTIVES {
                        return Err(refuse(
                            format!("more than {MAX_DIRECTIVES} directives on one field"),
                            selection.pos,
                        ));
                    }
                    let below = self.selection_set(&field.selection_set.node)?;
                    let name = field.name.node.as_str();
                    let depth = below.depth + 1;
                    let introspection_root = name == "__schema" || name == "__type";
                    cost.add(Cost {
                        fields: below.fields.saturating_add(1),
                        spreads: below.spreads,
                        aliases: below.aliases.saturating_add(u64::from(field.alias.is_some())),
                        depth,
                        data_depth: if introspection_root { 0 } else { depth },
                        password_fields: u64::from(is_sign_in(name)),
                    });
                }
                Selection::InlineFragment(fragment) => {
                    if fragment.node.directives.len() > MAX_DIRECTIVES {
                        return Err(refuse(
                            format!("more than {MAX_DIRECTIVES} directives on one fragment"),
                            selection.pos,
                        ));
                    }
                    cost.add(self.selection_set(&fragment.node.selection_set.node)?);
                }
                Selection::FragmentSpread(spread) => {
                    if spread.node.directives.len() > MAX_DIRECTIVES {
                        return Err(refuse(
                            format!("more than {MAX_DIRECTIVES} directives on one fragment"),
                            selection.pos,
                        ));
                    }
                    let mut spread_cost = self.fragment(&spread.node.fragment_name.node)?;
                    spread_cost.spreads = spread_cost.spreads.saturating_add(1);
                    cost.add(spread_cost);
                }
            }
        }
        Ok(cost)
    }

    fn fragment(&mut self, name: &'a Name) -> Result<Cost, ServerError> {
        if let Some(cost) = self.fragments.get(name) {
            return Ok(*cost);
        }
        let Some(fragment) = self.document.fragments.get(name) else { return Ok(Cost::default()) };
        if self.measuring.contains(&name) {
            return Ok(Cost::default());
        }
        if fragment.node.directives.len() > MAX_DIRECTIVES {
            return Err(refuse(format!("more than {MAX_DIRECTIVES} directives on one fragment"), fragment.pos));
        }
        self.measuring.push(name);
        let cost = self.selection_set(&fragment.node.selection_set.node);
        self.measuring.pop();
        let cost = cost?;
        self.fragments.insert(name, cost);
        Ok(cost)
    }
}

/// Checks every operation of `document` against the limits.
pub(crate) fn check(document: &ExecutableDocument, limits: &DocumentLimits) -> Result<(), ServerError> {
    let mut measure = Measure { document, fragments: HashMap::new(), measuring: Vec::new() };
    for (_, operation) in document.operations.iter() {
        let cost = measure.selection_set(&operation.node.selection_set.node)?;
        let pos = operation.pos;
        if cost.fields > limits.max_fields {
            return Err(refuse(
                format!("the query selects more than {} fields once its fragments are expanded", limits.max_fields),
                pos,
            ));
        }
        if cost.spreads > limits.max_spreads {
            return Err(refuse(
                format!("the query spreads fragments more than {} times once expanded", limits.max_spreads),
                pos,
            ));
        }
        if cost.data_depth > MAX_DEPTH {
            return Err(refuse(format!("the query nests deeper than {MAX_DEPTH} fields"), pos));
        }
        if cost.depth > MAX_INTROSPECTION_DEPTH {
            return Err(refuse(format!("the query nests deeper than {MAX_INTROSPECTION_DEPTH} fields"), pos));
        }
        if cost.aliases > MAX_ALIASES as u64 {
            return Err(refuse(format!("the query uses more than {MAX_ALIASES} aliases"), pos));
        }
        if cost.password_fields > 1 {
            let operations = sign_in_operation_list("`, `", "` or `");
            return Err(refuse(format!("at most one `{operations}` per request"), pos));
        }
    }
    Ok(())
}

/// Refuses a document of more than `max_tokens` tokens, counted before the parser sees it (see
/// `pipeline`, which then parses it and `check`s it).
pub(crate) fn check_tokens(text: &str, limits: &DocumentLimits) -> Result<(), ServerError> {
    if token_count(text) > limits.max_tokens {
        return Err(refuse(format!("the document has more than {} tokens", limits.max_tokens), Pos::default()));
    }
    Ok(())
}

// The raw text, before the parser: it recurses once per nesting level of `(`, `[` and `{`, and a
// few kilobytes of brackets would overflow its stack and abort the whole process.

/// The deepest nesting of brackets a document may have.
pub(crate) const MAX_NESTING: usize = 64;

/// The deepest nesting of `(`, `[` and `{` outside strings and comments.
pub(crate) fn nesting_depth(document: &str) -> usize {
    let (mut depth, mut deepest) = (0_usize, 0_usize);
    for token in tokens(document) {
        match token {
            b'(' | b'[' | b'{' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

/// Whether a document is too deeply nested to be parsed safely.
pub(crate) fn too_deep(document: &str) -> bool {
    nesting_depth(document) > MAX_NESTING
}

#[cfg(test)]
#[expect(clippy::expect_used, reason = "a failing test should fail loudly")]
mod tests {
    use super::*;

    fn bomb(levels: usize) -> String {
        let mut document = format!("{{ ...F{levels} }} fragment F0 on Query {{ __typename }}");
        for level in 1..=levels {
            document.push_str(&format!(" fragment F{level} on Query {{ ...F{} ...F{} }}", level - 1, level - 1));
        }
        document
    }

    #[test]
    fn tokens_skip_white_space_commas_comments_and_count_strings_once() {
        assert_eq!(token_count("{ a(b: \"x y z\", c: 15) { ...F } } # { { {"), 15);
        assert_eq!(token_count("query Q($v: [Int!]!) { a }"), 15);
    }

    #[test]
    fn a_fragment_bomb_is_measured_without_expanding_it() {
        let text = bomb(60);
        let document = async_graphql::parser::parse_query(&text).expect("it parses");
        let started = std::time::Instant::now();
        let error = check(&document, &DocumentLimits::default()).expect_err("refused");
        assert!(error.message.contains("more than 2000 fields"), "{}", error.message);
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
    }

    #[test]
    fn fragments_count_where_they_are_spread() {
        let text = "{ ...A ...A } fragment A on Query { a: films { totalCount } b: films { totalCount } }";
        let document = async_graphql::parser::parse_query(text).expect("it parses");
        let limits = DocumentLimits { max_fields: 8, ..DocumentLimits::default() };
        assert!(check(&document, &limits).is_ok());
        let limits = DocumentLimits { max_fields: 7, ..DocumentLimits::default() };
        assert!(check(&document, &limits).is_err());
        let limits = DocumentLimits { max_spreads: 1, ..DocumentLimits::default() };
        assert!(check(&document, &limits).is_err());
    }
}

#[cfg(test)]
mod nesting_tests {
    use super::*;

    #[test]
    fn brackets_inside_strings_and_comments_do_not_count() {
        assert_eq!(nesting_depth(r#"{ a(b: "((((((") { c } } # [[[[["#), 2);
        assert_eq!(nesting_depth("{ a(b: \"\"\"{{{{\"\"\") }"), 2);
        assert_eq!(nesting_depth("{ a(b: [[[1]]]) }"), 5);
    }

    #[test]
    fn a_nesting_bomb_is_too_deep() {
        let bomb = format!("{{ film(id: {}1{}) {{ title }} }}", "[".repeat(2_000), "]".repeat(2_000));
        assert!(too_deep(&bomb));
        assert!(!too_deep("{ films { nodes { credits { nodes { person { name } } } } } }"));
    }
}
