//! Aggregates on every connection: `aggregate { count distinctCount sum avg min max }` over the
//! list's rows (its filter and the viewer's visibility applied first) and
//! `groupedAggregates(groupBy:, having:) { keys count … }`. What each node type offers is declared
//! once here (`spec`); its GraphQL types (`FilmAggregate`, `FilmSumAggregate`, `FilmGroupBy`,
//! `FilmHaving` …) are built from that declaration, and the values are always computed in SQL by
//! the read planner (`plan::aggregate`), on either read path.

use std::borrow::Cow;
use std::convert::Infallible;
use std::marker::PhantomData;

use async_graphql::indexmap::IndexMap;
use async_graphql::registry::{Deprecation, MetaEnumValue, MetaField, MetaInputValue, MetaType, MetaTypeId, Registry};
use async_graphql::{
    ContextSelectionSet, InputObject, InputType, InputValueError, InputValueResult, Name, OutputType, Positioned,
    ServerResult, Value,
};

use super::scalars::{Date, DateTime, Money};
use crate::domain::stats::grouping::CountBounds;

/// Names the connection, edge and aggregate types after their node type.
pub(crate) trait NodeName {
    /// The GraphQL name of the node type.
    const NAME: &'static str;
}

/// What a measured field holds, which decides the parts it appears in and its GraphQL type there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A 32- or 64-bit integer: summed (as `Float`), averaged, min and max (as `Int`).
    Int,
    /// Whole US dollars: summed, min and max as `Money`, averaged as `Float`.
    Money,
    /// A `Date`: min and max.
    Date,
    /// A `DateTime`: min and max.
    DateTime,
    /// Counted distinct only (text, an enum, a related row's key).
    Label,
}

/// A field of the node type that aggregates read: its GraphQL name and its column.
#[derive(Debug)]
pub(crate) struct Measure {
    pub(crate) name: &'static str,
    pub(crate) column: &'static str,
    pub(crate) kind: Kind,
}

impl Measure {
    fn sums(&self) -> bool {
        matches!(self.kind, Kind::Int | Kind::Money)
    }

    fn ranges(&self) -> bool {
        !matches!(self.kind, Kind::Label)
    }
}

/// How a group key is computed from a row (the builder every count in groups goes through).
pub(crate) use crate::domain::stats::grouping::KeyOf;

/// A value of `XGroupBy`.
#[derive(Debug)]
pub(crate) struct GroupKey {
    pub(crate) name: &'static str,
    pub(crate) description: &'static str,
    pub(crate) of: KeyOf,
}

/// What a node type's connections aggregate.
#[derive(Debug)]
pub(crate) struct Spec {
    pub(crate) measures: &'static [Measure],
    pub(crate) group_by: &'static [GroupKey],
}

impl Spec {
    /// The measures that appear in `part`.
    pub(crate) fn measures_in(&self, part: Part) -> impl Iterator<Item = &'static Measure> {
        let measures: &'static [Measure] = self.measures;
        measures.iter().filter(move |measure| match part {
            Part::DistinctCount => true,
            Part::Sum | Part::Avg => measure.sums(),
            Part::Min | Part::Max => measure.ranges(),
        })
    }

    /// The measure `name` in `part`.
    pub(crate) fn measure(&self, part: Part, name: &str) -> Option<&'static Measure> {
        self.measures_in(part).find(|measure| measure.name == name)
    }

    /// The group key named `name`.
    pub(crate) fn key(&self, name: &str) -> Option<&'static GroupKey> {
        self.group_by.iter().find(|key| key.name == name)
    }
}

const fn measure(name: &'static str, column: &'static str, kind: Kind) -> Measure {
    Measure { name, column, kind }
}

const fn key(name: &'static str, description: &'static str, of: KeyOf) -> GroupKey {
    GroupKey { name, description, of }
}

static FILM: Spec = Spec {
    measures: &[
        measure("runtimeMinutes", "runtime_minutes", Kind::Int),
        measure("budgetUsd", "budget_usd", Kind::Money),
        measure("boxOfficeUsd", "box_office_usd", Kind::Money),
        measure("releaseDate", "release_date", Kind::Date),
        measure("createdAt", "created_at", Kind::DateTime),
        measure("status", "status", Kind::Label),
        measure("distributor", "distributor", Kind::Label),
    ],
    group_by: &[
        key("STATUS", "The film's status.", KeyOf::Column("status")),
        key("RELEASE_YEAR", "The year of release (null when unknown).", KeyOf::Year("release_date")),
    ],
};

