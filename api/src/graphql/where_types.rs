//! The `XWhere` inputs of every list and nested connection: one operator input per scalar field,
//! `YWhere` per to-one relation, `YListWhere` (`some`, `none`, `every`) per to-many relation, and
//! `and`, `or`, `not`. Field names are the type's own (`releaseDate`, `status`…). Each compiles to
//! one condition on its table (`where_inputs::compile`), with the visibility of the related type
//! applied in every relation.

use async_graphql::{InputObject, InputType};
use entity::{audit_event, credit, event, film, person, petition, petition_update, quote, signature, user};
use sea_orm::Condition;

use super::ids::NodeType;
use super::where_inputs::{
    CreditRoleFilter, DateFilter, DateTimeFilter, EventKindFilter, Fields, FilmStatusFilter, IDFilter, IntFilter,
    Logic, MoneyFilter, PetitionStatusFilter, Quantified, QuoteStatusFilter, RoleFilter, StringFilter, Where,
};
use crate::domain::where_filter::Computed;
use crate::domain::{DomainResult, petition_updates, petitions, quotes, row_counts};

/// The text fields of the `XWhere` types that no index serves: a condition on one reads every row
/// of its table (the slugs, titles, names, emails, cities, countries and entity types are indexed).
const UNINDEXED_TEXT_FIELDS: [&str; 23] = [
    "tagline",
    "synopsis",
    "distributor",
    "posterUrl",
    "bio",
    "photoUrl",
    "character",
    "text",
    "source",
    "sourceUrl",
    "context",
    "description",
    "timeZone",
    "venue",
    "onlineUrl",
    "imageUrl",
    "hashtag",
    "body",
    "target",
    "comment",
    "displayName",
    "action",
    "requestId",
];

/// Whether a `where` argument's value scans text, for the cost model: a `contains` or `startsWith`
/// (no index serves a substring, case aside) or any condition on an unindexed text field, at any
/// depth.
pub(crate) fn scans_text(value: &async_graphql::Value) -> bool {
    use async_graphql::Value;
    match value {
        Value::Object(fields) => fields.iter().any(|(name, inner)| {
            !matches!(inner, Value::Null)
                && (matches!(name.as_str(), "contains" | "startsWith")
                    || (UNINDEXED_TEXT_FIELDS.contains(&name.as_str()) && matches!(inner, Value::Object(_)))
                    || scans_text(inner))
        }),
        Value::List(items) => items.iter().any(scans_text),
        _ => false,
    }
}

/// A to-many relation's filter: the related rows (only those the reader may see) of which some,
/// none or every one meets the given filter; several quantifiers must all hold.
#[derive(InputObject)]
#[graphql(concrete(name = "FilmListWhere", params(FilmWhere)))]
#[graphql(concrete(name = "CreditListWhere", params(CreditWhere)))]
#[graphql(concrete(name = "QuoteListWhere", params(QuoteWhere)))]
#[graphql(concrete(name = "EventListWhere", params(EventWhere)))]
#[graphql(concrete(name = "PetitionListWhere", params(PetitionWhere)))]
#[graphql(concrete(name = "SignatureListWhere", params(SignatureWhere)))]
#[graphql(concrete(name = "PetitionUpdateListWhere", params(PetitionUpdateWhere)))]
pub(crate) struct ListWhere<W: InputType> {
    /// At least one related row meets this.
    some: Option<Box<W>>,
    /// No related row meets this.
    none: Option<Box<W>>,
    /// Every related row meets this (true when there are none).
    every: Option<Box<W>>,
}

impl<W: InputType> ListWhere<W> {
    /// The quantifiers given.
    fn quantified(&self) -> Quantified<'_, W> {
        Quantified { some: self.some.as_deref(), none: self.none.as_deref(), every: self.every.as_deref() }
    }
}

/// The `Where::logic` of a type with `and`, `or` and `not` fields.
macro_rules! logic {
    () => {
        fn logic(&self) -> Logic<'_, Self> {
            Logic { and: self.and.as_deref(), or: self.or.as_deref(), not: self.not.as_deref() }
        }
    };
}

