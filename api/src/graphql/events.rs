//! Events: the `Event` type, `event`/`events`, and their inputs.

use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, SimpleObject};
use entity::event;

use super::change;
use super::connection::{self, Connection, NodeName};
use super::errors::GqlResult;
use super::films::Film;
use super::guards::RoleGuard;
use super::ids::{NodeType, decode_as, decode_optional, global_id};
use super::inputs::input_changes;
use super::plan::{self, Key, Planned};
use super::scalars::{DateTime, EventKind, RsvpStatus, list_order, order_input};
use super::sources::{SourceArticle, source_articles};
use super::stats::RsvpStatusCount;
use super::users::Rsvp;
use super::where_types::EventWhere;
use super::{db, loaders, notifier, viewer_id};
use crate::domain::{self, DomainResult, account_mail, events};

/// A screening, hashtag hour, watch party, panel or meetup organised by fans.
#[derive(Clone)]
pub(crate) struct Event(pub std::sync::Arc<event::Model>);

impl NodeName for Event {
    const NAME: &'static str = "Event";
}

#[Object]
impl Event {
    /// The global ID.
    pub(crate) async fn id(&self) -> ID {
        global_id(NodeType::Event, self.0.id)
    }
    /// The URL name, unique among events.
    async fn slug(&self) -> &str {
        &self.0.slug
    }
    async fn kind(&self) -> EventKind {
        self.0.kind.into()
    }
    async fn title(&self) -> &str {
        &self.0.title
    }
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    /// The film the event is about, if any.
    async fn film(&self, ctx: &Context<'_>) -> GqlResult<Option<Film>> {
        let Some(id) = self.0.film_id else { return Ok(None) };
        Ok(loaders(ctx)?.films.load_one(id).await?.map(Film))
    }
    /// When it starts (one instant everywhere).
    async fn starts_at(&self) -> DateTime {
        DateTime(self.0.starts_at)
    }
    async fn ends_at(&self) -> Option<DateTime> {
        self.0.ends_at.map(DateTime)
    }
    /// The IANA time zone the organisers announced it in.
    async fn time_zone(&self) -> &str {
        &self.0.time_zone
    }
    async fn venue(&self) -> Option<&str> {
        self.0.venue.as_deref()
    }
    async fn city(&self) -> Option<&str> {
        self.0.city.as_deref()
    }
    /// ISO 3166-1 alpha-2 country code.
    async fn country(&self) -> Option<&str> {
        self.0.country.as_deref()
    }
    /// Where to join online.
    async fn online_url(&self) -> Option<&str> {
        self.0.online_url.as_deref()
    }
    /// The event's image: an https URL, if any.
    async fn image_url(&self) -> Option<&str> {
        self.0.image_url.as_deref()
    }
    /// The articles this record draws on (publication and headline), where it says so.
    async fn source_articles(&self) -> Vec<SourceArticle> {
        source_articles(self.0.source_articles.as_deref())
    }
    async fn hashtag(&self) -> Option<&str> {
        self.0.hashtag.as_deref()
    }
    /// Seats available; null for no limit.
    async fn capacity(&self) -> Option<i32> {
        self.0.capacity
    }
    /// RSVPs per status (statuses nobody chose are left out).
    async fn rsvps_by_status(&self, ctx: &Context<'_>) -> GqlResult<Vec<RsvpStatusCount>> {
        let rows = loaders(ctx)?.rsvp_status_counts.load_one(self.0.id).await?.unwrap_or_default();
        Ok(rows
            .into_iter()
            .map(|(status, count)| RsvpStatusCount { status: status.into(), count: u64::try_from(count).unwrap_or(0) })
            .collect())
    }
    /// Fans going.
    async fn rsvp_count(&self, ctx: &Context<'_>) -> GqlResult<u64> {
        // With the count's slots (see `domain::counters`), through the request's loader.
        let count = loaders(ctx)?.going_totals.load_one(self.0.id).await?.unwrap_or(self.0.going_count);
        Ok(u64::try_from(count).unwrap_or(0))
    }
    /// Your RSVP, when signed in.
    async fn viewer_rsvp(&self, ctx: &Context<'_>) -> GqlResult<Option<Rsvp>> {
        Ok(loaders(ctx)?.viewer_rsvps.load_one(self.0.id).await?.map(Rsvp))
    }
    /// Whether the event is under way now.
    async fn is_live(&self) -> bool {
        events::is_live(&self.0, chrono::Utc::now())
    }
    /// The start in any IANA time zone, RFC 3339 with that zone's offset (one instant everywhere).
    async fn starts_at_local(&self, time_zone: String) -> GqlResult<String> {
        Ok(events::starts_at_local(&self.0, &time_zone)?)
    }
    /// Where to download the event as an iCalendar file.
    async fn ics_url(&self) -> String {
        format!("/events/{}.ics", self.0.slug)
    }
}