static PERSON: Spec = Spec {
    measures: &[measure("birthDate", "birth_date", Kind::Date), measure("createdAt", "created_at", Kind::DateTime)],
    group_by: &[key("BIRTH_YEAR", "The year of birth (null when unknown).", KeyOf::Year("birth_date"))],
};

static CREDIT: Spec = Spec {
    measures: &[
        measure("billingOrder", "billing_order", Kind::Int),
        measure("role", "role", Kind::Label),
        measure("film", "film_id", Kind::Label),
        measure("person", "person_id", Kind::Label),
    ],
    group_by: &[
        key("ROLE", "The role.", KeyOf::Column("role")),
        key("FILM", "The film (its global ID).", KeyOf::Related("film_id", "Film")),
        key("PERSON", "The person (their global ID).", KeyOf::Related("person_id", "Person")),
    ],
};

static QUOTE: Spec = Spec {
    measures: &[
        measure("saidOn", "said_on", Kind::Date),
        measure("createdAt", "created_at", Kind::DateTime),
        measure("person", "person_id", Kind::Label),
        measure("film", "film_id", Kind::Label),
    ],
    group_by: &[
        key("PERSON", "Who said it (their global ID).", KeyOf::Related("person_id", "Person")),
        key("FILM", "The film it is about (its global ID; null for none).", KeyOf::Related("film_id", "Film")),
    ],
};

static EVENT: Spec = Spec {
    measures: &[
        measure("capacity", "capacity", Kind::Int),
        measure("startsAt", "starts_at", Kind::DateTime),
        measure("kind", "kind", Kind::Label),
        measure("city", "city", Kind::Label),
        measure("country", "country", Kind::Label),
        measure("film", "film_id", Kind::Label),
    ],
    group_by: &[
        key("KIND", "The kind of event.", KeyOf::Column("kind")),
        key("MONTH", "The month it starts, `YYYY-MM` (UTC).", KeyOf::Month("starts_at")),
        key("CITY", "The city (null for none).", KeyOf::Column("city")),
    ],
};

static PETITION: Spec = Spec {
    measures: &[
        measure("goal", "goal", Kind::Int),
        measure("closesAt", "closes_at", Kind::DateTime),
        measure("createdAt", "created_at", Kind::DateTime),
        measure("film", "film_id", Kind::Label),
    ],
    group_by: &[
        key("STATUS", "The status as it reads now (`OPEN` past `closesAt` reads `CLOSED`).", KeyOf::PetitionStatus),
        key("FILM", "The film it is about (its global ID; null for none).", KeyOf::Related("film_id", "Film")),
    ],
};

static SIGNATURE: Spec = Spec {
    measures: &[measure("createdAt", "created_at", Kind::DateTime), measure("country", "country", Kind::Label)],
    group_by: &[
        key("COUNTRY", "The signer's country (null when not given).", KeyOf::Column("country")),
        key("DAY", "The day signed, `YYYY-MM-DD` (UTC).", KeyOf::Day("created_at")),
        key("WEEK", "The Monday of the week signed, `YYYY-MM-DD` (UTC).", KeyOf::Week("created_at")),
        key("MONTH", "The month signed, `YYYY-MM` (UTC).", KeyOf::Month("created_at")),
    ],
};

static RSVP: Spec = Spec {
    measures: &[measure("createdAt", "created_at", Kind::DateTime), measure("status", "status", Kind::Label)],
    group_by: &[key("STATUS", "The answer.", KeyOf::Column("status"))],
};

static PETITION_UPDATE: Spec = Spec {
    measures: &[measure("publishedAt", "published_at", Kind::DateTime)],
    group_by: &[key("MONTH", "The month published, `YYYY-MM` (UTC).", KeyOf::Month("published_at"))],
};

static USER: Spec = Spec {
    measures: &[measure("createdAt", "created_at", Kind::DateTime), measure("role", "role", Kind::Label)],
    group_by: &[
        key("ROLE", "The account's role.", KeyOf::Column("role")),
        key("MONTH", "The month the account was made, `YYYY-MM` (UTC).", KeyOf::Month("created_at")),
    ],
};

static AUDIT_EVENT: Spec = Spec {
    measures: &[measure("createdAt", "created_at", Kind::DateTime), measure("action", "action", Kind::Label)],
    group_by: &[
        key("ACTION", "What was done.", KeyOf::Column("action")),
        key("DAY", "The day, `YYYY-MM-DD` (UTC).", KeyOf::Day("created_at")),
    ],
};

