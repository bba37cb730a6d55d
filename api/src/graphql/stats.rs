//! Campaign statistics over GraphQL: `Petition.signaturesOverTime`, `Event.rsvpsByStatus` (their
//! types live here) and the `campaign` root field with totals, top petitions and upcoming events.

use async_graphql::{Context, Enum, Object, SimpleObject};

use super::errors::GqlResult;
use super::events::Event;
use super::petitions::Petition;
use super::scalars::{DateTime, RsvpStatus};
use crate::domain::DomainError;
use crate::domain::stats::{self, Bucket};

/// The width of a time bucket (UTC; weeks start on Monday).
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TimeBucket {
    Hour,
    Day,
    Week,
}

impl From<TimeBucket> for Bucket {
    fn from(bucket: TimeBucket) -> Self {
        match bucket {
            TimeBucket::Hour => Bucket::Hour,
            TimeBucket::Day => Bucket::Day,
            TimeBucket::Week => Bucket::Week,
        }
    }
}

/// How many in one time bucket.
#[derive(SimpleObject)]
pub(crate) struct TimeCount {
    /// When the bucket starts.
    pub(crate) start: DateTime,
    pub(crate) count: u64,
}

/// How many RSVPs have one status.
#[derive(SimpleObject)]
pub(crate) struct RsvpStatusCount {
    pub(crate) status: RsvpStatus,
    pub(crate) count: u64,
}

/// The campaign's totals.
#[derive(SimpleObject)]
pub(crate) struct CampaignTotals {
    films: u64,
    people: u64,
    published_quotes: u64,
    events: u64,
    /// Events not over yet, those under way included (`campaign.upcomingEvents`' rule).
    upcoming_events: u64,
    petitions: u64,
    /// Petitions whose `status` reads `OPEN` (not past `closesAt`).
    open_petitions: u64,
    signatures: u64,
    fans: u64,
}

fn count(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

/// The numbers and lists a campaign page opens with.
pub(crate) struct Campaign;

fn limit(first: Option<i32>) -> Result<u64, DomainError> {
    match first {
        None => Ok(5),
        Some(value) if (0..=20).contains(&value) => Ok(value as u64),
        Some(_) => Err(DomainError::invalid("first", "must be between 0 and 20")),
    }
}

#[Object]
impl Campaign {
    /// Totals over the whole database (signatures from the petitions' counters).
    async fn totals(&self, ctx: &Context<'_>) -> GqlResult<CampaignTotals> {
        let totals = stats::totals(super::db(ctx)?).await?;
        Ok(CampaignTotals {
            films: count(totals.films),
            people: count(totals.people),
            published_quotes: count(totals.published_quotes),
            events: count(totals.events),
            upcoming_events: count(totals.upcoming_events),
            petitions: count(totals.petitions),
            open_petitions: count(totals.open_petitions),
            signatures: count(totals.signatures),
            fans: count(totals.fans),
        })
    }

    /// Open petitions (as `Petition.status` reads: not past `closesAt`), most signed first
    /// (`first`: 5 by default, at most 20).
    #[graphql(complexity = "first.map_or(5, |n| n.clamp(0, 20) as usize) * child_complexity + 1")]
    async fn top_petitions(&self, ctx: &Context<'_>, first: Option<i32>) -> GqlResult<Vec<Petition>> {
        let rows = stats::top_petitions(super::db(ctx)?, limit(first)?).await?;
        Ok(rows.into_iter().map(|row| Petition(row.into())).collect())
    }

    /// Upcoming events: those not over yet, under way (`isLive`) included, as
    /// `events(filter: { upcoming: true })` lists them; soonest start first (`first`: 5 by
    /// default, at most 20).
    #[graphql(complexity = "first.map_or(5, |n| n.clamp(0, 20) as usize) * child_complexity + 1")]
    async fn upcoming_events(&self, ctx: &Context<'_>, first: Option<i32>) -> GqlResult<Vec<Event>> {
        let rows = stats::upcoming_events(super::db(ctx)?, limit(first)?).await?;
        Ok(rows.into_iter().map(|row| Event(row.into())).collect())
    }
}

/// The `campaign` root field.
#[derive(Default)]
pub(crate) struct CampaignQuery;

#[Object]
impl CampaignQuery {
    /// The campaign at a glance: totals, the top petitions and the next events.
    async fn campaign(&self) -> Campaign {
        Campaign
    }
}