/// How the read planner reads an `Event`: every field above, by GraphQL name (`plan`'s test holds
/// this to the schema, so a field added above fails it until it is declared here).
pub(crate) static EVENT_READS: plan::Reads = {
    use plan::{Conv, Read::*};
    plan::Reads {
        node: NodeType::Event,
        fields: &[
            ("id", Id),
            ("slug", Column("slug", Conv::Text)),
            ("kind", Column("kind", Conv::Enum)),
            ("title", Column("title", Conv::Text)),
            ("description", Column("description", Conv::Text)),
            ("film", Related(&super::films::FILM_READS, "film_id")),
            ("startsAt", Column("starts_at", Conv::DateTime)),
            ("endsAt", Column("ends_at", Conv::DateTime)),
            ("timeZone", Column("time_zone", Conv::Text)),
            ("venue", Column("venue", Conv::Text)),
            ("city", Column("city", Conv::Text)),
            ("country", Column("country", Conv::Text)),
            ("onlineUrl", Column("online_url", Conv::Text)),
            ("imageUrl", Column("image_url", Conv::Text)),
            ("sourceArticles", Sources("source_articles")),
            ("hashtag", Column("hashtag", Conv::Text)),
            ("capacity", Column("capacity", Conv::Int)),
            ("rsvpsByStatus", Resolver("counts the RSVPs per status through their loader")),
            ("rsvpCount", Column("going_count", Conv::Count)),
            ("viewerRsvp", Resolver("the viewer's own RSVP")),
            ("isLive", Resolver("compares the event's times with the clock")),
            ("startsAtLocal", Resolver("converts to a time zone the argument names")),
            ("icsUrl", Derived(plan::Derived::IcsUrl { slug: "slug" })),
        ],
    }
};

order_input!(
    /// The keys an event list can be sorted by.
    EventOrderField => events::EventOrderField {
        StartsAt,
        Title,
        CreatedAt,
        /// The RSVPs going.
        GoingCount,
    },
    /// How to sort events; ties are broken by id.
    EventOrder
);

/// Narrows an event list; all given conditions must hold.
#[derive(InputObject, Default)]
pub(crate) struct EventFilter {
    kind: Option<EventKind>,
    /// Only events about this film (global ID).
    film_id: Option<ID>,
    /// The city, ignoring case.
    city: Option<String>,
    /// ISO 3166-1 alpha-2 country code, ignoring case.
    country: Option<String>,
    /// The hashtag, with or without `#`, ignoring case.
    hashtag: Option<String>,
    /// Starting strictly after this instant.
    starts_after: Option<DateTime>,
    /// Starting strictly before this instant.
    starts_before: Option<DateTime>,
    /// `true`: events not over yet; `false`: events already over.
    upcoming: Option<bool>,
}

impl EventFilter {
    fn into_domain(self) -> DomainResult<events::EventFilter> {
        Ok(events::EventFilter {
            kind: self.kind.map(Into::into),
            film_id: decode_optional(self.film_id.as_ref(), NodeType::Film, "filter.filmId")?,
            city: self.city,
            country: self.country,
            hashtag: self.hashtag,
            starts_after: self.starts_after.map(|instant| instant.0),
            starts_before: self.starts_before.map(|instant| instant.0),
            upcoming: self.upcoming,
        })
    }
}