/// Narrows films: every field given must hold; `and`, `or` and `not` combine filters.
#[derive(InputObject, Default)]
pub(crate) struct FilmWhere {
    /// Every one of these holds.
    and: Option<Vec<FilmWhere>>,
    /// At least one of these holds (none given: no row matches).
    or: Option<Vec<FilmWhere>>,
    /// This does not hold (rows where it compares a null field included).
    not: Option<Box<FilmWhere>>,
    id: Option<IDFilter>,
    slug: Option<StringFilter>,
    title: Option<StringFilter>,
    tagline: Option<StringFilter>,
    synopsis: Option<StringFilter>,
    release_date: Option<DateFilter>,
    runtime_minutes: Option<IntFilter>,
    status: Option<FilmStatusFilter>,
    budget_usd: Option<MoneyFilter>,
    box_office_usd: Option<MoneyFilter>,
    distributor: Option<StringFilter>,
    poster_url: Option<StringFilter>,
    created_at: Option<DateTimeFilter>,
    updated_at: Option<DateTimeFilter>,
    /// The film this one follows.
    sequel_of: Option<Box<FilmWhere>>,
    /// The films that follow this one.
    sequels: Option<ListWhere<FilmWhere>>,
    /// Who made the film.
    credits: Option<ListWhere<CreditWhere>>,
    /// What was said about the film (quotes you may see).
    quotes: Option<ListWhere<QuoteWhere>>,
    /// Fan events about the film.
    events: Option<ListWhere<EventWhere>>,
    /// Petitions about the film.
    petitions: Option<ListWhere<PetitionWhere>>,
}

impl Where for FilmWhere {
    logic!();

    fn fields(&self, fields: &mut Fields<'_>) -> DomainResult<()> {
        fields.id(&self.id, film::Column::Id, NodeType::Film)?;
        fields.column("slug", &self.slug, film::Column::Slug)?;
        fields.column("title", &self.title, film::Column::Title)?;
        fields.column("tagline", &self.tagline, film::Column::Tagline)?;
        fields.column("synopsis", &self.synopsis, film::Column::Synopsis)?;
        fields.column("releaseDate", &self.release_date, film::Column::ReleaseDate)?;
        fields.column("runtimeMinutes", &self.runtime_minutes, film::Column::RuntimeMinutes)?;
        fields.column("status", &self.status, film::Column::Status)?;
        fields.column("budgetUsd", &self.budget_usd, film::Column::BudgetUsd)?;
        fields.column("boxOfficeUsd", &self.box_office_usd, film::Column::BoxOfficeUsd)?;
        fields.column("distributor", &self.distributor, film::Column::Distributor)?;
        fields.column("posterUrl", &self.poster_url, film::Column::PosterUrl)?;
        fields.column("createdAt", &self.created_at, film::Column::CreatedAt)?;
        fields.column("updatedAt", &self.updated_at, film::Column::UpdatedAt)?;
        fields.one::<_, _, film::Entity>(
            "sequelOf",
            &self.sequel_of,
            film::Column::SequelOfId,
            film::Column::Id,
            Condition::all(),
        )?;
        fields.many(
            "sequels",
            self.sequels.as_ref().map(ListWhere::quantified),
            film::Column::Id,
            film::Column::SequelOfId,
            Condition::all,
        )?;
        fields.many(
            "credits",
            self.credits.as_ref().map(ListWhere::quantified),
            film::Column::Id,
            credit::Column::FilmId,
            Condition::all,
        )?;
        let viewer = fields.compiler.viewer;
        fields.many(
            "quotes",
            self.quotes.as_ref().map(ListWhere::quantified),
            film::Column::Id,
            quote::Column::FilmId,
            move || quotes::visible_to(&viewer),
        )?;
        fields.many(
            "events",
            self.events.as_ref().map(ListWhere::quantified),
            film::Column::Id,
            event::Column::FilmId,
            Condition::all,
        )?;
        fields.many(
            "petitions",
            self.petitions.as_ref().map(ListWhere::quantified),
            film::Column::Id,
            petition::Column::FilmId,
            Condition::all,
        )?;
        Ok(())
    }
}

