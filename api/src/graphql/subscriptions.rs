//! Live counters: `petitionSignatureCount` and `eventRsvpCount` send the current value first, then
//! one message per change, in the order the changes were committed, from whichever server process
//! made them. Where change notices may have been missed (the `LISTEN` connection dropped, or this
//! subscriber fell behind), the value read afresh follows, unless it is not newer than the last.
//! `petitionUpdates` rides the same notices: each names a petition's newest update, and the
//! subscriber reads the updates it has not sent yet.

use std::sync::Arc;
use std::time::Duration;

use async_graphql::{Context, ID, Result, SimpleObject, Subscription};
use futures_util::Stream;
use sea_orm::DatabaseConnection;
use tokio::sync::broadcast::Receiver;
use tokio::sync::broadcast::error::RecvError;

use super::db;

use super::node::{NodeType, decode_as, global_id};
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

/// Yields each update of the watched petition published after `last`, oldest first, as change
/// notices (or re-reads after a lag or a lost `LISTEN`) say there are new ones.
fn updates(
    watch: Watch<()>,
    watching: Watching,
    mut receiver: Receiver<Change>,
    mut last: i64,
) -> impl Stream<Item = PetitionUpdate> {
    async_stream::stream! {
        let _watching = watching;
        loop {
            let value = match receiver.recv().await {
                Ok(change) => change.value_of(watch.counter, watch.id),
                Err(RecvError::Lagged(_)) => {
                    while let Err(error) = watch.notifier.reread(&watch.db).await {
                        tracing::warn!(%error, "petition updates: re-read after a lag failed, retrying");
                        tokio::time::sleep(REREAD_RETRY).await;
                    }
                    None
                }
                Err(RecvError::Closed) => break,
            };
            let Some(notice) = value else { continue };
            if notice.version <= last {
                continue;
            }
            match petition_updates::published_after(&watch.db, watch.id, last).await {
                Ok(found) => {
                    for update in found {
                        last = last.max(update.id);
                        yield PetitionUpdate(update.into());
                    }
                }
                // The next notice or re-read tries again from the same point.
                Err(error) => tracing::warn!(%error, "petition updates: reading new updates failed"),
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

    /// Each update posted to a petition from now on, as it is posted (an update scheduled for
    /// later is not pushed when its time comes).
    async fn petition_updates(&self, ctx: &Context<'_>, petition_id: ID) -> Result<impl Stream<Item = PetitionUpdate>> {
        let id = decode_as(&petition_id, NodeType::Petition, "petitionId")?;
        let notifier = ctx.data::<Arc<Notifier>>()?.clone();
        let receiver = notifier.subscribe();
        let watching = notifier.watch(Counter::PetitionUpdates, id);
        let db = db(ctx)?.clone();
        petitions::counter(&db, id).await?;
        let last = petition_updates::latest_id(&db, id).await?;
        let watch = Watch { notifier, db, counter: Counter::PetitionUpdates, id, make: () };
        Ok(updates(watch, watching, receiver, last))
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