/// A list with nothing to measure: `count` only, grouped by nothing but the whole list.
static NOTHING: Spec = Spec { measures: &[], group_by: &[] };

/// What the connections of the node type named `node` aggregate.
pub(crate) fn spec(node: &str) -> &'static Spec {
    match node {
        "Film" => &FILM,
        "Person" => &PERSON,
        "Credit" => &CREDIT,
        "Quote" => &QUOTE,
        "Event" => &EVENT,
        "Petition" => &PETITION,
        "Signature" => &SIGNATURE,
        "Rsvp" => &RSVP,
        "PetitionUpdate" => &PETITION_UPDATE,
        "User" => &USER,
        "AuditEvent" => &AUDIT_EVENT,
        _ => &NOTHING,
    }
}

/// The objects under `aggregate` that hold one value per measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Part {
    DistinctCount,
    Sum,
    Avg,
    Min,
    Max,
}

/// Each part: its field name, its type's name after the node's, and its description.
pub(crate) const PARTS: [(Part, &str, &str, &str); 5] = [
    (Part::DistinctCount, "distinctCount", "DistinctCountAggregate", "How many distinct non-null values."),
    (Part::Sum, "sum", "SumAggregate", "The sum of the non-null values (null when there are none)."),
    (Part::Avg, "avg", "AvgAggregate", "The mean of the non-null values (null when there are none)."),
    (Part::Min, "min", "MinAggregate", "The least value (null when there are none)."),
    (Part::Max, "max", "MaxAggregate", "The greatest value (null when there are none)."),
];

/// The field names of `XAggregate` and `XGroup` besides the parts.
pub(crate) const COUNT: &str = "count";
pub(crate) const KEYS: &str = "keys";
/// The arguments of `groupedAggregates`.
pub(crate) const GROUP_BY: &str = "groupBy";
pub(crate) const HAVING: &str = "having";

/// The most groups `groupedAggregates` returns (in key order).
pub(crate) const MAX_GROUPS: u64 = 1000;

fn field(name: &str, description: &str, ty: String) -> (String, MetaField) {
    let meta = MetaField {
        name: name.to_owned(),
        description: Some(description.to_owned()),
        args: IndexMap::new(),
        ty,
        deprecation: Deprecation::NoDeprecated,
        cache_control: Default::default(),
        external: false,
        requires: None,
        provides: None,
        visible: None,
        shareable: false,
        inaccessible: false,
        tags: Vec::new(),
        override_from: None,
        compute_complexity: None,
        directive_invocations: Vec::new(),
        requires_scopes: Vec::new(),
    };
    (name.to_owned(), meta)
}

fn object(name: String, description: String, fields: IndexMap<String, MetaField>) -> MetaType {
    MetaType::Object {
        name,
        description: Some(description),
        fields,
        cache_control: Default::default(),
        extends: false,
        shareable: false,
        resolvable: true,
        inaccessible: false,
        interface_object: false,
        tags: Vec::new(),
        keys: None,
        visible: None,
        is_subscription: false,
        rust_typename: None,
        directive_invocations: Vec::new(),
        requires_scopes: Vec::new(),
    }
}

/// The GraphQL type of a measure in `part`.
fn measure_type(registry: &mut Registry, part: Part, kind: Kind) -> String {
    match (part, kind) {
        (Part::DistinctCount, _) => <u64 as OutputType>::create_type_info(registry),
        (Part::Avg, _) | (Part::Sum, Kind::Int) => <Option<f64> as OutputType>::create_type_info(registry),
        (_, Kind::Money) => <Option<Money> as OutputType>::create_type_info(registry),
        (_, Kind::Int) => <Option<i32> as OutputType>::create_type_info(registry),
        (_, Kind::Date) => <Option<Date> as OutputType>::create_type_info(registry),
        (_, Kind::DateTime) => <Option<DateTime> as OutputType>::create_type_info(registry),
        (_, Kind::Label) => <Option<String> as OutputType>::create_type_info(registry),
    }
}

/// An output type described by a node type's `Spec`, never built as a value: the planner computes
/// every value of it (see `Planned::done`), so it only describes the schema.
pub(crate) enum Described<N, S> {
    #[expect(dead_code, reason = "uninhabited: the type only describes the schema")]
    Never(Infallible, PhantomData<(N, S)>),
}