/// `event` and `events`.
#[derive(Default)]
pub(crate) struct EventQuery;

#[Object]
impl EventQuery {
    /// An event by global ID or by slug (give exactly one).
    async fn event(
        &self,
        ctx: &Context<'_>,
        id: Option<ID>,
        slug: Option<String>,
    ) -> GqlResult<Planned<Option<Event>>> {
        let key = Key::given(id, slug, NodeType::Event)?;
        plan::lookup_or_resolve(ctx, "event", &EVENT_READS, key, |all| &all.events, event::Column::Slug, Event).await
    }

    /// Events, soonest first unless `orderBy` or `sort` says otherwise. `sort` gives several keys, first wins,
    /// after `orderBy`'s if both are given (each field at most once); ties are broken by id.
    #[graphql(complexity = "super::connection::cost(first, last, child_complexity)")]
    async fn events(
        &self,
        ctx: &Context<'_>,
        filter: Option<EventFilter>,
        #[graphql(name = "where", desc = "Boolean conditions on fields and relations; with `filter`, both must hold.")]
        where_: Option<EventWhere>,
        order_by: Option<EventOrder>,
        sort: Option<Vec<EventOrder>>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> GqlResult<Planned<Connection<Event>>> {
        let page = connection::page_request(first, after, last, before)?;
        let condition =
            filter.unwrap_or_default().into_domain()?.condition(domain::now(), db(ctx)?.get_database_backend());
        let condition = super::where_inputs::and_where(ctx, condition, where_.as_ref())?;
        let order = list_order(
            order_by,
            sort,
            (events::EventOrderField::StartsAt, domain::paging::Direction::Asc),
            events::sort,
        )?;
        plan::list_or_resolve::<event::Entity, _>(ctx, "events", &EVENT_READS, condition, order, page, Event).await
    }
}

/// A new event; a missing slug is made from the title.
#[derive(InputObject)]
pub(crate) struct CreateEventInput {
    slug: Option<String>,
    kind: EventKind,
    title: String,
    description: Option<String>,
    /// The film it is about (global ID).
    film_id: Option<ID>,
    starts_at: DateTime,
    /// After `startsAt`.
    ends_at: Option<DateTime>,
    /// An IANA time zone such as `America/Los_Angeles`.
    time_zone: String,
    venue: Option<String>,
    city: Option<String>,
    /// ISO 3166-1 alpha-2.
    country: Option<String>,
    online_url: Option<String>,
    hashtag: Option<String>,
    /// Seats; null for no limit.
    capacity: Option<i32>,
    /// An image: https, at most 2,048 characters.
    image_url: Option<String>,
}

/// What `upsertEvent` wrote.
#[derive(SimpleObject)]
pub(crate) struct UpsertEventPayload {
    event: Event,
    /// True when the event was created, false when the one with the slug was updated.
    created: bool,
}

/// Changes to an event: only the fields given change; null clears an optional field.
#[derive(InputObject)]
pub(crate) struct UpdateEventInput {
    slug: MaybeUndefined<String>,
    kind: MaybeUndefined<EventKind>,
    title: MaybeUndefined<String>,
    description: MaybeUndefined<String>,
    film_id: MaybeUndefined<ID>,
    starts_at: MaybeUndefined<DateTime>,
    ends_at: MaybeUndefined<DateTime>,
    time_zone: MaybeUndefined<String>,
    venue: MaybeUndefined<String>,
    city: MaybeUndefined<String>,
    country: MaybeUndefined<String>,
    online_url: MaybeUndefined<String>,
    hashtag: MaybeUndefined<String>,
    capacity: MaybeUndefined<i32>,
    image_url: MaybeUndefined<String>,
}

input_changes!(CreateEventInput, UpdateEventInput => events::EventChanges {
    slug: defaulted,
    kind: required,
    title: required,
    description: optional,
    film_id: id(NodeType::Film),
    starts_at: required,
    ends_at: optional,
    time_zone: required,
    venue: optional,
    city: optional,
    country: optional,
    online_url: optional,
    hashtag: optional,
    capacity: optional,
    image_url: optional,
});

/// Event mutations (admins).
#[derive(Default)]
pub(crate) struct EventMutation;

#[Object]
impl EventMutation {
    /// Creates an event.
    #[graphql(guard = "RoleGuard::admin()")]
    async fn create_event(&self, ctx: &Context<'_>, input: CreateEventInput) -> GqlResult<Event> {
        let changes = input.into_changes()?;
        let event =
            change::create(ctx, "createEvent", async |txn, actor| events::create(txn, changes, actor.user_id).await)
                .await?;
        Ok(Event(event.into()))
    }

