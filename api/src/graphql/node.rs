//! The `Node` interface and the `node`/`nodes` queries, which resolve a global ID (`ids`) to any
//! object that has one.

use async_graphql::{Context, ID, Interface, Object};
use futures_util::future::try_join_all;

use super::errors::GqlResult;
use super::events::Event;
use super::films::{Credit, Film};
use super::ids::{NodeType, decode};
use super::people::Person;
use super::petition_updates::PetitionUpdate;
use super::petitions::{Petition, Signature};
use super::plan::{self, Key, Planned};
use super::quotes::Quote;
use super::users::{Audience, Rsvp, User};
use super::{db, loaders};
use crate::domain::{DomainError, events};

/// An object with a global ID.
#[derive(Interface)]
#[graphql(field(name = "id", ty = "ID", desc = "The opaque global ID of the object."))]
pub(crate) enum Node {
    Film(Film),
    Person(Person),
    Credit(Credit),
    Quote(Quote),
    Event(Event),
    Petition(Petition),
    Signature(Signature),
    Rsvp(Rsvp),
    User(User),
    PetitionUpdate(PetitionUpdate),
}

/// Resolves one global ID to its object, or null when there is none the viewer may see.
async fn resolve(ctx: &Context<'_>, id: &str, field: &str) -> GqlResult<Option<Node>> {
    let (node_type, key) = decode(id, field)?;
    let loaders = loaders(ctx)?;
    Ok(match node_type {
        NodeType::Film => loaders.films.load_one(key).await?.map(|row| Node::Film(Film(row))),
        NodeType::Person => loaders.people.load_one(key).await?.map(|row| Node::Person(Person(row))),
        NodeType::Credit => loaders.credits.load_one(key).await?.map(|row| Node::Credit(Credit(row))),
        NodeType::Quote => loaders.quotes.load_one(key).await?.map(|row| Node::Quote(Quote(row))),
        NodeType::Event => loaders.events.load_one(key).await?.map(|row| Node::Event(Event(row))),
        NodeType::Petition => loaders.petitions.load_one(key).await?.map(|row| Node::Petition(Petition(row))),
        NodeType::Signature => loaders.signatures.load_one(key).await?.map(|row| Node::Signature(Signature(row))),
        NodeType::Rsvp => match loaders.viewer.user_id {
            Some(user_id) => events::rsvp_by_id(db(ctx)?, key, user_id).await?.map(|row| Node::Rsvp(Rsvp(row.into()))),
            None => None,
        },
        NodeType::User if loaders.viewer.user_id == Some(key) || loaders.viewer.is_admin() => {
            loaders.users.load_one(key).await?.map(|row| Node::User(User(row, Audience::Viewer)))
        }
        NodeType::User => None,
        NodeType::PetitionUpdate => {
            loaders.petition_updates.load_one(key).await?.map(|row| Node::PetitionUpdate(PetitionUpdate(row)))
        }
    })
}

/// The read declaration of a node type, or why the planner leaves the whole type to the resolvers
/// (`plan`'s test requires one or the other of every type that implements `Node`).
pub(crate) fn planned_reads(node_type: NodeType) -> Result<&'static plan::Reads, &'static str> {
    match node_type {
        NodeType::Film => Ok(&super::films::FILM_READS),
        NodeType::Person => Ok(&super::people::PERSON_READS),
        NodeType::Credit => Ok(&super::films::CREDIT_READS),
        NodeType::Quote => Ok(&super::quotes::QUOTE_READS),
        NodeType::Event => Ok(&super::events::EVENT_READS),
        NodeType::Petition => Ok(&super::petitions::PETITION_READS),
        NodeType::Signature => Err("a signer's details show by the signer's choice and the viewer"),
        NodeType::Rsvp => Err("an RSVP is visible to its fan alone"),
        NodeType::User => Err("a user is visible to itself and to admins alone"),
        NodeType::PetitionUpdate => Err("a scheduled update is visible to staff alone"),
    }
}

/// `node` and `nodes`.
#[derive(Default)]
pub(crate) struct NodeQuery;

#[Object]
impl NodeQuery {
    /// Fetches any object by its global ID; null when it does not exist or is not visible to you.
    async fn node(&self, ctx: &Context<'_>, id: ID) -> GqlResult<Planned<Option<Node>>> {
        let (node_type, key) = decode(&id, "id")?;
        if let Ok(reads) = planned_reads(node_type)
            && let Some(value) = plan::lookup(ctx, "node", reads, &Key::Id(key)).await?
        {
            return Ok(Planned::done(value));
        }
        Ok(Planned::Resolve(resolve(ctx, &id, "id").await?))
    }

    /// Fetches objects by global ID, in the order given; null for each that cannot be seen.
    #[graphql(complexity = "ids.len().saturating_mul(child_complexity).saturating_add(1)")]
    async fn nodes(&self, ctx: &Context<'_>, ids: Vec<ID>) -> GqlResult<Planned<Vec<Option<Node>>>> {
        if ids.len() > crate::domain::paging::MAX_PAGE_SIZE as usize {
            return Err(DomainError::invalid("ids", "at most 100 IDs at once").into());
        }
        let keys = ids
            .iter()
            .map(|id| decode(id, "ids").map(|(node_type, key)| Some((planned_reads(node_type).ok()?, key))))
            .collect::<Result<Option<Vec<_>>, _>>()?;
        if let Some(keys) = keys
            && let Some(value) = plan::lookups(ctx, "nodes", &keys).await?
        {
            return Ok(Planned::done(value));
        }
        Ok(Planned::Resolve(try_join_all(ids.iter().map(|id| resolve(ctx, id, "ids"))).await?))
    }
}
