//! Live counters: `petitionSignatureCount` and `eventRsvpCount` send the current value first, then
//! one message per change, in the order the changes were committed, from whichever server process
//! made them. Where change notices may have been missed (the `LISTEN` connection dropped, or this
//! subscriber fell behind), the value read afresh follows, unless it is not newer than the last.
//! `petitionUpdates` rides the same notices: each says a petition's updates changed (one posted,
//! or its publication time moved), and the subscriber reads its feed (`petition_updates::Feed`):
//! the updates fans now see that it has not sent. It also reads it when the earliest scheduled
//! update falls due, so a scheduled update goes out at its time, wherever it was posted.

use std::sync::Arc;
use std::time::Duration;

use async_graphql::{Context, ID, Result, SimpleObject, Subscription};
use chrono::{DateTime, Utc};
use futures_util::Stream;
use sea_orm::DatabaseConnection;
use tokio::sync::broadcast::Receiver;
use tokio::sync::broadcast::error::RecvError;

use super::db;

use super::ids::{NodeType, decode_as, global_id};
use super::petition_updates::PetitionUpdate;
use crate::domain::notify::{Change, Counter, Notifier, Watching};
use crate::domain::{events, petition_updates, petitions};

/// A petition's live signature count.
#[derive(SimpleObject, Clone)]
pub(crate) struct PetitionCount {
    petition_id: ID,
    signature_count: u64,
    goal: u64,
}

/// An event's live RSVP count.
#[derive(SimpleObject, Clone)]
pub(crate) struct EventCount {
    event_id: ID,
    rsvp_count: u64,
    /// Seats; null for no limit.
    capacity: Option<i32>,
}