    /// Changes the given fields of an event.
    #[graphql(guard = "RoleGuard::admin()")]
    async fn update_event(&self, ctx: &Context<'_>, id: ID, input: UpdateEventInput) -> GqlResult<Event> {
        let id = decode_as(&id, NodeType::Event, "id")?;
        let changes = input.into_changes()?;
        let event = change::update::<event::Entity>(ctx, "updateEvent", id, async |txn, _| {
            events::update(txn, id, changes).await
        })
        .await?;
        Ok(Event(event.into()))
    }

    /// Creates the event with the input's slug (made from the title when not given) or, when there
    /// is one, makes it what the input says, in one statement: validated like `createEvent`, an
    /// optional field left out is cleared; a stored event keeps its creator and RSVPs, and fewer
    /// seats than its fans hold is refused.
    #[graphql(guard = "RoleGuard::admin()")]
    async fn upsert_event(&self, ctx: &Context<'_>, input: CreateEventInput) -> GqlResult<UpsertEventPayload> {
        let changes = input.into_changes()?;
        let upserted =
            change::upsert(ctx, "upsertEvent", async |txn, actor| events::upsert(txn, changes, actor.user_id).await)
                .await?;
        Ok(UpsertEventPayload { event: Event(upserted.row.into()), created: upserted.created })
    }

    /// Deletes an event with its RSVPs. Returns the deleted ID.
    #[graphql(guard = "RoleGuard::admin()")]
    async fn delete_event(&self, ctx: &Context<'_>, id: ID) -> GqlResult<ID> {
        let key = decode_as(&id, NodeType::Event, "id")?;
        change::delete::<event::Entity>(ctx, "deleteEvent", key, async |txn| events::delete(txn, key).await).await?;
        Ok(id)
    }
}

/// RSVPs (any signed-in fan).
#[derive(Default)]
pub(crate) struct RsvpMutation;

#[Object]
impl RsvpMutation {
    /// Answers an event (GOING by default). GOING takes a seat if one is left; a full event is
    /// `CONFLICT`.
    #[graphql(guard = "RoleGuard::fan()")]
    async fn rsvp_event(&self, ctx: &Context<'_>, event_id: ID, status: Option<RsvpStatus>) -> GqlResult<Rsvp> {
        let event_id = decode_as(&event_id, NodeType::Event, "eventId")?;
        let status = status.unwrap_or(RsvpStatus::Going).into();
        let user_id = viewer_id(ctx)?;
        account_mail::require_verified(db(ctx)?, super::account_mail::policy(ctx), user_id).await?;
        Ok(Rsvp(events::rsvp(db(ctx)?, notifier(ctx)?, user_id, event_id, status).await?.into()))
    }

    /// Cancels your RSVP; false when you had none.
    #[graphql(guard = "RoleGuard::fan()")]
    async fn cancel_rsvp(&self, ctx: &Context<'_>, event_id: ID) -> GqlResult<bool> {
        let event_id = decode_as(&event_id, NodeType::Event, "eventId")?;
        Ok(events::cancel_rsvp(db(ctx)?, notifier(ctx)?, viewer_id(ctx)?, event_id).await?)
    }
}
