//! People: the `Person` type, `person`/`people`, and their inputs.

use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, OneofObject, SimpleObject};
use entity::person;

use super::change;
use super::connection::{self, Connection, NodeName};
use super::errors::GqlResult;
use super::films::{CreateFilmInput, Credit};
use super::guards::RoleGuard;
use super::ids::{NodeType, decode_as, decode_optional, global_id};
use super::inputs::{CreditEnd, GivenCredit, credit_links, input_changes};
use super::plan::{self, Key, Planned};
use super::quotes::Quote;
use super::scalars::{CreditRole, Date, list_order, order_input};
use super::sources::{SourceArticle, source_articles};
use super::{db, loaders};
use crate::domain::{self, DomainResult, films, people, validate};
use crate::loaders::{CreditParent, CreditScope, QuoteParent, QuoteScope};

/// Someone who made a film or spoke about it.
#[derive(Clone)]
pub(crate) struct Person(pub std::sync::Arc<person::Model>);

impl NodeName for Person {
    const NAME: &'static str = "Person";
}

#[Object]
impl Person {
    /// The global ID.
    pub(crate) async fn id(&self) -> ID {
        global_id(NodeType::Person, self.0.id)
    }
    /// The URL name, unique among people.
    async fn slug(&self) -> &str {
        &self.0.slug
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn bio(&self) -> Option<&str> {
        self.0.bio.as_deref()
    }
    /// The photo: an https URL, if any.
    async fn photo_url(&self) -> Option<&str> {
        self.0.photo_url.as_deref()
    }
    /// The articles this record draws on (publication and headline), where it says so.
    async fn source_articles(&self) -> Vec<SourceArticle> {
        source_articles(self.0.source_articles.as_deref())
    }
    async fn birth_date(&self) -> Option<Date> {
        self.0.birth_date.map(Date)
    }
    /// What the person did, on every film.
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
        let scope = CreditScope { parent: CreditParent::Person, role: role.map(Into::into) };
        connection::children(ctx, scope, self.0.id, page, Credit).await
    }
    /// What the person said, in the order the quotes were added.
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
        let scope = QuoteScope { parent: QuoteParent::Person, viewer: loaders(ctx)?.viewer };
        connection::children(ctx, scope, self.0.id, page, Quote).await
    }
}

/// How the read planner reads a `Person`: every field above, by GraphQL name (`plan`'s test holds
/// this to the schema, so a field added above fails it until it is declared here).
pub(crate) static PERSON_READS: plan::Reads = {
    use plan::{Conv, Read::*};
    plan::Reads {
        node: NodeType::Person,
        fields: &[
            ("id", Id),
            ("slug", Column("slug", Conv::Text)),
            ("name", Column("name", Conv::Text)),
            ("bio", Column("bio", Conv::Text)),
            ("photoUrl", Column("photo_url", Conv::Text)),
            ("sourceArticles", Sources("source_articles")),
            ("birthDate", Column("birth_date", Conv::Date)),
            ("credits", Children(&super::films::CREDIT_READS, plan::Children::Credits(CreditParent::Person))),
            ("quotes", Children(&super::quotes::QUOTE_READS, plan::Children::Quotes(QuoteParent::Person))),
        ],
    }
};

order_input!(
    /// The keys a people list can be sorted by.
    PersonOrderField => people::PersonOrderField {
        Name,
        BirthDate,
        CreatedAt,
        /// The person's credits.
        CreditCount,
        /// The person's quotes you may see.
        QuoteCount,
    },
    /// How to sort people; ties are broken by id.
    PersonOrder
);

/// Narrows a people list; all given conditions must hold.
#[derive(InputObject, Default)]
pub(crate) struct PersonFilter {
    /// Names containing this text, ignoring case.
    name_contains: Option<String>,
    /// Only people credited on this film (its global ID).
    film_id: Option<ID>,
}

impl PersonFilter {
    fn into_domain(self) -> DomainResult<people::PersonFilter> {
        Ok(people::PersonFilter {
            name_contains: validate::filter_text("filter.nameContains", self.name_contains, validate::PERSON_NAME_MAX)?,
            film_id: decode_optional(self.film_id.as_ref(), NodeType::Film, "filter.filmId")?,
        })
    }
}

/// `person` and `people`.
#[derive(Default)]
pub(crate) struct PersonQuery;

#[Object]
impl PersonQuery {
    /// A person by global ID or by slug (give exactly one).
    async fn person(
        &self,
        ctx: &Context<'_>,
        id: Option<ID>,
        slug: Option<String>,
    ) -> GqlResult<Planned<Option<Person>>> {
        let key = Key::given(id, slug, NodeType::Person)?;
        plan::lookup_or_resolve(ctx, "person", &PERSON_READS, key, |all| &all.people, person::Column::Slug, Person)
            .await
    }