/// Which described object: `XAggregate` or `XGroup` (they register their parts' types).
pub(crate) trait Shape: Send + Sync + 'static {
    /// The type name after the node's (`Aggregate`, `Group`).
    fn suffix() -> &'static str;
    /// Registers the type's fields.
    fn fields(registry: &mut Registry, node: &str, spec: &Spec) -> IndexMap<String, MetaField>;
    /// The type's description.
    fn description(node: &str) -> String;
}

/// `XAggregate`.
pub(crate) struct Whole;
/// `XGroup`.
pub(crate) struct Group;

impl<N: NodeName + Send + Sync + 'static, S: Shape> OutputType for Described<N, S> {
    fn type_name() -> Cow<'static, str> {
        Cow::Owned(format!("{}{}", N::NAME, S::suffix()))
    }

    fn create_type_info(registry: &mut Registry) -> String {
        registry.create_output_type::<Self, _>(MetaTypeId::Object, |registry| {
            let fields = S::fields(registry, N::NAME, spec(N::NAME));
            object(Self::type_name().into_owned(), S::description(N::NAME), fields)
        })
    }

    async fn resolve(
        &self,
        _ctx: &ContextSelectionSet<'_>,
        _field: &Positioned<async_graphql::parser::types::Field>,
    ) -> ServerResult<Value> {
        match self {
            Described::Never(never, _) => match *never {},
        }
    }
}

impl Shape for Whole {
    fn suffix() -> &'static str {
        "Aggregate"
    }
    fn fields(registry: &mut Registry, node: &str, spec: &Spec) -> IndexMap<String, MetaField> {
        registered_whole(registry, node, spec)
    }
    fn description(node: &str) -> String {
        format!("Aggregates over a list's {node} rows (its filter and what you may see applied first).")
    }
}

impl Shape for Group {
    fn suffix() -> &'static str {
        "Group"
    }
    fn fields(registry: &mut Registry, node: &str, spec: &Spec) -> IndexMap<String, MetaField> {
        let mut fields = IndexMap::new();
        let ty = <Vec<Option<String>> as OutputType>::create_type_info(registry);
        let (name, meta) = field(KEYS, "The group's values as text, in `groupBy` order (null for none).", ty);
        fields.insert(name, meta);
        fields.extend(registered_whole(registry, node, spec));
        fields
    }
    fn description(node: &str) -> String {
        format!("One group of a list's {node} rows and its aggregates.")
    }
}

/// The fields `XAggregate` and `XGroup` share, with the part types registered by the name they
/// get under `node`, registered once.
fn registered_whole(registry: &mut Registry, node: &str, spec: &Spec) -> IndexMap<String, MetaField> {
    let mut fields = IndexMap::new();
    let (name, meta) = field(COUNT, "How many rows.", <u64 as OutputType>::create_type_info(registry));
    fields.insert(name, meta);
    for (part, field_name, suffix, description) in PARTS.iter() {
        if spec.measures_in(*part).next().is_none() {
            continue;
        }
        let type_name = format!("{node}{suffix}");
        if !registry.types.contains_key(&type_name) {
            let part_fields = part_fields(registry, *part, spec);
            let part_description = format!("{description} Per field of {node}.");
            registry.types.insert(type_name.clone(), object(type_name.clone(), part_description, part_fields));
        }
        let (name, meta) = field(field_name, description, format!("{type_name}!"));
        fields.insert(name, meta);
    }
    fields
}

fn part_fields(registry: &mut Registry, part: Part, spec: &Spec) -> IndexMap<String, MetaField> {
    let mut fields = IndexMap::new();
    for measure in spec.measures_in(part) {
        let ty = measure_type(registry, part, measure.kind);
        let (name, meta) = field(measure.name, &format!("Of `{}`.", measure.name), ty);
        fields.insert(name, meta);
    }
    fields
}

/// A value of `XGroupBy`: the index of a key in the node type's `Spec`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct GroupBy<N> {
    pub(crate) index: usize,
    node: PhantomData<N>,
}