/// Narrows people: every field given must hold; `and`, `or` and `not` combine filters.
#[derive(InputObject, Default)]
pub(crate) struct PersonWhere {
    /// Every one of these holds.
    and: Option<Vec<PersonWhere>>,
    /// At least one of these holds (none given: no row matches).
    or: Option<Vec<PersonWhere>>,
    /// This does not hold (rows where it compares a null field included).
    not: Option<Box<PersonWhere>>,
    id: Option<IDFilter>,
    slug: Option<StringFilter>,
    name: Option<StringFilter>,
    bio: Option<StringFilter>,
    photo_url: Option<StringFilter>,
    birth_date: Option<DateFilter>,
    /// What the person did on films.
    credits: Option<ListWhere<CreditWhere>>,
    /// What the person said (quotes you may see).
    quotes: Option<ListWhere<QuoteWhere>>,
}

impl Where for PersonWhere {
    logic!();

    fn fields(&self, fields: &mut Fields<'_>) -> DomainResult<()> {
        fields.id(&self.id, person::Column::Id, NodeType::Person)?;
        fields.column("slug", &self.slug, person::Column::Slug)?;
        fields.column("name", &self.name, person::Column::Name)?;
        fields.column("bio", &self.bio, person::Column::Bio)?;
        fields.column("photoUrl", &self.photo_url, person::Column::PhotoUrl)?;
        fields.column("birthDate", &self.birth_date, person::Column::BirthDate)?;
        fields.many(
            "credits",
            self.credits.as_ref().map(ListWhere::quantified),
            person::Column::Id,
            credit::Column::PersonId,
            Condition::all,
        )?;
        let viewer = fields.compiler.viewer;
        fields.many(
            "quotes",
            self.quotes.as_ref().map(ListWhere::quantified),
            person::Column::Id,
            quote::Column::PersonId,
            move || quotes::visible_to(&viewer),
        )?;
        Ok(())
    }
}

/// Narrows credits: every field given must hold; `and`, `or` and `not` combine filters.
#[derive(InputObject, Default)]
pub(crate) struct CreditWhere {
    /// Every one of these holds.
    and: Option<Vec<CreditWhere>>,
    /// At least one of these holds (none given: no row matches).
    or: Option<Vec<CreditWhere>>,
    /// This does not hold (rows where it compares a null field included).
    not: Option<Box<CreditWhere>>,
    id: Option<IDFilter>,
    role: Option<CreditRoleFilter>,
    character: Option<StringFilter>,
    billing_order: Option<IntFilter>,
    /// The film.
    film: Option<Box<FilmWhere>>,
    /// The person.
    person: Option<Box<PersonWhere>>,
}

impl Where for CreditWhere {
    logic!();

    fn fields(&self, fields: &mut Fields<'_>) -> DomainResult<()> {
        fields.id(&self.id, credit::Column::Id, NodeType::Credit)?;
        fields.column("role", &self.role, credit::Column::Role)?;
        fields.column("character", &self.character, credit::Column::Character)?;
        fields.column("billingOrder", &self.billing_order, credit::Column::BillingOrder)?;
        fields.one::<_, _, film::Entity>(
            "film",
            &self.film,
            credit::Column::FilmId,
            film::Column::Id,
            Condition::all(),
        )?;
        fields.one::<_, _, person::Entity>(
            "person",
            &self.person,
            credit::Column::PersonId,
            person::Column::Id,
            Condition::all(),
        )?;
        Ok(())
    }
}

/// Narrows quotes (only ever among those you may see): every field given must hold; `and`, `or` and `not` combine filters.
#[derive(InputObject, Default)]
pub(crate) struct QuoteWhere {
    /// Every one of these holds.
    and: Option<Vec<QuoteWhere>>,
    /// At least one of these holds (none given: no row matches).
    or: Option<Vec<QuoteWhere>>,
    /// This does not hold (rows where it compares a null field included).
    not: Option<Box<QuoteWhere>>,
    id: Option<IDFilter>,
    text: Option<StringFilter>,
    source: Option<StringFilter>,
    source_url: Option<StringFilter>,
    said_on: Option<DateFilter>,
    context: Option<StringFilter>,
    status: Option<QuoteStatusFilter>,
    created_at: Option<DateTimeFilter>,
    /// Who said it.
    person: Option<Box<PersonWhere>>,
    /// The film it is about.
    film: Option<Box<FilmWhere>>,
}

