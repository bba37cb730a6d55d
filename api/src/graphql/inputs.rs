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

/// The name of an input field as the client sees it: `input.sequelOfId` for `sequel_of_id`.
pub(crate) fn input_field(snake: &str) -> String {
    let mut name = String::from("input.");
    let mut upper = false;
    for c in snake.chars() {
        match c {
            '_' => upper = true,
            c if upper => {
                name.extend(c.to_uppercase());
                upper = false;
            }
            c => name.push(c),
        }
    }
    name
}

/// Writes `into_changes` for a create input and an update input from one list of their fields,
/// so that a field is named once and its two conversions cannot drift apart. Each field gives its
/// kind, a function of the same name in [`create`] and [`update`] (`required`, `defaulted`,
/// `optional`, `id(node)`, `required_id(node)`, `with(convert)`); fields only an update has
/// follow `update only:` and are left unset by a create.
macro_rules! input_changes {
    (
        $create:ty, $update:ty => $changes:path {
            $($field:ident: $kind:ident $(($($arg:expr),*))?),* $(,)?
        }
        $(update only: { $($only:ident: $only_kind:ident $(($($only_arg:expr),*))?),* $(,)? })?
    ) => {
        impl $create {
            /// The create as domain changes; errors are named from `input`.
            pub(crate) fn into_changes(self) -> $crate::domain::DomainResult<$changes> {
                // A path cannot name a struct literal in a macro; an alias can.
                type Changes = $changes;
                Ok(Changes {
                    $($field: $crate::graphql::inputs::create::$kind(self.$field, stringify!($field) $($(, $arg)*)?)?,)*
                    $($($only: Default::default(),)*)?
                })
            }
        }

        impl $update {
            /// The update as domain changes; errors are named from `input`.
            pub(crate) fn into_changes(self) -> $crate::domain::DomainResult<$changes> {
                // A path cannot name a struct literal in a macro; an alias can.
                type Changes = $changes;
                Ok(Changes {
                    $($field: $crate::graphql::inputs::update::$kind(self.$field, stringify!($field) $($(, $arg)*)?)?,)*
                    $($($only: $crate::graphql::inputs::update::$only_kind(
                        self.$only,
                        stringify!($only)
                        $($(, $only_arg)*)?
                    )?,)*)?
                })
            }
        }
    };
}
pub(crate) use input_changes;

/// A create's fields as changes (see [`input_changes`]): the value as given, an omitted optional
/// field left unset.
pub(crate) mod create {
    use super::*;

    /// A field the create must give.
    pub(crate) fn required<T: Into<U>, U>(value: T, _field: &str) -> DomainResult<Option<U>> {
        Ok(Some(value.into()))
    }
    /// A field an update may not clear but a create may leave to the domain's default.
    pub(crate) fn defaulted<T: Into<U>, U>(value: Option<T>, _field: &str) -> DomainResult<Option<U>> {
        Ok(value.map(Into::into))
    }
    /// A field that may be empty.
    pub(crate) fn optional<T: Into<U>, U>(value: Option<T>, _field: &str) -> DomainResult<Patch<U>> {
        Ok(given(value, Into::into))
    }
    /// An optional global ID of a `node`.
    pub(crate) fn id(value: Option<ID>, field: &str, node: NodeType) -> DomainResult<Patch<i64>> {
        id_patch(given(value, |id| id), node, &input_field(field))
    }
    /// A required global ID of a `node`.
    pub(crate) fn required_id(value: ID, field: &str, node: NodeType) -> DomainResult<Option<i64>> {
        Ok(Some(decode_as(&value, node, &input_field(field))?))
    }
    /// A field converted by its own function, the same for create and update.
    pub(crate) fn with<T, U>(value: T, _field: &str, convert: impl FnOnce(T) -> DomainResult<U>) -> DomainResult<U> {
        convert(value)
    }
}

/// An update's fields as changes (see [`input_changes`]): absent keeps, null clears an optional
/// field and is refused for a required one.
pub(crate) mod update {
    use super::*;

    /// A field that cannot be cleared.
    pub(crate) fn required<T: Into<U>, U>(value: MaybeUndefined<T>, field: &str) -> DomainResult<Option<U>> {
        match value {
            MaybeUndefined::Undefined => Ok(None),
            MaybeUndefined::Null => Err(DomainError::invalid(input_field(field), "is required and cannot be null")),
            MaybeUndefined::Value(value) => Ok(Some(value.into())),
        }
    }
    /// A field that cannot be cleared (a create may leave it to the domain's default).
    pub(crate) fn defaulted<T: Into<U>, U>(value: MaybeUndefined<T>, field: &str) -> DomainResult<Option<U>> {
        required(value, field)
    }
    /// A field that may be empty.
    pub(crate) fn optional<T: Into<U>, U>(value: MaybeUndefined<T>, _field: &str) -> DomainResult<Patch<U>> {
        Ok(patch(value, Into::into))
    }
    /// An optional global ID of a `node`.
    pub(crate) fn id(value: MaybeUndefined<ID>, field: &str, node: NodeType) -> DomainResult<Patch<i64>> {
        id_patch(patch(value, |id| id), node, &input_field(field))
    }
    /// A global ID of a `node` that cannot be cleared.
    pub(crate) fn required_id(value: MaybeUndefined<ID>, field: &str, node: NodeType) -> DomainResult<Option<i64>> {
        let name = input_field(field);
        optional_id(super::required(value, &name, |id| id)?, node, &name)
    }
    /// A field converted by its own function, the same for create and update.
    pub(crate) fn with<T, U>(value: T, _field: &str, convert: impl FnOnce(T) -> DomainResult<U>) -> DomainResult<U> {
        convert(value)
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

#[cfg(test)]
mod tests {
    use super::input_field;

    #[test]
    fn an_input_field_is_named_as_the_client_spells_it() {
        assert_eq!(input_field("title"), "input.title");
        assert_eq!(input_field("sequel_of_id"), "input.sequelOfId");
        assert_eq!(input_field("box_office_usd"), "input.boxOfficeUsd");
    }
}