impl<N: NodeName + Send + Sync + 'static> InputType for GroupBy<N> {
    type RawValueType = Self;

    fn type_name() -> Cow<'static, str> {
        Cow::Owned(format!("{}GroupBy", N::NAME))
    }

    fn create_type_info(registry: &mut Registry) -> String {
        registry.create_input_type::<Self, _>(MetaTypeId::Enum, |_| {
            let enum_values = spec(N::NAME)
                .group_by
                .iter()
                .map(|key| {
                    let value = MetaEnumValue {
                        name: key.name.to_owned(),
                        description: Some(key.description.to_owned()),
                        deprecation: Deprecation::NoDeprecated,
                        visible: None,
                        inaccessible: false,
                        tags: Vec::new(),
                        directive_invocations: Vec::new(),
                    };
                    (key.name.to_owned(), value)
                })
                .collect();
            MetaType::Enum {
                name: Self::type_name().into_owned(),
                description: Some(format!("What a list's {} rows can be grouped by.", N::NAME)),
                enum_values,
                visible: None,
                inaccessible: false,
                tags: Vec::new(),
                rust_typename: None,
                directive_invocations: Vec::new(),
                requires_scopes: Vec::new(),
            }
        })
    }

    fn parse(value: Option<Value>) -> InputValueResult<Self> {
        let name = match value {
            Some(Value::Enum(name)) => name,
            Some(Value::String(text)) => Name::new(text),
            other => return Err(InputValueError::expected_type(other.unwrap_or_default())),
        };
        let index = spec(N::NAME).group_by.iter().position(|key| key.name == name.as_str());
        index
            .map(|index| GroupBy { index, node: PhantomData })
            .ok_or_else(|| InputValueError::custom(format!("not a value of {}", Self::type_name())))
    }

    fn to_value(&self) -> Value {
        spec(N::NAME).group_by.get(self.index).map_or(Value::Null, |key| Value::Enum(Name::new(key.name)))
    }

    fn as_raw_value(&self) -> Option<&Self::RawValueType> {
        Some(self)
    }
}

/// Bounds on a group's row count: all that are given must hold.
#[derive(InputObject, Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct HavingCount {
    pub(crate) eq: Option<i64>,
    pub(crate) gt: Option<i64>,
    pub(crate) gte: Option<i64>,
    pub(crate) lt: Option<i64>,
    pub(crate) lte: Option<i64>,
}

impl From<HavingCount> for CountBounds {
    fn from(count: HavingCount) -> Self {
        CountBounds { eq: count.eq, gt: count.gt, gte: count.gte, lt: count.lt, lte: count.lte }
    }
}

/// A value of `XHaving`: which groups `groupedAggregates` keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Having<N> {
    pub(crate) count: Option<HavingCount>,
    node: PhantomData<N>,
}

impl<N: NodeName + Send + Sync + 'static> InputType for Having<N> {
    type RawValueType = Self;

    fn type_name() -> Cow<'static, str> {
        Cow::Owned(format!("{}Having", N::NAME))
    }

    fn create_type_info(registry: &mut Registry) -> String {
        registry.create_input_type::<Self, _>(MetaTypeId::InputObject, |registry| {
            let ty = <Option<HavingCount> as InputType>::create_type_info(registry);
            let count = MetaInputValue {
                name: COUNT.to_owned(),
                description: Some("Bounds on the group's row count.".to_owned()),
                ty,
                deprecation: Deprecation::NoDeprecated,
                default_value: None,
                visible: None,
                inaccessible: false,
                tags: Vec::new(),
                is_secret: false,
                directive_invocations: Vec::new(),
            };
            MetaType::InputObject {
                name: Self::type_name().into_owned(),
                description: Some(format!("Which groups of a list's {} rows `groupedAggregates` keeps.", N::NAME)),
                input_fields: IndexMap::from([(COUNT.to_owned(), count)]),
                visible: None,
                inaccessible: false,
                tags: Vec::new(),
                rust_typename: None,
                oneof: false,
                directive_invocations: Vec::new(),
            }
        })
    }

    fn parse(value: Option<Value>) -> InputValueResult<Self> {
        match value {
            Some(Value::Object(mut fields)) => {
                let count = <Option<HavingCount> as InputType>::parse(fields.shift_remove(COUNT))
                    .map_err(InputValueError::propagate)?;
                Ok(Having { count, node: PhantomData })
            }
            other => Err(InputValueError::expected_type(other.unwrap_or_default())),
        }
    }

    fn to_value(&self) -> Value {
        let count = <Option<HavingCount> as InputType>::to_value(&self.count);
        Value::Object(IndexMap::from([(Name::new(COUNT), count)]))
    }

    fn as_raw_value(&self) -> Option<&Self::RawValueType> {
        Some(self)
    }
}
