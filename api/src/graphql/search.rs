//! `search` (the contract's union list, best match first) and `searchHits` (the same matches with
//! why each matched: a highlighted snippet and its rank).

use async_graphql::{Context, Object, SimpleObject, Union};
use futures_util::future::try_join_all;

use super::errors::GqlResult;
use super::events::Event;
use super::films::Film;
use super::loaders;
use super::people::Person;
use super::petition_updates::PetitionUpdate;
use super::petitions::Petition;
use super::quotes::Quote;
use crate::domain::expensive::ExpensiveReads;
use crate::domain::search::{self, Hit, Kind};

/// Anything `search` can find.
#[derive(Union)]
pub(crate) enum SearchResult {
    Film(Film),
    Person(Person),
    Quote(Quote),
    Event(Event),
    Petition(Petition),
    PetitionUpdate(PetitionUpdate),
}

/// One match and why it matched.
#[derive(SimpleObject)]
pub(crate) struct SearchHit {
    node: SearchResult,
    /// The matching text, with the matched words between « and ».
    snippet: String,
    /// How well it matched, from 0 to 1.1, higher better (comparable within one search only):
    /// the share of the record's title the query makes up (0 unless all its words are in the
    /// title), plus a tenth of the full-text score relative to the best match's.
    rank: f64,
}

/// The search fields.
#[derive(Default)]
pub(crate) struct SearchQuery;

async fn hits(ctx: &Context<'_>, query: &str, first: Option<i32>) -> GqlResult<Vec<SearchHit>> {
    let found = {
        // Searches take turns, so a flood of them leaves the pool to cheap reads.
        let _turn = match ctx.data_opt::<ExpensiveReads>() {
            Some(reads) => Some(reads.turn().await?),
            None => None,
        };
        search::search(super::db(ctx)?, query, first).await?
    };
    let loaders = loaders(ctx)?;
    let nodes = try_join_all(found.iter().map(|hit| async move {
        let Hit { kind, id, .. } = hit;
        let id = *id;
        Ok::<_, async_graphql::Error>(match kind {
            Kind::Film => loaders.films.load_one(id).await?.map(|row| SearchResult::Film(Film(row))),
            Kind::Person => loaders.people.load_one(id).await?.map(|row| SearchResult::Person(Person(row))),
            Kind::Quote => loaders.quotes.load_one(id).await?.map(|row| SearchResult::Quote(Quote(row))),
            Kind::Event => loaders.events.load_one(id).await?.map(|row| SearchResult::Event(Event(row))),
            Kind::Petition => loaders.petitions.load_one(id).await?.map(|row| SearchResult::Petition(Petition(row))),
            Kind::PetitionUpdate => loaders
                .petition_updates
                .load_one(id)
                .await?
                .map(|row| SearchResult::PetitionUpdate(PetitionUpdate(row))),
        })
    }))
    .await?;
    Ok(found
        .into_iter()
        .zip(nodes)
        .filter_map(|(hit, node)| node.map(|node| SearchHit { node, snippet: hit.snippet, rank: hit.rank }))
        .collect())
}

#[Object]
impl SearchQuery {
    /// Films, people, published quotes, events, petitions and published petition updates matching
    /// `query`, best first; accents and case do not matter and the last word matches as a prefix. `first`: 10 by
    /// default, at most 50. A query without letters or digits finds nothing.
    #[graphql(complexity = "first.map_or(10, |n| n.clamp(0, 50) as usize) * child_complexity + 1")]
    async fn search(&self, ctx: &Context<'_>, query: String, first: Option<i32>) -> GqlResult<Vec<SearchResult>> {
        Ok(hits(ctx, &query, first).await?.into_iter().map(|hit| hit.node).collect())
    }

    /// The matches of `search`, each with a highlighted snippet and its rank.
    #[graphql(complexity = "first.map_or(10, |n| n.clamp(0, 50) as usize) * child_complexity + 1")]
    async fn search_hits(&self, ctx: &Context<'_>, query: String, first: Option<i32>) -> GqlResult<Vec<SearchHit>> {
        hits(ctx, &query, first).await
    }
}
