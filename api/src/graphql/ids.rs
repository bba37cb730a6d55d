//! Global IDs: `base64("Type:id")`, opaque to clients, naming one object of one type. Every
//! resolver that hands out or reads an ID uses these; resolving an ID to its object is `node`'s.

use async_graphql::ID;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::domain::{DomainError, DomainResult};

/// The types a global ID can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeType {
    Film,
    Person,
    Credit,
    Quote,
    Event,
    Petition,
    Signature,
    Rsvp,
    User,
    PetitionUpdate,
}

impl NodeType {
    const ALL: [NodeType; 10] = [
        Self::Film,
        Self::Person,
        Self::Credit,
        Self::Quote,
        Self::Event,
        Self::Petition,
        Self::Signature,
        Self::Rsvp,
        Self::User,
        Self::PetitionUpdate,
    ];

    /// The GraphQL type name, which is also the prefix inside the ID.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Film => "Film",
            Self::Person => "Person",
            Self::Credit => "Credit",
            Self::Quote => "Quote",
            Self::Event => "Event",
            Self::Petition => "Petition",
            Self::Signature => "Signature",
            Self::Rsvp => "Rsvp",
            Self::User => "User",
            Self::PetitionUpdate => "PetitionUpdate",
        }
    }
}

/// The global ID of row `id` of `node_type`.
pub fn global_id(node_type: NodeType, id: i64) -> ID {
    ID(global_id_text(node_type.name(), id))
}

/// The global ID of row `id` of the type named `type_name`, as text (for documents built outside
/// GraphQL's types, such as a data export).
pub(crate) fn global_id_text(type_name: &str, id: i64) -> String {
    STANDARD.encode(format!("{type_name}:{id}"))
}

/// Reads a global ID; `field` names the argument for the error.
pub(crate) fn decode(id: &str, field: &str) -> DomainResult<(NodeType, i64)> {
    let invalid = || DomainError::invalid(field, "not a valid ID");
    let text = STANDARD.decode(id.trim()).ok().and_then(|bytes| String::from_utf8(bytes).ok()).ok_or_else(invalid)?;
    let (name, key) = text.split_once(':').ok_or_else(invalid)?;
    let node_type = NodeType::ALL.into_iter().find(|candidate| candidate.name() == name).ok_or_else(invalid)?;
    let key = key.parse::<i64>().ok().filter(|key| *key > 0).ok_or_else(invalid)?;
    Ok((node_type, key))
}

/// Reads a global ID that must name a `expected`.
pub(crate) fn decode_as(id: &str, expected: NodeType, field: &str) -> DomainResult<i64> {
    match decode(id, field)? {
        (node_type, key) if node_type == expected => Ok(key),
        (other, _) => Err(DomainError::invalid(
            field,
            format!("expected the ID of a {}, got the ID of a {}", expected.name(), other.name()),
        )),
    }
}

/// Reads an optional global ID argument.
pub(crate) fn decode_optional(id: Option<&ID>, expected: NodeType, field: &str) -> DomainResult<Option<i64>> {
    id.map(|id| decode_as(id, expected, field)).transpose()
}
