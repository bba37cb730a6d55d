//! The custom scalars of the contract: `Date`, `DateTime` (RFC 3339 in UTC) and `Money` (whole US
//! dollars beyond 2^31), plus the enums mirrored from the entities.

use async_graphql::{InputType, InputValueError, InputValueResult, Scalar, ScalarType, Value};
use chrono::{Datelike, NaiveDate, SecondsFormat, Utc};

use crate::code;

/// A refusal of a scalar value: a client error, so coded as one wherever it surfaces. Validation
/// (`is_valid`) normally refuses the value first, naming the argument; this covers the rest.
fn refuse<T: InputType>(message: &str) -> InputValueError<T> {
    InputValueError::custom(message).with_extension("code", code::BAD_USER_INPUT)
}

/// Years both databases store as dates: PostgreSQL's range ends long before chrono's, and RFC 3339
/// has four-digit years.
fn storable_year(year: i32) -> bool {
    (1..=9999).contains(&year)
}

fn parse_date(value: &Value) -> Option<NaiveDate> {
    match value {
        Value::String(text) => {
            NaiveDate::parse_from_str(text, "%Y-%m-%d").ok().filter(|date| storable_year(date.year()))
        }
        _ => None,
    }
}

fn parse_date_time(value: &Value) -> Option<chrono::DateTime<Utc>> {
    match value {
        Value::String(text) => chrono::DateTime::parse_from_rfc3339(text)
            .ok()
            .map(|instant| instant.with_timezone(&Utc))
            .filter(|instant| storable_year(instant.year())),
        _ => None,
    }
}

fn parse_money(value: &Value) -> Option<i64> {
    match value {
        Value::Number(number) => number.as_i64(),
        _ => None,
    }
}

/// A calendar date, `YYYY-MM-DD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Date(pub NaiveDate);

/// A calendar date in ISO 8601 form, `YYYY-MM-DD`.
#[Scalar(name = "Date")]
impl ScalarType for Date {
    fn parse(value: Value) -> InputValueResult<Self> {
        parse_date(&value).map(Date).ok_or_else(|| refuse("expected a date as YYYY-MM-DD"))
    }

    fn is_valid(value: &Value) -> bool {
        parse_date(value).is_some()
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.format("%Y-%m-%d").to_string())
    }
}

/// An instant, RFC 3339 in UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DateTime(pub chrono::DateTime<Utc>);

/// An instant in RFC 3339 form; output always in UTC (`Z`), input in any offset.
#[Scalar(name = "DateTime")]
impl ScalarType for DateTime {
    fn parse(value: Value) -> InputValueResult<Self> {
        parse_date_time(&value)
            .map(DateTime)
            .ok_or_else(|| refuse("expected an RFC 3339 date-time such as 2019-12-05T17:00:00Z"))
    }

    fn is_valid(value: &Value) -> bool {
        parse_date_time(value).is_some()
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.to_rfc3339_opts(SecondsFormat::AutoSi, true))
    }
}

/// Whole US dollars.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Money(pub i64);

/// Whole US dollars as a JSON integer; holds far more than 2^31 (up to 2^53 stays exact in JavaScript).
#[Scalar(name = "Money")]
impl ScalarType for Money {
    fn parse(value: Value) -> InputValueResult<Self> {
        parse_money(&value).map(Money).ok_or_else(|| refuse("expected a whole number of dollars as a JSON integer"))
    }

    fn is_valid(value: &Value) -> bool {
        parse_money(value).is_some()
    }

    fn to_value(&self) -> Value {
        Value::Number(self.0.into())
    }
}

// The inner values, so that an input field's conversion is `Into` (see `inputs::input_changes`).
impl From<Date> for chrono::NaiveDate {
    fn from(date: Date) -> Self {
        date.0
    }
}
impl From<DateTime> for chrono::DateTime<chrono::Utc> {
    fn from(instant: DateTime) -> Self {
        instant.0
    }
}
impl From<Money> for i64 {
    fn from(usd: Money) -> Self {
        usd.0
    }
}

