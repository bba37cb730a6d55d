//! Checks on a document's text before the GraphQL parser sees it. The parser recurses once per
//! nesting level of `(`, `[` and `{`; a few kilobytes of brackets overflow its stack and abort the
//! whole process, and the schema's own limits only run after parsing. So nesting is counted here,
//! on the raw text, skipping strings and comments.

/// The deepest nesting of brackets a document may have.
pub const MAX_NESTING: usize = 64;

/// The deepest nesting of `(`, `[` and `{` outside strings and comments.
pub fn nesting_depth(document: &str) -> usize {
    let (mut depth, mut deepest) = (0_usize, 0_usize);
    for token in crate::graphql::limits::tokens(document) {
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
pub fn too_deep(document: &str) -> bool {
    nesting_depth(document) > MAX_NESTING
}

#[cfg(test)]
mod tests {
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
