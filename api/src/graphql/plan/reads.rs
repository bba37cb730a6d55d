//! The read declarations' vocabulary: each object type the planner reads declares, next to its
//! resolver, what every one of its fields is made of (a column, a related row, a page of children,
//! a value computed from columns) or that the field is left to the resolvers and why. The planner
//! knows no field but through these declarations, and `schema_check` holds them to the built
//! schema, so a field added to a resolver fails a test until its type's declaration says how to
//! read it.

use crate::loaders::{CreditParent, QuoteParent};

use super::super::ids::NodeType;
pub(crate) use super::shape::Conv;

/// The paging arguments of every connection field, as `first`, `after`, `last`, `before`.
pub(super) const PAGE_ARGUMENTS: [&str; 4] = ["first", "after", "last", "before"];

/// The argument of a credit list that keeps one role.
pub(super) const ROLE_ARGUMENT: &str = "role";

/// The boolean filter every connection field takes (`XWhere`).
pub(super) const WHERE_ARGUMENT: &str = "where";

/// The meta-field every object answers with its type name.
pub(super) const TYPENAME: &str = "__typename";

/// How the planner reads one object type: every field of the type, by GraphQL name.
pub(crate) struct Reads {
    /// The type: its GraphQL name, its global IDs' prefix and its table.
    pub(crate) node: NodeType,
    /// Each field of the type and how it reads.
    pub(crate) fields: &'static [(&'static str, Read)],
}

impl Reads {
    /// How the field `name` reads; `None` when the type has no such field.
    pub(super) fn field(&self, name: &str) -> Option<&Read> {
        self.fields.iter().find(|(field, _)| *field == name).map(|(_, read)| read)
    }
}

/// Shows the type alone: declarations point at each other (`Film.sequelOf` at `Film`).
impl std::fmt::Debug for Reads {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "Reads({})", self.node.name())
    }
}

/// How one field reads.
#[derive(Debug)]
pub(crate) enum Read {
    /// The row's global ID.
    Id,
    /// A column of the row, shown as the `Conv` says.
    Column(&'static str, Conv),
    /// `[SourceArticle]`, decoded from a column as `sources::source_articles` does.
    Sources(&'static str),
    /// A value computed from columns as its resolver computes it.
    Derived(Derived),
    /// The row of the declared type whose id is in a key column of this row (null when the key is).
    Related(&'static Reads, &'static str),
    /// A page of rows of the declared type whose parent is this row.
    Children(&'static Reads, Children),
    /// Left to the resolvers, for the reason given: a root field that selects it resolves field by
    /// field.
    #[cfg_attr(
        not(test),
        expect(dead_code, reason = "the reason is for the reader; schema_check's test holds it non-empty")
    )]
    Resolver(&'static str),
}

/// A field computed from columns, the way its resolver computes it.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Derived {
    /// `/events/{slug}.ics`.
    IcsUrl { slug: &'static str },
    /// The stored petition status as it reads now (`petitions::effective_status`).
    PetitionStatus { status: &'static str, closes_at: &'static str },
    /// `petitions::progress` of a signature count and a goal.
    Progress { count: &'static str, goal: &'static str },
}

/// Which children a connection field pages through: the loaders' scope its resolver uses.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Children {
    /// `FilmScope`: a film's sequels.
    Sequels,
    /// `CreditScope`: a film's or a person's credits, of one role when the `role` argument says.
    Credits(CreditParent),
    /// `QuoteScope`: a film's or a person's quotes that the viewer may see.
    Quotes(QuoteParent),
    /// `EventScope`: a film's events.
    Events,
    /// `PetitionScope`: a film's petitions.
    Petitions,
}

impl Children {
    /// The arguments the field takes besides the paging ones.
    #[cfg(test)]
    pub(super) fn arguments(self) -> &'static [&'static str] {
        match self {
            Children::Credits(_) => &[ROLE_ARGUMENT, WHERE_ARGUMENT],
            Children::Sequels | Children::Quotes(_) | Children::Events | Children::Petitions => &[WHERE_ARGUMENT],
        }
    }

    /// The type of the rows the scope lists.
    #[cfg(test)]
    pub(super) fn node(self) -> NodeType {
        match self {
            Children::Sequels => NodeType::Film,
            Children::Credits(_) => NodeType::Credit,
            Children::Quotes(_) => NodeType::Quote,
            Children::Events => NodeType::Event,
            Children::Petitions => NodeType::Petition,
        }
    }
}
