//! Films and credits: the `Film` and `Credit` types, `film`/`films`, and their inputs.

use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, OneofObject, SimpleObject};
use entity::{credit, film};

use super::change;
use super::connection::{self, Connection, NodeName};
use super::db;
use super::errors::GqlResult;
use super::events::Event;
use super::guards::RoleGuard;
use super::ids::{NodeType, decode_as, global_id};
use super::inputs::{CreditEnd, GivenCredit, credit_links, input_changes, patch, required};
use super::loaders;
use super::people::{CreatePersonInput, Person};
use super::petitions::Petition;
use super::plan::{self, Key, Planned};
use super::quotes::Quote;
use super::scalars::{CreditRole, Date, DateTime, FilmStatus, Money, list_order, order_input};
use super::sources::{SourceArticle, source_articles};
use crate::domain::{self, DomainResult, films, people, validate};
use crate::loaders::{CreditParent, CreditScope, EventScope, FilmScope, PetitionScope, QuoteParent, QuoteScope};

/// A film of the fandom, released or only hoped for.
#[derive(Clone)]
pub(crate) struct Film(pub std::sync::Arc<film::Model>);

impl NodeName for Film {
    const NAME: &'static str = "Film";
}

#[Object]
impl Film {
    /// The global ID.
    pub(crate) async fn id(&self) -> ID {
        global_id(NodeType::Film, self.0.id)
    }
    /// The URL name, unique among films.
    async fn slug(&self) -> &str {
        &self.0.slug
    }
    async fn title(&self) -> &str {
        &self.0.title
    }
    async fn tagline(&self) -> Option<&str> {
        self.0.tagline.as_deref()
    }
    async fn synopsis(&self) -> Option<&str> {
        self.0.synopsis.as_deref()
    }
    /// The first release date.
    async fn release_date(&self) -> Option<Date> {
        self.0.release_date.map(Date)
    }
    async fn runtime_minutes(&self) -> Option<i32> {
        self.0.runtime_minutes
    }
    async fn status(&self) -> FilmStatus {
        self.0.status.into()
    }
    /// The production budget in US dollars.
    async fn budget_usd(&self) -> Option<Money> {
        self.0.budget_usd.map(Money)
    }
    /// The worldwide box office in US dollars.
    async fn box_office_usd(&self) -> Option<Money> {
        self.0.box_office_usd.map(Money)
    }
    /// Who distributes the film now.
    async fn distributor(&self) -> Option<&str> {
        self.0.distributor.as_deref()
    }
    /// The poster image: an https URL, if any.
    async fn poster_url(&self) -> Option<&str> {
        self.0.poster_url.as_deref()
    }
    /// The film this one follows.
    async fn sequel_of(&self, ctx: &Context<'_>) -> GqlResult<Option<Film>> {
        let Some(id) = self.0.sequel_of_id else { return Ok(None) };
        Ok(loaders(ctx)?.films.load_one(id).await?.map(Film))
    }
    /// The films that follow this one, oldest first.
    #[graphql(complexity = "super::connection::cost(first, last, child_complexity)")]
    async fn sequels(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> GqlResult<Connection<Film>> {
        let page = connection::page_request(first, after, last, before)?;
        connection::children(ctx, FilmScope, self.0.id, page, Film).await
    }
    /// Who made the film, in billing order.
    #[graphql(complexity = "super::connection::cost(first, last, child_complexity)")]
    async fn credits(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only credits of this role.")] role: Option<CreditRole>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> GqlResult<Connection<Credit>> {
        let page = connection::page_request(first, after, last, before)?;
        let scope = CreditScope { parent: CreditParent::Film, role: role.map(Into::into) };
        connection::children(ctx, scope, self.0.id, page, Credit).await
    }
    /// What was said about the film, in the order the quotes were added.
    #[graphql(complexity = "super::connection::cost(first, last, child_complexity)")]
    async fn quotes(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> GqlResult<Connection<Quote>> {
        let page = connection::page_request(first, after, last, before)?;
        let scope = QuoteScope { parent: QuoteParent::Film, viewer: loaders(ctx)?.viewer };
        connection::children(ctx, scope, self.0.id, page, Quote).await
    }
    /// Fan events about the film, soonest first.
    #[graphql(complexity = "super::connection::cost(first, last, child_complexity)")]
    async fn events(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> GqlResult<Connection<Event>> {
        let page = connection::page_request(first, after, last, before)?;
        connection::children(ctx, EventScope, self.0.id, page, Event).await
    }
    /// Petitions about the film.
    #[graphql(complexity = "super::connection::cost(first, last, child_complexity)")]
    async fn petitions(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> GqlResult<Connection<Petition>> {
        let page = connection::page_request(first, after, last, before)?;
        connection::children(ctx, PetitionScope, self.0.id, page, Petition).await
    }
    /// The articles this record draws on (publication and headline), where it says so.
    async fn source_articles(&self) -> Vec<SourceArticle> {
        source_articles(self.0.source_articles.as_deref())
    }
    async fn created_at(&self) -> DateTime {
        DateTime(self.0.created_at)
    }
    async fn updated_at(&self) -> DateTime {
        DateTime(self.0.updated_at)
    }
}

/// How the read planner reads a `Film`: every field above, by GraphQL name (`plan`'s test holds
/// this to the schema, so a field added above fails it until it is declared here).
pub(crate) static FILM_READS: plan::Reads = {
    use plan::{Conv, Read::*};
    plan::Reads {
        node: NodeType::Film,
        fields: &[
            ("id", Id),
            ("slug", Column("slug", Conv::Text)),
            ("title", Column("title", Conv::Text)),
            ("tagline", Column("tagline", Conv::Text)),
            ("synopsis", Column("synopsis", Conv::Text)),
            ("releaseDate", Column("release_date", Conv::Date)),
            ("runtimeMinutes", Column("runtime_minutes", Conv::Int)),
            ("status", Column("status", Conv::Enum)),
            ("budgetUsd", Column("budget_usd", Conv::Int)),
            ("boxOfficeUsd", Column("box_office_usd", Conv::Int)),
            ("distributor", Column("distributor", Conv::Text)),
            ("posterUrl", Column("poster_url", Conv::Text)),
            ("sequelOf", Related(&FILM_READS, "sequel_of_id")),
            ("sequels", Children(&FILM_READS, plan::Children::Sequels)),
            ("credits", Children(&CREDIT_READS, plan::Children::Credits(CreditParent::Film))),
            ("quotes", Children(&super::quotes::QUOTE_READS, plan::Children::Quotes(QuoteParent::Film))),
            ("events", Children(&super::events::EVENT_READS, plan::Children::Events)),
            ("petitions", Children(&super::petitions::PETITION_READS, plan::Children::Petitions)),
            ("sourceArticles", Sources("source_articles")),
            ("createdAt", Column("created_at", Conv::DateTime)),
            ("updatedAt", Column("updated_at", Conv::DateTime)),
        ],
    }
};

/// What a person did on a film.
#[derive(Clone)]
pub(crate) struct Credit(pub std::sync::Arc<credit::Model>);

impl NodeName for Credit {
    const NAME: &'static str = "Credit";
}

#[Object]
impl Credit {
    /// The global ID.
    pub(crate) async fn id(&self) -> ID {
        global_id(NodeType::Credit, self.0.id)
    }
    async fn film(&self, ctx: &Context<'_>) -> GqlResult<Film> {
        Ok(Film(super::parent(&loaders(ctx)?.films, self.0.film_id, "film").await?))
    }
    async fn person(&self, ctx: &Context<'_>) -> GqlResult<Person> {
        Ok(Person(super::parent(&loaders(ctx)?.people, self.0.person_id, "person").await?))
    }
    async fn role(&self) -> CreditRole {
        self.0.role.into()
    }
    /// The character played, for cast credits.
    async fn character(&self) -> Option<&str> {
        self.0.character.as_deref()
    }
    /// The place in the credits, from 1.
    async fn billing_order(&self) -> Option<i32> {
        self.0.billing_order
    }
}

/// How the read planner reads a `Credit`: every field above, by GraphQL name.
pub(crate) static CREDIT_READS: plan::Reads = {
    use plan::{Conv, Read::*};
    plan::Reads {
        node: NodeType::Credit,
        fields: &[
            ("id", Id),
            ("film", Related(&FILM_READS, "film_id")),
            ("person", Related(&super::people::PERSON_READS, "person_id")),
            ("role", Column("role", Conv::Enum)),
            ("character", Column("character", Conv::Text)),
            ("billingOrder", Column("billing_order", Conv::Int)),
        ],
    }
};

order_input!(
    /// The keys a film list can be sorted by.
    FilmOrderField => films::FilmOrderField {
        Title,
        ReleaseDate,
        CreatedAt,
        /// The film's quotes you may see.
        QuoteCount,
    },
    /// How to sort films; ties are broken by id.
    FilmOrder
);

/// Narrows a film list; all given conditions must hold.
#[derive(InputObject, Default)]
pub(crate) struct FilmFilter {
    /// Titles containing this text, ignoring case.
    title_contains: Option<String>,
    status: Option<FilmStatus>,
    /// Released strictly after this date.
    released_after: Option<Date>,
    /// Released strictly before this date.
    released_before: Option<Date>,
}

impl FilmFilter {
    fn into_domain(self) -> DomainResult<films::FilmFilter> {
        Ok(films::FilmFilter {
            title_contains: validate::filter_text(
                "filter.titleContains",
                self.title_contains,
                validate::FILM_TITLE_MAX,
            )?,
            status: self.status.map(Into::into),
            released_after: self.released_after.map(|date| date.0),
            released_before: self.released_before.map(|date| date.0),
        })
    }
}

/// `film` and `films`.
#[derive(Default)]
pub(crate) struct FilmQuery;

#[Object]
impl FilmQuery {
    /// A film by global ID or by slug (give exactly one).
    async fn film(&self, ctx: &Context<'_>, id: Option<ID>, slug: Option<String>) -> GqlResult<Planned<Option<Film>>> {
        let key = Key::given(id, slug, NodeType::Film)?;
        plan::lookup_or_resolve(ctx, "film", &FILM_READS, key, |all| &all.films, film::Column::Slug, Film).await
    }

    /// Films, by title unless `orderBy` or `sort` says otherwise. `sort` gives several keys, first wins,
    /// after `orderBy`'s if both are given (each field at most once); ties are broken by id.
    #[graphql(complexity = "super::connection::cost(first, last, child_complexity)")]
    async fn films(
        &self,
        ctx: &Context<'_>,
        filter: Option<FilmFilter>,
        order_by: Option<FilmOrder>,
        sort: Option<Vec<FilmOrder>>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> GqlResult<Planned<Connection<Film>>> {
        let page = connection::page_request(first, after, last, before)?;
        let condition = filter.unwrap_or_default().into_domain()?.condition(db(ctx)?.get_database_backend());
        let viewer = loaders(ctx)?.viewer;
        let order =
            list_order(order_by, sort, (films::FilmOrderField::Title, domain::paging::Direction::Asc), |f, d| {
                films::sort(f, d, &viewer)
            })?;
        plan::list_or_resolve::<film::Entity, _>(ctx, "films", &FILM_READS, condition, order, page, Film).await
    }
}

/// A new film; a missing slug is made from the title.
#[derive(InputObject)]
pub(crate) struct CreateFilmInput {
    slug: Option<String>,
    title: String,
    tagline: Option<String>,
    synopsis: Option<String>,
    release_date: Option<Date>,
    runtime_minutes: Option<i32>,
    status: FilmStatus,
    budget_usd: Option<Money>,
    box_office_usd: Option<Money>,
    distributor: Option<String>,
    /// The film this one follows (global ID).
    sequel_of_id: Option<ID>,
    /// The poster image: https, at most 2,048 characters.
    poster_url: Option<String>,
    /// People to credit, in the same transaction: any bad element refuses the whole mutation,
    /// naming it (`input.credits[3].role`). Not allowed in a film created inside a credit.
    credits: Option<Vec<CreditInput>>,
}

/// Changes to a film: only the fields given change; null clears an optional field.
#[derive(InputObject)]
pub(crate) struct UpdateFilmInput {
    slug: MaybeUndefined<String>,
    title: MaybeUndefined<String>,
    tagline: MaybeUndefined<String>,
    synopsis: MaybeUndefined<String>,
    release_date: MaybeUndefined<Date>,
    runtime_minutes: MaybeUndefined<i32>,
    status: MaybeUndefined<FilmStatus>,
    budget_usd: MaybeUndefined<Money>,
    box_office_usd: MaybeUndefined<Money>,
    distributor: MaybeUndefined<String>,
    sequel_of_id: MaybeUndefined<ID>,
    poster_url: MaybeUndefined<String>,
    /// Credits to add or change, in the same transaction: a credit is keyed by person and role,
    /// so one the film has already takes the element's character and billing order (both
    /// replaced, absent clears them); credits not listed stay (`removeCredit` removes one). Any bad
    /// element refuses the whole mutation, naming it (`input.credits[3].role`).
    credits: Option<Vec<CreditInput>>,
}

/// The person of a credit given with a film: exactly one of a stored person's global ID or slug,
/// or a person to create.
#[derive(OneofObject)]
pub(crate) enum PersonRef {
    Id(ID),
    Slug(String),
    Create(CreatePersonInput),
}

/// A credit given with a film.
#[derive(InputObject)]
pub(crate) struct CreditInput {
    person: PersonRef,
    role: CreditRole,
    /// The character played, for cast credits.
    character: Option<String>,
    /// The place in the credits, from 1.
    billing_order: Option<i32>,
}

/// The credits given with a film, ready for the domain; errors are named from `input.credits`.
fn film_credits(credits: Option<Vec<CreditInput>>) -> DomainResult<Vec<films::CreditLink<people::PersonChanges>>> {
    let given = credits.unwrap_or_default().into_iter().map(|credit| GivenCredit {
        to: match credit.person {
            PersonRef::Id(id) => CreditEnd::Id(id),
            PersonRef::Slug(slug) => CreditEnd::Slug(slug),
            PersonRef::Create(input) => CreditEnd::Create(input),
        },
        role: credit.role,
        character: credit.character,
        billing_order: credit.billing_order,
    });
    credit_links(given.collect(), "person", NodeType::Person, CreatePersonInput::into_changes)
}

input_changes!(CreateFilmInput, UpdateFilmInput => films::FilmChanges {
    slug: defaulted,
    title: required,
    tagline: optional,
    synopsis: optional,
    release_date: optional,
    runtime_minutes: optional,
    status: required,
    budget_usd: optional,
    box_office_usd: optional,
    distributor: optional,
    sequel_of_id: id(NodeType::Film),
    credits: with(film_credits),
    poster_url: optional,
});

/// A new credit.
#[derive(InputObject)]
pub(crate) struct AddCreditInput {
    film_id: ID,
    person_id: ID,
    role: CreditRole,
    /// The character played, for cast credits.
    character: Option<String>,
    /// The place in the credits, from 1.
    billing_order: Option<i32>,
}

/// Changes to a credit: only the fields given change; null clears an optional field.
#[derive(InputObject)]
pub(crate) struct UpdateCreditInput {
    /// A role the person has on the film already is a `CONFLICT`.
    role: MaybeUndefined<CreditRole>,
    character: MaybeUndefined<String>,
    billing_order: MaybeUndefined<i32>,
}

/// What `upsertFilm` wrote.
#[derive(SimpleObject)]
pub(crate) struct UpsertFilmPayload {
    film: Film,
    /// True when the film was created, false when the one with the slug was updated.
    created: bool,
}

/// Film and credit mutations (admins).
#[derive(Default)]
pub(crate) struct FilmMutation;

#[Object]
impl FilmMutation {
    /// Creates a film.
    #[graphql(guard = "RoleGuard::admin()")]
    async fn create_film(&self, ctx: &Context<'_>, input: CreateFilmInput) -> GqlResult<Film> {
        let changes = input.into_changes()?;
        let film = change::create(ctx, "createFilm", async |txn, actor| films::create(txn, changes, Some(actor)).await)
            .await?;
        Ok(Film(film.into()))
    }

    /// Changes the given fields of a film.
    #[graphql(guard = "RoleGuard::admin()")]
    async fn update_film(&self, ctx: &Context<'_>, id: ID, input: UpdateFilmInput) -> GqlResult<Film> {
        let id = decode_as(&id, NodeType::Film, "id")?;
        let changes = input.into_changes()?;
        let film = change::update::<film::Entity>(ctx, "updateFilm", id, async |txn, actor| {
            films::update(txn, id, changes, Some(actor)).await
        })
        .await?;
        Ok(Film(film.into()))
    }

    /// Creates the film with the input's slug (made from the title when not given) or, when there
    /// is one, makes it what the input says, in one statement: validated like `createFilm`, an
    /// optional field left out is cleared, and credits are added or changed as in `updateFilm`.
    #[graphql(guard = "RoleGuard::admin()")]
    async fn upsert_film(&self, ctx: &Context<'_>, input: CreateFilmInput) -> GqlResult<UpsertFilmPayload> {
        let changes = input.into_changes()?;
        let upserted =
            change::upsert(ctx, "upsertFilm", async |txn, actor| films::upsert(txn, changes, Some(actor)).await)
                .await?;
        Ok(UpsertFilmPayload { film: Film(upserted.row.into()), created: upserted.created })
    }

    /// Deletes a film with its credits; quotes, events, petitions and sequels about it stay,
    /// unlinked. Returns the deleted ID.
    #[graphql(guard = "RoleGuard::admin()")]
    async fn delete_film(&self, ctx: &Context<'_>, id: ID) -> GqlResult<ID> {
        let key = decode_as(&id, NodeType::Film, "id")?;
        change::delete::<film::Entity>(ctx, "deleteFilm", key, async |txn| films::delete(txn, key).await).await?;
        Ok(id)
    }

    /// Credits a person on a film (one credit per film, person and role).
    #[graphql(guard = "RoleGuard::admin()")]
    async fn add_credit(&self, ctx: &Context<'_>, input: AddCreditInput) -> GqlResult<Credit> {
        let credit = films::NewCredit {
            film_id: decode_as(&input.film_id, NodeType::Film, "input.filmId")?,
            person_id: decode_as(&input.person_id, NodeType::Person, "input.personId")?,
            role: input.role.into(),
            character: input.character,
            billing_order: input.billing_order,
        };
        let credit = change::create(ctx, "addCredit", async |txn, _| films::add_credit(txn, credit).await).await?;
        Ok(Credit(credit.into()))
    }

    /// Changes the given fields of a credit.
    #[graphql(guard = "RoleGuard::admin()")]
    async fn update_credit(&self, ctx: &Context<'_>, id: ID, input: UpdateCreditInput) -> GqlResult<Credit> {
        let id = decode_as(&id, NodeType::Credit, "id")?;
        let changes = films::CreditChanges {
            role: required(input.role, "input.role", Into::into)?,
            character: patch(input.character, |v| v),
            billing_order: patch(input.billing_order, |v| v),
        };
        let credit = change::update::<credit::Entity>(ctx, "updateCredit", id, async |txn, _| {
            films::update_credit(txn, id, changes).await
        })
        .await?;
        Ok(Credit(credit.into()))
    }

    /// Removes a credit. Returns the removed ID.
    #[graphql(guard = "RoleGuard::admin()")]
    async fn remove_credit(&self, ctx: &Context<'_>, id: ID) -> GqlResult<ID> {
        let key = decode_as(&id, NodeType::Credit, "id")?;
        change::delete::<credit::Entity>(ctx, "removeCredit", key, async |txn| films::remove_credit(txn, key).await)
            .await?;
        Ok(id)
    }
}
