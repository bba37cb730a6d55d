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

/// How long a lagging subscriber waits before asking again when a re-read failed.
const REREAD_RETRY: Duration = Duration::from_secs(1);

/// What one subscription watches and how it shows a value.
struct Watch<M> {
    notifier: Arc<Notifier>,
    db: DatabaseConnection,
    counter: Counter,
    id: i64,
    make: M,
}

/// Yields `first`, then every value of the watched counter newer than the last one yielded: from
/// change notices, and from the re-reads that follow a lost `LISTEN` connection or this
/// subscriber's own lag (when it asks for one).
fn counts<T, M>(
    watch: Watch<M>,
    watching: Watching,
    mut receiver: Receiver<Change>,
    first: (i64, i64),
) -> impl Stream<Item = T>
where
    T: Send + 'static,
    M: Fn(i64) -> T + Send + 'static,
{
    async_stream::stream! {
        let _watching = watching;
        let (count, mut version) = first;
        yield (watch.make)(count);
        loop {
            let value = match receiver.recv().await {
                Ok(change) => change.value_of(watch.counter, watch.id),
                Err(RecvError::Lagged(_)) => {
                    // The re-read arrives through the hub, after the notices this receiver kept.
                    while let Err(error) = watch.notifier.reread(&watch.db).await {
                        tracing::warn!(%error, "live counters: re-read after a lag failed, retrying");
                        tokio::time::sleep(REREAD_RETRY).await;
                    }
                    None
                }
                Err(RecvError::Closed) => break,
            };
            if let Some(notice) = value && notice.version > version {
                version = notice.version;
                yield (watch.make)(notice.count);
            }
        }
    }
}

/// Yields each update of the watched petition as fans come to see it, in publication order: read
/// from `feed` whenever a notice names the petition, after this subscriber lagged (notices it
/// dropped may have), and when `due`, the earliest scheduled update's time, comes.
fn updates(
    watch: Watch<()>,
    watching: Watching,
    mut receiver: Receiver<Change>,
    mut feed: petition_updates::Feed,
    mut due: Option<DateTime<Utc>>,
) -> impl Stream<Item = PetitionUpdate> {
    async_stream::stream! {
        let _watching = watching;
        loop {
            let read = tokio::select! {
                received = receiver.recv() => match received {
                    Ok(change) => change.value_of(watch.counter, watch.id).is_some(),
                    Err(RecvError::Lagged(_)) => true,
                    Err(RecvError::Closed) => break,
                },
                () = until(due) => true,
            };
            if !read {
                continue;
            }
            match feed.read(&watch.db).await {
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
        let notifier = ctx.data::<Arc<Notifier>>()?.clone();
        let receiver = notifier.subscribe();
        let watching = notifier.watch(Counter::Petition, id);
        let db = db(ctx)?.clone();
        let petition = petitions::counter(&db, id).await?;
        let goal = non_negative(petition.goal);
        let petition_id = global_id(NodeType::Petition, id);
        let make =
            move |count| PetitionCount { petition_id: petition_id.clone(), signature_count: non_negative(count), goal };
        let watch = Watch { notifier, db, counter: Counter::Petition, id, make };
        Ok(counts(watch, watching, receiver, (petition.signature_count, petition.count_version)))
    }

    /// Each update of a petition that fans come to see from now on, once, as they come to see it:
    /// when it is posted, when its scheduled `publishedAt` comes, or when an edit makes it
    /// published; in publication order.
    async fn petition_updates(&self, ctx: &Context<'_>, petition_id: ID) -> Result<impl Stream<Item = PetitionUpdate>> {
        let id = decode_as(&petition_id, NodeType::Petition, "petitionId")?;
        let notifier = ctx.data::<Arc<Notifier>>()?.clone();
        let receiver = notifier.subscribe();
        let watching = notifier.watch(Counter::PetitionUpdates, id);
        let db = db(ctx)?.clone();
        petitions::counter(&db, id).await?;
        let (feed, due) = petition_updates::Feed::start(&db, id).await?;
        let watch = Watch { notifier, db, counter: Counter::PetitionUpdates, id, make: () };
        Ok(updates(watch, watching, receiver, feed, due))
    }

    /// An event's RSVP count (fans going): now, then after every change.
    async fn event_rsvp_count(&self, ctx: &Context<'_>, event_id: ID) -> Result<impl Stream<Item = EventCount>> {
        let id = decode_as(&event_id, NodeType::Event, "eventId")?;
        let notifier = ctx.data::<Arc<Notifier>>()?.clone();
        let receiver = notifier.subscribe();
        let watching = notifier.watch(Counter::Event, id);
        let db = db(ctx)?.clone();
        let event = events::counter(&db, id).await?;
        let capacity = event.capacity;
        let event_id = global_id(NodeType::Event, id);
        let make = move |count| EventCount { event_id: event_id.clone(), rsvp_count: non_negative(count), capacity };
        let watch = Watch { notifier, db, counter: Counter::Event, id, make };
        Ok(counts(watch, watching, receiver, (event.going_count, event.count_version)))
    }
}