impl Where for QuoteWhere {
    logic!();

    fn fields(&self, fields: &mut Fields<'_>) -> DomainResult<()> {
        fields.id(&self.id, quote::Column::Id, NodeType::Quote)?;
        fields.column("text", &self.text, quote::Column::Text)?;
        fields.column("source", &self.source, quote::Column::Source)?;
        fields.column("sourceUrl", &self.source_url, quote::Column::SourceUrl)?;
        fields.column("saidOn", &self.said_on, quote::Column::SaidOn)?;
        fields.column("context", &self.context, quote::Column::Context)?;
        fields.column("status", &self.status, quote::Column::Status)?;
        fields.column("createdAt", &self.created_at, quote::Column::CreatedAt)?;
        fields.one::<_, _, person::Entity>(
            "person",
            &self.person,
            quote::Column::PersonId,
            person::Column::Id,
            Condition::all(),
        )?;
        fields.one::<_, _, film::Entity>(
            "film",
            &self.film,
            quote::Column::FilmId,
            film::Column::Id,
            Condition::all(),
        )?;
        Ok(())
    }
}

/// Narrows events: every field given must hold; `and`, `or` and `not` combine filters.
#[derive(InputObject, Default)]
pub(crate) struct EventWhere {
    /// Every one of these holds.
    and: Option<Vec<EventWhere>>,
    /// At least one of these holds (none given: no row matches).
    or: Option<Vec<EventWhere>>,
    /// This does not hold (rows where it compares a null field included).
    not: Option<Box<EventWhere>>,
    id: Option<IDFilter>,
    slug: Option<StringFilter>,
    kind: Option<EventKindFilter>,
    title: Option<StringFilter>,
    description: Option<StringFilter>,
    starts_at: Option<DateTimeFilter>,
    ends_at: Option<DateTimeFilter>,
    time_zone: Option<StringFilter>,
    venue: Option<StringFilter>,
    city: Option<StringFilter>,
    country: Option<StringFilter>,
    online_url: Option<StringFilter>,
    image_url: Option<StringFilter>,
    hashtag: Option<StringFilter>,
    capacity: Option<IntFilter>,
    rsvp_count: Option<IntFilter>,
    /// The film it is about.
    film: Option<Box<FilmWhere>>,
}

impl Where for EventWhere {
    logic!();

    fn fields(&self, fields: &mut Fields<'_>) -> DomainResult<()> {
        fields.id(&self.id, event::Column::Id, NodeType::Event)?;
        fields.column("slug", &self.slug, event::Column::Slug)?;
        fields.column("kind", &self.kind, event::Column::Kind)?;
        fields.column("title", &self.title, event::Column::Title)?;
        fields.column("description", &self.description, event::Column::Description)?;
        fields.column("startsAt", &self.starts_at, event::Column::StartsAt)?;
        fields.column("endsAt", &self.ends_at, event::Column::EndsAt)?;
        fields.column("timeZone", &self.time_zone, event::Column::TimeZone)?;
        fields.column("venue", &self.venue, event::Column::Venue)?;
        fields.column("city", &self.city, event::Column::City)?;
        fields.column("country", &self.country, event::Column::Country)?;
        fields.column("onlineUrl", &self.online_url, event::Column::OnlineUrl)?;
        fields.column("imageUrl", &self.image_url, event::Column::ImageUrl)?;
        fields.column("hashtag", &self.hashtag, event::Column::Hashtag)?;
        fields.column("capacity", &self.capacity, event::Column::Capacity)?;
        fields.column("rsvpCount", &self.rsvp_count, Computed(row_counts::event_going_count))?;
        fields.one::<_, _, film::Entity>(
            "film",
            &self.film,
            event::Column::FilmId,
            film::Column::Id,
            Condition::all(),
        )?;
        Ok(())
    }
}