    /// People, by name unless `orderBy` or `sort` says otherwise. `sort` gives several keys, first wins,
    /// after `orderBy`'s if both are given (each field at most once); ties are broken by id.
    #[graphql(complexity = "super::connection::cost(first, last, child_complexity)")]
    async fn people(
        &self,
        ctx: &Context<'_>,
        filter: Option<PersonFilter>,
        order_by: Option<PersonOrder>,
        sort: Option<Vec<PersonOrder>>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> GqlResult<Planned<Connection<Person>>> {
        let page = connection::page_request(first, after, last, before)?;
        let condition = filter.unwrap_or_default().into_domain()?.condition(db(ctx)?.get_database_backend());
        let viewer = loaders(ctx)?.viewer;
        let order =
            list_order(order_by, sort, (people::PersonOrderField::Name, domain::paging::Direction::Asc), |f, d| {
                people::sort(f, d, &viewer)
            })?;
        plan::list_or_resolve::<person::Entity, _>(ctx, "people", &PERSON_READS, condition, order, page, Person).await
    }
}

/// A new person; a missing slug is made from the name.
#[derive(InputObject)]
pub(crate) struct CreatePersonInput {
    slug: Option<String>,
    name: String,
    bio: Option<String>,
    birth_date: Option<Date>,
    /// A photo: https, at most 2,048 characters.
    photo_url: Option<String>,
    /// Films to credit the person on, in the same transaction: any bad element refuses the whole
    /// mutation, naming it (`input.credits[3].role`). Not allowed in a person created inside a
    /// credit.
    credits: Option<Vec<PersonCreditInput>>,
}

/// The film of a credit given with a person: exactly one of a stored film's global ID or slug, or
/// a film to create.
#[derive(OneofObject)]
pub(crate) enum FilmRef {
    Id(ID),
    Slug(String),
    Create(Box<CreateFilmInput>),
}

/// A credit given with a person.
#[derive(InputObject)]
pub(crate) struct PersonCreditInput {
    film: FilmRef,
    role: CreditRole,
    /// The character played, for cast credits.
    character: Option<String>,
    /// The place in the credits, from 1.
    billing_order: Option<i32>,
}

/// The credits given with a person, ready for the domain; errors are named from `input.credits`.
fn person_credits(credits: Option<Vec<PersonCreditInput>>) -> DomainResult<Vec<films::CreditLink<films::FilmChanges>>> {
    let given = credits.unwrap_or_default().into_iter().map(|credit| GivenCredit {
        to: match credit.film {
            FilmRef::Id(id) => CreditEnd::Id(id),
            FilmRef::Slug(slug) => CreditEnd::Slug(slug),
            FilmRef::Create(input) => CreditEnd::Create(*input),
        },
        role: credit.role,
        character: credit.character,
        billing_order: credit.billing_order,
    });
    credit_links(given.collect(), "film", NodeType::Film, CreateFilmInput::into_changes)
}

/// What `upsertPerson` wrote.
#[derive(SimpleObject)]
pub(crate) struct UpsertPersonPayload {
    person: Person,
    /// True when the person was created, false when the one with the slug was updated.
    created: bool,
}

/// Changes to a person: only the fields given change; null clears an optional field.
#[derive(InputObject)]
pub(crate) struct UpdatePersonInput {
    slug: MaybeUndefined<String>,
    name: MaybeUndefined<String>,
    bio: MaybeUndefined<String>,
    birth_date: MaybeUndefined<Date>,
    photo_url: MaybeUndefined<String>,
    /// Credits to add or change, in the same transaction: a credit is keyed by film and role, so
    /// one the person has already takes the element's character and billing order (both replaced,
    /// absent clears them); credits not listed stay (`removeCredit` removes one). Any bad element
    /// refuses the whole mutation, naming it (`input.credits[3].role`).
    credits: Option<Vec<PersonCreditInput>>,
}

input_changes!(CreatePersonInput, UpdatePersonInput => people::PersonChanges {
    slug: defaulted,
    name: required,
    bio: optional,
    birth_date: optional,
    photo_url: optional,
    credits: with(person_credits),
});

/// Person mutations (admins).
#[derive(Default)]
pub(crate) struct PersonMutation;

#[Object]
impl PersonMutation {
    /// Creates a person.
    #[graphql(guard = "RoleGuard::admin()")]
    async fn create_person(&self, ctx: &Context<'_>, input: CreatePersonInput) -> GqlResult<Person> {
        let changes = input.into_changes()?;
        let person =
            change::create(ctx, "createPerson", async |txn, actor| people::create(txn, changes, Some(actor)).await)
                .await?;
        Ok(Person(person.into()))
    }

    /// Changes the given fields of a person.
    #[graphql(guard = "RoleGuard::admin()")]
    async fn update_person(&self, ctx: &Context<'_>, id: ID, input: UpdatePersonInput) -> GqlResult<Person> {
        let id = decode_as(&id, NodeType::Person, "id")?;
        let changes = input.into_changes()?;
        let person = change::update::<person::Entity>(ctx, "updatePerson", id, async |txn, actor| {
            people::update(txn, id, changes, Some(actor)).await
        })
        .await?;
        Ok(Person(person.into()))
    }

    /// Creates the person with the input's slug (made from the name when not given) or, when there
    /// is one, makes them what the input says, in one statement: validated like `createPerson`, an
    /// optional field left out is cleared, and credits are added or changed as in `updatePerson`.
    #[graphql(guard = "RoleGuard::admin()")]
    async fn upsert_person(&self, ctx: &Context<'_>, input: CreatePersonInput) -> GqlResult<UpsertPersonPayload> {
        let changes = input.into_changes()?;
        let upserted =
            change::upsert(ctx, "upsertPerson", async |txn, actor| people::upsert(txn, changes, Some(actor)).await)
                .await?;
        Ok(UpsertPersonPayload { person: Person(upserted.row.into()), created: upserted.created })
    }

    /// Deletes a person with their credits and quotes. Returns the deleted ID.
    #[graphql(guard = "RoleGuard::admin()")]
    async fn delete_person(&self, ctx: &Context<'_>, id: ID) -> GqlResult<ID> {
        let key = decode_as(&id, NodeType::Person, "id")?;
        change::delete::<person::Entity>(ctx, "deletePerson", key, async |txn| people::delete(txn, key).await).await?;
        Ok(id)
    }
}
