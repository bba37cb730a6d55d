//! The errors of a response in one order, each field's once: the spec (§6.4.4) reports a field's
//! error once, and identical requests must give identical bytes, whichever resolver finished
//! first.

use std::cmp::Ordering;
use std::collections::HashSet;

use async_graphql::{PathSegment, ServerError};

/// Keeps the first error of each path (async-graphql resolves each occurrence of a repeated
/// response key on its own, so one field can fail twice) and sorts them by where the document
/// names their field, then by path.
pub(super) fn canonical(errors: Vec<ServerError>) -> Vec<ServerError> {
    let mut errors = errors;
    errors.sort_by(compare);
    let mut seen = HashSet::new();
    errors.retain(|error| error.path.is_empty() || seen.insert(path_key(&error.path)));
    errors
}

fn compare(left: &ServerError, right: &ServerError) -> Ordering {
    let position = |error: &ServerError| error.locations.first().map(|pos| (pos.line, pos.column));
    position(left).cmp(&position(right)).then_with(|| compare_paths(&left.path, &right.path))
}

fn compare_paths(left: &[PathSegment], right: &[PathSegment]) -> Ordering {
    for (left, right) in left.iter().zip(right) {
        let order = match (left, right) {
            (PathSegment::Index(left), PathSegment::Index(right)) => left.cmp(right),
            (PathSegment::Field(left), PathSegment::Field(right)) => left.cmp(right),
            (PathSegment::Index(_), PathSegment::Field(_)) => Ordering::Less,
            (PathSegment::Field(_), PathSegment::Index(_)) => Ordering::Greater,
        };
        if order != Ordering::Equal {
            return order;
        }
    }
    left.len().cmp(&right.len())
}

fn path_key(path: &[PathSegment]) -> String {
    let mut key = String::new();
    for segment in path {
        match segment {
            PathSegment::Field(name) => {
                key.push('.');
                key.push_str(name);
            }
            PathSegment::Index(index) => {
                key.push('[');
                key.push_str(&index.to_string());
                key.push(']');
            }
        }
    }
    key
}

#[cfg(test)]
mod tests {
    use async_graphql::Pos;

    use super::*;

    fn error(message: &str, line: usize, path: &[PathSegment]) -> ServerError {
        let mut error = ServerError::new(message, Some(Pos { line, column: 3 }));
        error.path = path.to_vec();
        error
    }

    #[test]
    fn one_error_per_path_in_document_order() {
        let nodes = |index| vec![PathSegment::Field("nodes".to_owned()), PathSegment::Index(index)];
        let errors = canonical(vec![
            error("second", 2, &nodes(1)),
            error("first", 2, &nodes(0)),
            error("again", 2, &nodes(1)),
            error("top", 1, &[PathSegment::Field("a".to_owned())]),
        ]);
        let messages: Vec<_> = errors.iter().map(|error| error.message.as_str()).collect();
        assert_eq!(messages, ["top", "first", "second"]);
    }
}
