//! Quotes: the `Quote` type, `quote`/`quotes`, and their inputs. Visibility is the domain's
//! (`quotes::visible_to`), applied on every path.

use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object};
use entity::quote;

use super::connection::{self, Connection, NodeName};
use super::errors::GqlResult;
use super::films::Film;
use super::guards::RoleGuard;
use super::ids::{NodeType, decode_as, decode_optional, global_id};
use super::inputs::input_changes;
use super::people::Person;
use super::plan::{self, Key, Planned};
use super::scalars::{Date, DateTime, QuoteStatus, list_order, order_input};
use super::sources::{SourceArticle, source_articles};
use super::{actor, change};
use super::{db, loaders, viewer_id};
use crate::domain::{self, DomainResult, quotes, validate};

/// Something a person said, with where it was said.
#[derive(Clone)]
pub(crate) struct Quote(pub std::sync::Arc<quote::Model>);

impl NodeName for Quote {
    const NAME: &'static str = "Quote";
}

#[Object]
impl Quote {
    /// The global ID.
    pub(crate) async fn id(&self) -> ID {
        global_id(NodeType::Quote, self.0.id)
    }
    /// The words, as said.
    async fn text(&self) -> &str {
        &self.0.text
    }
    /// Who said it.
    async fn person(&self, ctx: &Context<'_>) -> GqlResult<Person> {
        Ok(Person(super::parent(&loaders(ctx)?.people, self.0.person_id, "person").await?))
    }
    /// The film it is about, if any.
    async fn film(&self, ctx: &Context<'_>) -> GqlResult<Option<Film>> {
        let Some(id) = self.0.film_id else { return Ok(None) };
        Ok(loaders(ctx)?.films.load_one(id).await?.map(Film))
    }
    /// Where it was said or published (an outlet, a show, a post).
    async fn source(&self) -> &str {
        &self.0.source
    }
    async fn source_url(&self) -> Option<&str> {
        self.0.source_url.as_deref()
    }
    /// The day it was said, when known.
    async fn said_on(&self) -> Option<Date> {
        self.0.said_on.map(Date)
    }
    /// What it was said about.
    async fn context(&self) -> Option<&str> {
        self.0.context.as_deref()
    }
    async fn status(&self) -> QuoteStatus {
        self.0.status.into()
    }
    /// The articles this record draws on (publication and headline), where it says so.
    async fn source_articles(&self) -> Vec<SourceArticle> {
        source_articles(self.0.source_articles.as_deref())
    }
    async fn created_at(&self) -> DateTime {
        DateTime(self.0.created_at)
    }
}

/// How the read planner reads a `Quote`: every field above, by GraphQL name (`plan`'s test holds
/// this to the schema, so a field added above fails it until it is declared here).
pub(crate) static QUOTE_READS: plan::Reads = {
    use plan::{Conv, Read::*};
    plan::Reads {
        node: NodeType::Quote,
        fields: &[
            ("id", Id),
            ("text", Column("text", Conv::Text)),
            ("person", Related(&super::people::PERSON_READS, "person_id")),
            ("film", Related(&super::films::FILM_READS, "film_id")),
            ("source", Column("source", Conv::Text)),
            ("sourceUrl", Column("source_url", Conv::Text)),
            ("saidOn", Column("said_on", Conv::Date)),
            ("context", Column("context", Conv::Text)),
            ("status", Column("status", Conv::Enum)),
            ("sourceArticles", Sources("source_articles")),
            ("createdAt", Column("created_at", Conv::DateTime)),
        ],
    }
};

order_input!(
    /// The keys a quote list can be sorted by.
    QuoteOrderField => quotes::QuoteOrderField { CreatedAt, SaidOn },
    /// How to sort quotes; ties are broken by id.
    QuoteOrder
);

/// Narrows a quote list; all given conditions must hold.
#[derive(InputObject, Default)]
pub(crate) struct QuoteFilter {
    /// Only quotes of this person (global ID).
    person_id: Option<ID>,
    /// Only quotes about this film (global ID).
    film_id: Option<ID>,
    /// Quotes containing this text, ignoring case.
    text_contains: Option<String>,
    /// Only quotes in this state (the public sees only published ones).
    status: Option<QuoteStatus>,
}

impl QuoteFilter {
    fn into_domain(self) -> DomainResult<quotes::QuoteFilter> {
        Ok(quotes::QuoteFilter {
            person_id: decode_optional(self.person_id.as_ref(), NodeType::Person, "filter.personId")?,
            film_id: decode_optional(self.film_id.as_ref(), NodeType::Film, "filter.filmId")?,
            text_contains: validate::filter_text("filter.textContains", self.text_contains, validate::QUOTE_TEXT_MAX)?,
            status: self.status.map(Into::into),
        })
    }
}

/// `quote` and `quotes`.
#[derive(Default)]
pub(crate) struct QuoteQuery;

#[Object]
impl QuoteQuery {
    /// A quote by global ID; null when it does not exist or is not visible to you.
    async fn quote(&self, ctx: &Context<'_>, id: ID) -> GqlResult<Planned<Option<Quote>>> {
        let id = decode_as(&id, NodeType::Quote, "id")?;
        if let Some(value) = plan::lookup(ctx, "quote", &QUOTE_READS, &Key::Id(id)).await? {
            return Ok(Planned::done(value));
        }
        Ok(Planned::Resolve(loaders(ctx)?.quotes.load_one(id).await?.map(Quote)))
    }