fn non_negative(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

/// How long a lagging subscriber waits before asking again when a re-read failed.
const REREAD_RETRY: Duration = Duration::from_secs(1);

/// What every subscription sets up alike: the watched record's id, a receiver of change notices
/// subscribed before the first read (so no change can fall between the read and the notices),
/// and the registration that keeps this process listening for the record.
struct Subscribed {
    notifier: Arc<Notifier>,
    db: DatabaseConnection,
    counter: Counter,
    id: i64,
    watching: Watching,
    receiver: Receiver<Change>,
}

/// Starts watching `counter` of the record whose global ID (of `node_type`) is the argument
/// `argument`.
fn subscribe(
    ctx: &Context<'_>,
    given: &ID,
    node_type: NodeType,
    argument: &str,
    counter: Counter,
) -> Result<Subscribed> {
    let id = decode_as(given, node_type, argument)?;
    let notifier = ctx.data::<Arc<Notifier>>()?.clone();
    let receiver = notifier.subscribe();
    let watching = notifier.watch(counter, id);
    let db = db(ctx)?.clone();
    Ok(Subscribed { notifier, db, counter, id, watching, receiver })
}

/// Yields `first`, then every value of the watched counter newer than the last one yielded: from
/// change notices, and from the re-reads that follow a lost `LISTEN` connection or this
/// subscriber's own lag (when it asks for one).
fn counts<T, M>(watch: Subscribed, make: M, first: (i64, i64)) -> impl Stream<Item = T>
where
    T: Send + 'static,
    M: Fn(i64) -> T + Send + 'static,
{
    async_stream::stream! {
        let Subscribed { notifier, db, counter, id, watching: _watching, mut receiver } = watch;
        let (count, mut version) = first;
        yield make(count);
        loop {
            let value = match receiver.recv().await {
                Ok(change) => change.value_of(counter, id),
                Err(RecvError::Lagged(_)) => {
                    // The re-read arrives through the hub, after the notices this receiver kept.
                    // Boxed: the query's future would otherwise sit in every idle subscriber.
                    while let Err(error) = Box::pin(notifier.reread(&db)).await {
                        tracing::warn!(%error, "live counters: re-read after a lag failed, retrying");
                        tokio::time::sleep(REREAD_RETRY).await;
                    }
                    None
                }
                Err(RecvError::Closed) => break,
            };
            if let Some(notice) = value && notice.version > version {
                version = notice.version;
                yield make(notice.count);
            }
        }
    }
}

/// Yields each update of the watched petition as fans come to see it, in publication order: read
/// from `feed` whenever a notice names the petition, after this subscriber lagged (notices it
/// dropped may have), and when `due`, the earliest scheduled update's time, comes.
fn updates(
    watch: Subscribed,
    mut feed: petition_updates::Feed,
    mut due: Option<DateTime<Utc>>,
) -> impl Stream<Item = PetitionUpdate> {
    async_stream::stream! {
        let Subscribed { db, counter, id, watching: _watching, mut receiver, .. } = watch;
        loop {
            let read = tokio::select! {
                received = receiver.recv() => match received {
                    Ok(change) => change.value_of(counter, id).is_some(),
                    Err(RecvError::Lagged(_)) => true,
                    Err(RecvError::Closed) => break,
                },
                () = until(due) => true,
            };
            if !read {
                continue;
            }
            // Boxed: the query's future would otherwise sit in every idle subscriber.
            match Box::pin(feed.read(&db)).await {
                Ok(found) => {
                    due = found.next_due;
                    for update in found.published {
                        yield PetitionUpdate(update.into());
                    }
                }
                Err(error) => {
                    // The feed has not moved: the next notice, or this retry, reads it again.
                    tracing::warn!(%error, "petition updates: reading new updates failed");
                    due = Some(crate::domain::now() + REREAD_RETRY);
                }
            }
        }
    }
}

/// Waits until `due` (a wall-clock time, read against `domain::now` like `published_at`), or
/// forever when there is none.
async fn until(due: Option<DateTime<Utc>>) {
    match due {
        // Past times wait for nothing; tokio caps a far-future wait itself.
        Some(at) => tokio::time::sleep((at - crate::domain::now()).to_std().unwrap_or_default()).await,
        None => std::future::pending().await,
    }
}

/// The subscription root.
#[derive(Default)]
pub(crate) struct Subscription;

#[Subscription]
impl Subscription {
    /// A petition's signature count: now, then after every change.
    async fn petition_signature_count(
        &self,
        ctx: &Context<'_>,
        petition_id: ID,
    ) -> Result<impl Stream<Item = PetitionCount>> {
        let watch = subscribe(ctx, &petition_id, NodeType::Petition, "petitionId", Counter::Petition)?;
        // Boxed, as every first read: async-graphql keeps the resolver's future's room for the
        // subscription's whole life, so a query's future inline would cost each subscriber its size.
        let (petition, count, version) = Box::pin(petitions::counter(&watch.db, watch.id)).await?;
        let goal = non_negative(petition.goal);
        let petition_id = global_id(NodeType::Petition, watch.id);
        let make =
            move |count| PetitionCount { petition_id: petition_id.clone(), signature_count: non_negative(count), goal };
        Ok(counts(watch, make, (count, version)))
    }

    /// Each update of a petition that fans come to see from now on, once, as they come to see it:
    /// when it is posted, when its scheduled `publishedAt` comes, or when an edit makes it
    /// published; in publication order.
    async fn petition_updates(&self, ctx: &Context<'_>, petition_id: ID) -> Result<impl Stream<Item = PetitionUpdate>> {
        let watch = subscribe(ctx, &petition_id, NodeType::Petition, "petitionId", Counter::PetitionUpdates)?;
        Box::pin(petitions::counter(&watch.db, watch.id)).await?;
        let (feed, due) = Box::pin(petition_updates::Feed::start(&watch.db, watch.id)).await?;
        Ok(updates(watch, feed, due))
    }

    /// An event's RSVP count (fans going): now, then after every change.
    async fn event_rsvp_count(&self, ctx: &Context<'_>, event_id: ID) -> Result<impl Stream<Item = EventCount>> {
        let watch = subscribe(ctx, &event_id, NodeType::Event, "eventId", Counter::Event)?;
        let (event, count, version) = Box::pin(events::counter(&watch.db, watch.id)).await?;
        let capacity = event.capacity;
        let event_id = global_id(NodeType::Event, watch.id);
        let make = move |count| EventCount { event_id: event_id.clone(), rsvp_count: non_negative(count), capacity };
        Ok(counts(watch, make, (count, version)))
    }
}