/// Declares a GraphQL enum with the same variants as an enum of another layer, and the
/// conversions both ways.
macro_rules! mirror_enum {
    ($(#[$meta:meta])* $name:ident => $target:ty { $($(#[$variant_meta:meta])* $variant:ident),* $(,)? }) => {
        $(#[$meta])*
        #[derive(async_graphql::Enum, Debug, Clone, Copy, PartialEq, Eq)]
        pub(crate) enum $name {
            $($(#[$variant_meta])* $variant),*
        }

        impl From<$target> for $name {
            fn from(value: $target) -> Self {
                type Source = $target;
                match value {
                    $(Source::$variant => Self::$variant),*
                }
            }
        }

        impl From<$name> for $target {
            fn from(value: $name) -> Self {
                match value {
                    $($name::$variant => Self::$variant),*
                }
            }
        }
    };
}
pub(crate) use mirror_enum;

/// Declares a list's sort input: the GraphQL enum of its keys, mirroring the domain's (as
/// `mirror_enum!`), and the `…Order` input of one key and a direction.
macro_rules! order_input {
    (
        $(#[$field_meta:meta])* $field:ident => $target:ty { $($(#[$variant_meta:meta])* $variant:ident),* $(,)? },
        $(#[$order_meta:meta])* $order:ident
    ) => {
        $crate::graphql::scalars::mirror_enum!(
            $(#[$field_meta])* $field => $target { $($(#[$variant_meta])* $variant),* }
        );

        $(#[$order_meta])*
        #[derive(async_graphql::InputObject)]
        pub(crate) struct $order {
            field: $field,
            direction: $crate::graphql::scalars::OrderDirection,
        }

        impl $crate::graphql::scalars::OrderInput for $order {
            type Field = $target;

            fn parts(self) -> ($target, $crate::domain::paging::Direction) {
                (self.field.into(), self.direction.into())
            }
        }
    };
}
pub(crate) use order_input;

/// An `…Order` input: one key of a list's sort and its direction.
pub(crate) trait OrderInput {
    /// The domain's enum of the list's keys.
    type Field;
    /// The key and the direction.
    fn parts(self) -> (Self::Field, crate::domain::paging::Direction);
}

/// The domain's sort (`sort`) for the order asked, or for `default` when none is.
pub(crate) fn sort_or<O: OrderInput, S>(
    order: Option<O>,
    default: (O::Field, crate::domain::paging::Direction),
    sort: impl FnOnce(O::Field, crate::domain::paging::Direction) -> S,
) -> S {
    let (field, direction) = order.map_or(default, OrderInput::parts);
    sort(field, direction)
}

/// The order of a top-level list: `orderBy`'s key, then `sort`'s keys (first wins), each made by
/// `key`; `default` when neither gives one. A key given twice is refused (`BAD_USER_INPUT`).
pub(crate) fn list_order<O: OrderInput>(
    order_by: Option<O>,
    sort: Option<Vec<O>>,
    default: (O::Field, crate::domain::paging::Direction),
    key: impl Fn(O::Field, crate::domain::paging::Direction) -> crate::domain::paging::SortKey,
) -> crate::domain::DomainResult<crate::domain::paging::ListOrder> {
    let mut keys: Vec<crate::domain::paging::SortKey> = Vec::new();
    for order in order_by.into_iter().chain(sort.into_iter().flatten()) {
        let (field, direction) = order.parts();
        let next = key(field, direction);
        if keys.iter().any(|known| known.same_value(&next)) {
            return Err(crate::domain::DomainError::invalid("sort", "each field may sort the list once"));
        }
        keys.push(next);
    }
    let default = key(default.0, default.1);
    Ok(crate::domain::paging::ListOrder::of(default, keys))
}

mirror_enum!(
    /// Where a film stands, from a fan request to a release.
    FilmStatus => entity::enums::FilmStatus { Released, InProduction, InDevelopment, Announced, RequestedByFans }
);
mirror_enum!(
    /// What a person did on a film.
    CreditRole => entity::enums::CreditRole { Director, Producer, Writer, Cast, Crew, VisualEffects }
);
mirror_enum!(
    /// Moderation state of a quote; only published quotes are public.
    QuoteStatus => entity::enums::QuoteStatus { Pending, Published, Rejected }
);
mirror_enum!(
    /// The kind of a fan event.
    EventKind => entity::enums::EventKind { Screening, HashtagCampaign, WatchParty, Panel, Meetup }
);
mirror_enum!(
    /// The state of a petition.
    PetitionStatus => entity::enums::PetitionStatus { Open, Closed, Victory }
);
mirror_enum!(
    /// A fan's answer to an event.
    RsvpStatus => entity::enums::RsvpStatus { Going, Interested }
);
mirror_enum!(
    /// What an account may do.
    Role => entity::enums::Role { Fan, Moderator, Admin }
);
mirror_enum!(
    /// The direction of a sort.
    OrderDirection => crate::domain::paging::Direction { Asc, Desc }
);