    /// Quotes you may see, newest first unless `orderBy` or `sort` says otherwise. `sort` gives several keys, first wins,
    /// after `orderBy`'s if both are given (each field at most once); ties are broken by id.
    #[graphql(complexity = "super::connection::cost(first, last, child_complexity)")]
    async fn quotes(
        &self,
        ctx: &Context<'_>,
        filter: Option<QuoteFilter>,
        order_by: Option<QuoteOrder>,
        sort: Option<Vec<QuoteOrder>>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> GqlResult<Planned<Connection<Quote>>> {
        let page = connection::page_request(first, after, last, before)?;
        let viewer = loaders(ctx)?.viewer;
        let condition = filter.unwrap_or_default().into_domain()?.condition(&viewer, db(ctx)?.get_database_backend());
        let order = list_order(
            order_by,
            sort,
            (quotes::QuoteOrderField::CreatedAt, domain::paging::Direction::Desc),
            quotes::sort,
        )?;
        plan::list_or_resolve::<quote::Entity, _>(ctx, "quotes", &QUOTE_READS, condition, order, page, Quote).await
    }
}

/// A new quote (published unless a status is given).
#[derive(InputObject)]
pub(crate) struct CreateQuoteInput {
    #[graphql(flatten)]
    quote: SubmitQuoteInput,
    status: Option<QuoteStatus>,
}

/// Changes to a quote: only the fields given change; null clears an optional field.
#[derive(InputObject)]
pub(crate) struct UpdateQuoteInput {
    text: MaybeUndefined<String>,
    person_id: MaybeUndefined<ID>,
    film_id: MaybeUndefined<ID>,
    source: MaybeUndefined<String>,
    source_url: MaybeUndefined<String>,
    said_on: MaybeUndefined<Date>,
    context: MaybeUndefined<String>,
    status: MaybeUndefined<QuoteStatus>,
}

/// Quote mutations (admins).
#[derive(Default)]
pub(crate) struct QuoteMutation;

#[Object]
impl QuoteMutation {
    /// Creates a quote.
    #[graphql(guard = "RoleGuard::admin()")]
    async fn create_quote(&self, ctx: &Context<'_>, input: CreateQuoteInput) -> GqlResult<Quote> {
        let mut changes = input.quote.into_changes()?;
        changes.status = input.status.map(Into::into);
        let quote =
            change::create(ctx, "createQuote", async |txn, actor| quotes::create(txn, changes, actor.user_id).await)
                .await?;
        Ok(Quote(quote.into()))
    }

    /// Changes the given fields of a quote.
    #[graphql(guard = "RoleGuard::admin()")]
    async fn update_quote(&self, ctx: &Context<'_>, id: ID, input: UpdateQuoteInput) -> GqlResult<Quote> {
        let id = decode_as(&id, NodeType::Quote, "id")?;
        let changes = input.into_changes()?;
        let quote = change::update::<quote::Entity>(ctx, "updateQuote", id, async |txn, _| {
            quotes::update(txn, id, changes).await
        })
        .await?;
        Ok(Quote(quote.into()))
    }

    /// Deletes a quote. Returns the deleted ID.
    #[graphql(guard = "RoleGuard::admin()")]
    async fn delete_quote(&self, ctx: &Context<'_>, id: ID) -> GqlResult<ID> {
        let key = decode_as(&id, NodeType::Quote, "id")?;
        change::delete::<quote::Entity>(ctx, "deleteQuote", key, async |txn| quotes::delete(txn, key).await).await?;
        Ok(id)
    }
}

/// A quote a fan found.
#[derive(InputObject)]
pub(crate) struct SubmitQuoteInput {
    text: String,
    /// Who said it (global ID).
    person_id: ID,
    /// The film it is about (global ID).
    film_id: Option<ID>,
    /// Where it was said or published.
    source: String,
    source_url: Option<String>,
    said_on: Option<Date>,
    context: Option<String>,
}

input_changes!(SubmitQuoteInput, UpdateQuoteInput => quotes::QuoteChanges {
    text: required,
    person_id: required_id(NodeType::Person),
    film_id: id(NodeType::Film),
    source: required,
    source_url: optional,
    said_on: optional,
    context: optional,
} update only: { status: required });

/// Submitting (fans) and moderating (moderators) quotes.
#[derive(Default)]
pub(crate) struct FanQuoteMutation;

#[Object]
impl FanQuoteMutation {
    /// Submits a quote; it stays PENDING (visible to you and moderators) until published.
    #[graphql(guard = "RoleGuard::fan()")]
    async fn submit_quote(&self, ctx: &Context<'_>, input: SubmitQuoteInput) -> GqlResult<Quote> {
        let changes = input.into_changes()?;
        Ok(Quote(quotes::submit(db(ctx)?, viewer_id(ctx)?, changes).await?.into()))
    }

    /// Publishes or rejects a quote (moderators and admins).
    #[graphql(guard = "RoleGuard::moderator()")]
    async fn moderate_quote(&self, ctx: &Context<'_>, id: ID, status: QuoteStatus) -> GqlResult<Quote> {
        let id = decode_as(&id, NodeType::Quote, "id")?;
        Ok(Quote(quotes::moderate(db(ctx)?, &actor(ctx)?, id, status.into()).await?.into()))
    }
}