/// Narrows petitions: every field given must hold; `and`, `or` and `not` combine filters.
#[derive(InputObject, Default)]
pub(crate) struct PetitionWhere {
    /// Every one of these holds.
    and: Option<Vec<PetitionWhere>>,
    /// At least one of these holds (none given: no row matches).
    or: Option<Vec<PetitionWhere>>,
    /// This does not hold (rows where it compares a null field included).
    not: Option<Box<PetitionWhere>>,
    id: Option<IDFilter>,
    slug: Option<StringFilter>,
    title: Option<StringFilter>,
    body: Option<StringFilter>,
    target: Option<StringFilter>,
    goal: Option<IntFilter>,
    status: Option<PetitionStatusFilter>,
    closes_at: Option<DateTimeFilter>,
    image_url: Option<StringFilter>,
    created_at: Option<DateTimeFilter>,
    signature_count: Option<IntFilter>,
    /// The film it is about.
    film: Option<Box<FilmWhere>>,
    /// Its public signatures.
    signatures: Option<ListWhere<SignatureWhere>>,
    /// Its updates (those you may see).
    updates: Option<ListWhere<PetitionUpdateWhere>>,
}

impl Where for PetitionWhere {
    logic!();

    fn fields(&self, fields: &mut Fields<'_>) -> DomainResult<()> {
        fields.id(&self.id, petition::Column::Id, NodeType::Petition)?;
        fields.column("slug", &self.slug, petition::Column::Slug)?;
        fields.column("title", &self.title, petition::Column::Title)?;
        fields.column("body", &self.body, petition::Column::Body)?;
        fields.column("target", &self.target, petition::Column::Target)?;
        fields.column("goal", &self.goal, petition::Column::Goal)?;
        if let Some(status) = &self.status {
            fields.custom("status", |compiler, path| status.reads_as(compiler, path))?;
        }
        fields.column("closesAt", &self.closes_at, petition::Column::ClosesAt)?;
        fields.column("imageUrl", &self.image_url, petition::Column::ImageUrl)?;
        fields.column("createdAt", &self.created_at, petition::Column::CreatedAt)?;
        fields.column("signatureCount", &self.signature_count, Computed(row_counts::petition_signature_count))?;
        fields.one::<_, _, film::Entity>(
            "film",
            &self.film,
            petition::Column::FilmId,
            film::Column::Id,
            Condition::all(),
        )?;
        fields.many(
            "signatures",
            self.signatures.as_ref().map(ListWhere::quantified),
            petition::Column::Id,
            signature::Column::PetitionId,
            petitions::public_signatures,
        )?;
        let viewer = fields.compiler.viewer;
        fields.many(
            "updates",
            self.updates.as_ref().map(ListWhere::quantified),
            petition::Column::Id,
            petition_update::Column::PetitionId,
            move || petition_updates::visible_to(&viewer),
        )?;
        Ok(())
    }
}

/// Narrows signatures (only ever public ones): every field given must hold; `and`, `or` and `not` combine filters.
#[derive(InputObject, Default)]
pub(crate) struct SignatureWhere {
    /// Every one of these holds.
    and: Option<Vec<SignatureWhere>>,
    /// At least one of these holds (none given: no row matches).
    or: Option<Vec<SignatureWhere>>,
    /// This does not hold (rows where it compares a null field included).
    not: Option<Box<SignatureWhere>>,
    id: Option<IDFilter>,
    country: Option<StringFilter>,
    comment: Option<StringFilter>,
    created_at: Option<DateTimeFilter>,
    /// The petition signed.
    petition: Option<Box<PetitionWhere>>,
}

impl Where for SignatureWhere {
    logic!();

    fn fields(&self, fields: &mut Fields<'_>) -> DomainResult<()> {
        fields.id(&self.id, signature::Column::Id, NodeType::Signature)?;
        fields.column("country", &self.country, signature::Column::Country)?;
        fields.column("comment", &self.comment, signature::Column::Comment)?;
        fields.column("createdAt", &self.created_at, signature::Column::CreatedAt)?;
        fields.one::<_, _, petition::Entity>(
            "petition",
            &self.petition,
            signature::Column::PetitionId,
            petition::Column::Id,
            Condition::all(),
        )?;
        Ok(())
    }
}

