//! Live counters: `petitionSignatureCount` and `eventRsvpCount` send the current value first, then
//! one message per change, in the order the changes were committed, from whichever server process
//! made them.

use std::sync::Arc;

use async_graphql::{Context, ID, Result, SimpleObject, Subscription};
use futures_util::Stream;
use tokio::sync::broadcast::error::RecvError;

use super::db;

use super::node::{NodeType, decode_as, global_id};
use crate::domain::notify::{Counter, Notice, Notifier};
use crate::domain::{events, petitions};

/// A petition's live signature count.
#[derive(SimpleObject, Clone)]
pub struct PetitionCount {
    petition_id: ID,
    signature_count: u64,
    goal: u64,
}

/// An event's live RSVP count.
#[derive(SimpleObject, Clone)]
pub struct EventCount {
    event_id: ID,
    rsvp_count: u64,
    /// Seats; null for no limit.
    capacity: Option<i32>,
}

fn non_negative(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

/// Yields `first`, then every notice for (`counter`, `id`) newer than `version`; on a lagging
/// receiver it re-reads the current value with `reread`.
fn counts<T, F, Fut>(
    mut receiver: tokio::sync::broadcast::Receiver<Notice>,
    counter: Counter,
    id: i64,
    first: (i64, i64),
    make: impl Fn(i64) -> T + Send + 'static,
    reread: F,
) -> impl Stream<Item = T>
where
    T: Send + 'static,
    F: Fn() -> Fut + Send + 'static,
    Fut: Future<Output = Option<(i64, i64)>> + Send,
{
    async_stream::stream! {
        let (count, mut version) = first;
        yield make(count);
        loop {
            match receiver.recv().await {
                Ok(notice) if notice.counter == counter && notice.id == id && notice.version > version => {
                    version = notice.version;
                    yield make(notice.count);
                }
                Ok(_) => {}
                Err(RecvError::Lagged(_)) => {
                    if let Some((count, latest)) = reread().await && latest > version {
                        version = latest;
                        yield make(count);
                    }
                }
                Err(RecvError::Closed) => break,
            }
        }
    }
}

/// The subscription root.
#[derive(Default)]
pub struct Subscription;

#[Subscription]
impl Subscription {
    /// A petition's signature count: now, then after every change.
    async fn petition_signature_count(
        &self,
        ctx: &Context<'_>,
        petition_id: ID,
    ) -> Result<impl Stream<Item = PetitionCount>> {
        let id = decode_as(&petition_id, NodeType::Petition, "petitionId")?;
        let receiver = ctx.data::<Arc<Notifier>>()?.subscribe();
        let db = db(ctx)?.clone();
        let petition = petitions::counter(&db, id).await?;
        let goal = non_negative(petition.goal);
        let petition_id = global_id(NodeType::Petition, id);
        let make =
            move |count| PetitionCount { petition_id: petition_id.clone(), signature_count: non_negative(count), goal };
        let reread = move || {
            let db = db.clone();
            async move { petitions::counter(&db, id).await.ok().map(|p| (p.signature_count, p.count_version)) }
        };
        Ok(counts(receiver, Counter::Petition, id, (petition.signature_count, petition.count_version), make, reread))
    }

    /// An event's RSVP count (fans going): now, then after every change.
    async fn event_rsvp_count(&self, ctx: &Context<'_>, event_id: ID) -> Result<impl Stream<Item = EventCount>> {
        let id = decode_as(&event_id, NodeType::Event, "eventId")?;
        let receiver = ctx.data::<Arc<Notifier>>()?.subscribe();
        let db = db(ctx)?.clone();
        let event = events::counter(&db, id).await?;
        let capacity = event.capacity;
        let event_id = global_id(NodeType::Event, id);
        let make = move |count| EventCount { event_id: event_id.clone(), rsvp_count: non_negative(count), capacity };
        let reread = move || {
            let db = db.clone();
            async move { events::counter(&db, id).await.ok().map(|e| (e.going_count, e.count_version)) }
        };
        Ok(counts(receiver, Counter::Event, id, (event.going_count, event.count_version), make, reread))
    }
}
