//! Turning GraphQL input values into domain changes: absent, null and set fields, and IDs.

use async_graphql::{ID, MaybeUndefined};

use super::node::{NodeType, decode_as};
use crate::domain::validate::Patch;
use crate::domain::{DomainError, DomainResult};

/// A create's optional field: given or not.
pub fn given<T, U>(value: Option<T>, map: impl FnOnce(T) -> U) -> Patch<U> {
    match value {
        Some(value) => Patch::Set(map(value)),
        None => Patch::Keep,
    }
}

/// An update's optional field: absent keeps, null clears, a value sets.
pub fn patch<T, U>(value: MaybeUndefined<T>, map: impl FnOnce(T) -> U) -> Patch<U> {
    match value {
        MaybeUndefined::Undefined => Patch::Keep,
        MaybeUndefined::Null => Patch::Clear,
        MaybeUndefined::Value(value) => Patch::Set(map(value)),
    }
}

/// An update's required field: absent keeps, a value sets, and null is refused with the field named,
/// since a required field cannot be cleared (silently keeping it would hide the client's mistake).
pub fn required<T, U>(value: MaybeUndefined<T>, field: &str, map: impl FnOnce(T) -> U) -> DomainResult<Option<U>> {
    match value {
        MaybeUndefined::Undefined => Ok(None),
        MaybeUndefined::Null => Err(DomainError::invalid(field, "is required and cannot be null")),
        MaybeUndefined::Value(value) => Ok(Some(map(value))),
    }
}

/// Decodes the global ID inside a patch.
pub fn id_patch(value: Patch<ID>, expected: NodeType, field: &str) -> DomainResult<Patch<i64>> {
    value.try_map(|id| decode_as(&id, expected, field))
}

/// Decodes an optional global ID.
pub fn optional_id(value: Option<ID>, expected: NodeType, field: &str) -> DomainResult<Option<i64>> {
    value.map(|id| decode_as(&id, expected, field)).transpose()
}