/// Narrows petition updates (only ever those you may see): every field given must hold; `and`, `or` and `not` combine filters.
#[derive(InputObject, Default)]
pub(crate) struct PetitionUpdateWhere {
    /// Every one of these holds.
    and: Option<Vec<PetitionUpdateWhere>>,
    /// At least one of these holds (none given: no row matches).
    or: Option<Vec<PetitionUpdateWhere>>,
    /// This does not hold (rows where it compares a null field included).
    not: Option<Box<PetitionUpdateWhere>>,
    id: Option<IDFilter>,
    title: Option<StringFilter>,
    body: Option<StringFilter>,
    published_at: Option<DateTimeFilter>,
    created_at: Option<DateTimeFilter>,
    updated_at: Option<DateTimeFilter>,
    /// The petition it is about.
    petition: Option<Box<PetitionWhere>>,
}

impl Where for PetitionUpdateWhere {
    logic!();

    fn fields(&self, fields: &mut Fields<'_>) -> DomainResult<()> {
        fields.id(&self.id, petition_update::Column::Id, NodeType::PetitionUpdate)?;
        fields.column("title", &self.title, petition_update::Column::Title)?;
        fields.column("body", &self.body, petition_update::Column::BodyMarkdown)?;
        fields.column("publishedAt", &self.published_at, petition_update::Column::PublishedAt)?;
        fields.column("createdAt", &self.created_at, petition_update::Column::CreatedAt)?;
        fields.column("updatedAt", &self.updated_at, petition_update::Column::UpdatedAt)?;
        fields.one::<_, _, petition::Entity>(
            "petition",
            &self.petition,
            petition_update::Column::PetitionId,
            petition::Column::Id,
            Condition::all(),
        )?;
        Ok(())
    }
}

/// Narrows users: every field given must hold; `and`, `or` and `not` combine filters.
#[derive(InputObject, Default)]
pub(crate) struct UserWhere {
    /// Every one of these holds.
    and: Option<Vec<UserWhere>>,
    /// At least one of these holds (none given: no row matches).
    or: Option<Vec<UserWhere>>,
    /// This does not hold (rows where it compares a null field included).
    not: Option<Box<UserWhere>>,
    id: Option<IDFilter>,
    display_name: Option<StringFilter>,
    email: Option<StringFilter>,
    role: Option<RoleFilter>,
    last_login_at: Option<DateTimeFilter>,
    created_at: Option<DateTimeFilter>,
}

impl Where for UserWhere {
    logic!();

    fn fields(&self, fields: &mut Fields<'_>) -> DomainResult<()> {
        fields.id(&self.id, user::Column::Id, NodeType::User)?;
        fields.column("displayName", &self.display_name, user::Column::DisplayName)?;
        fields.column("email", &self.email, user::Column::Email)?;
        fields.column("role", &self.role, user::Column::Role)?;
        fields.column("lastLoginAt", &self.last_login_at, user::Column::LastLoginAt)?;
        fields.column("createdAt", &self.created_at, user::Column::CreatedAt)?;
        Ok(())
    }
}

/// Narrows the audit log: every field given must hold; `and`, `or` and `not` combine filters.
#[derive(InputObject, Default)]
pub(crate) struct AuditEventWhere {
    /// Every one of these holds.
    and: Option<Vec<AuditEventWhere>>,
    /// At least one of these holds (none given: no row matches).
    or: Option<Vec<AuditEventWhere>>,
    /// This does not hold (rows where it compares a null field included).
    not: Option<Box<AuditEventWhere>>,
    action: Option<StringFilter>,
    entity_type: Option<StringFilter>,
    request_id: Option<StringFilter>,
    created_at: Option<DateTimeFilter>,
    /// Who made the change.
    actor: Option<Box<UserWhere>>,
}

impl Where for AuditEventWhere {
    logic!();

    fn fields(&self, fields: &mut Fields<'_>) -> DomainResult<()> {
        fields.column("action", &self.action, audit_event::Column::Action)?;
        fields.column("entityType", &self.entity_type, audit_event::Column::EntityType)?;
        fields.column("requestId", &self.request_id, audit_event::Column::RequestId)?;
        fields.column("createdAt", &self.created_at, audit_event::Column::CreatedAt)?;
        fields.one::<_, _, user::Entity>(
            "actor",
            &self.actor,
            audit_event::Column::ActorId,
            user::Column::Id,
            Condition::all(),
        )?;
        Ok(())
    }
}
