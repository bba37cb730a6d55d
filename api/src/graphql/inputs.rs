//! Turning GraphQL input values into domain changes: absent, null and set fields, and IDs.

use async_graphql::{ID, MaybeUndefined};

use super::ids::{NodeType, decode_as};
use super::scalars::CreditRole;
use crate::domain::validate::Patch;
use crate::domain::{DomainError, DomainResult, films};

/// A create's optional field: given or not.
pub(crate) fn given<T, U>(value: Option<T>, map: impl FnOnce(T) -> U) -> Patch<U> {
    match value {
        Some(value) => Patch::Set(map(value)),
        None => Patch::Keep,
    }
}

/// An update's optional field: absent keeps, null clears, a value sets.
pub(crate) fn patch<T, U>(value: MaybeUndefined<T>, map: impl FnOnce(T) -> U) -> Patch<U> {
    match value {
        MaybeUndefined::Undefined => Patch::Keep,
        MaybeUndefined::Null => Patch::Clear,
        MaybeUndefined::Value(value) => Patch::Set(map(value)),
    }
}

/// An update's required field: absent keeps, a value sets, and null is refused with the field named,
/// since a required field cannot be cleared (silently keeping it would hide the client's mistake).
pub(crate) fn required<T, U>(
    value: MaybeUndefined<T>,
    field: &str,
    map: impl FnOnce(T) -> U,
) -> DomainResult<Option<U>> {
    match value {
        MaybeUndefined::Undefined => Ok(None),
        MaybeUndefined::Null => Err(DomainError::invalid(field, "is required and cannot be null")),
        MaybeUndefined::Value(value) => Ok(Some(map(value))),
    }
}

/// Decodes the global ID inside a patch.
pub(crate) fn id_patch(value: Patch<ID>, expected: NodeType, field: &str) -> DomainResult<Patch<i64>> {
    value.try_map(|id| decode_as(&id, expected, field))
}

/// Decodes an optional global ID.
pub(crate) fn optional_id(value: Option<ID>, expected: NodeType, field: &str) -> DomainResult<Option<i64>> {
    value.map(|id| decode_as(&id, expected, field)).transpose()
}

/// The other end of a credit given with a film or person, as the client gave it.
pub(crate) enum CreditEnd<C> {
    Id(ID),
    Slug(String),
    Create(C),
}

/// A credit given with a film or person, as the client gave it.
pub(crate) struct GivenCredit<C> {
    pub(crate) to: CreditEnd<C>,
    pub(crate) role: CreditRole,
    pub(crate) character: Option<String>,
    pub(crate) billing_order: Option<i32>,
}

/// The credits given with a film or person, ready for the domain. `end` names the other end's
/// field (`person`, `film`) and `node` its type; `create` turns a record to create into domain
/// changes. Errors are named from `input.credits[i].<end>`.
pub(crate) fn credit_links<C, T>(
    credits: Vec<GivenCredit<C>>,
    end: &str,
    node: NodeType,
    create: impl Fn(C) -> DomainResult<T>,
) -> DomainResult<Vec<films::CreditLink<T>>> {
    credits
        .into_iter()
        .enumerate()
        .map(|(index, credit)| {
            let at = format!("input.credits[{index}].{end}");
            let to = match credit.to {
                CreditEnd::Id(id) => films::Ref::Id(decode_as(&id, node, &format!("{at}.id"))?),
                CreditEnd::Slug(slug) => films::Ref::Slug(slug),
                CreditEnd::Create(input) => {
                    films::Ref::Create(create(input).map_err(|error| error.at(&format!("{at}.create")))?)
                }
            };
            Ok(films::CreditLink {
                to,
                role: credit.role.into(),
                character: credit.character,
                billing_order: credit.billing_order,
            })
        })
        .collect()
}
