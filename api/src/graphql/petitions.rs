//! Petitions and signatures: the `Petition` and `Signature` types, `petition`/`petitions`, and their
//! inputs. Counts are public; a signer's details only if that signer chose so.

use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, SimpleObject};
use entity::{petition, signature};

use super::change;
use super::connection::{self, Connection, NodeName};
use super::errors::GqlResult;
use super::films::Film;
use super::guards::RoleGuard;
use super::ids::{NodeType, decode_as, decode_optional, global_id};
use super::inputs::input_changes;
use super::petition_updates::PetitionUpdate;
use super::plan::{self, Key, Planned};
use super::scalars::{DateTime, PetitionStatus, list_order, order_input};
use super::sources::{SourceArticle, source_articles};
use super::stats::{TimeBucket, TimeCount};
use super::where_types::{PetitionUpdateWhere, PetitionWhere, SignatureWhere};
use super::{db, loaders, notifier, viewer_id};
use crate::domain::{self, DomainResult, account_mail, petitions};
use crate::loaders::{PetitionUpdateScope, SignatureScope};

/// A campaign's ask of a target, with a signature goal.
#[derive(Clone)]
pub(crate) struct Petition(pub std::sync::Arc<petition::Model>);

impl NodeName for Petition {
    const NAME: &'static str = "Petition";
}

/// How many signers gave one country.
#[derive(SimpleObject)]
pub(crate) struct CountryCount {
    /// ISO 3166-1 alpha-2 country code.
    country: String,
    count: u64,
}

impl Petition {
    /// The count with its slots (see `domain::counters`), through the request's loader.
    async fn count(&self, ctx: &Context<'_>) -> GqlResult<u64> {
        let count = loaders(ctx)?.signature_totals.load_one(self.0.id).await?.unwrap_or(self.0.signature_count);
        Ok(u64::try_from(count).unwrap_or(0))
    }
}

#[Object]
impl Petition {
    /// The global ID.
    pub(crate) async fn id(&self) -> ID {
        global_id(NodeType::Petition, self.0.id)
    }
    /// The URL name, unique among petitions.
    async fn slug(&self) -> &str {
        &self.0.slug
    }
    async fn title(&self) -> &str {
        &self.0.title
    }
    /// The text of the petition.
    async fn body(&self) -> &str {
        &self.0.body
    }
    /// Whom the petition asks (a studio, say).
    async fn target(&self) -> &str {
        &self.0.target
    }
    /// The number of signatures aimed for.
    async fn goal(&self) -> u64 {
        u64::try_from(self.0.goal).unwrap_or(0)
    }
    /// An `OPEN` petition reads `CLOSED` from its `closesAt` on, with no job to run first.
    async fn status(&self) -> PetitionStatus {
        petitions::effective_status(self.0.status, self.0.closes_at, domain::now()).into()
    }
    /// The film the petition is about, if any.
    async fn film(&self, ctx: &Context<'_>) -> GqlResult<Option<Film>> {
        let Some(id) = self.0.film_id else { return Ok(None) };
        Ok(loaders(ctx)?.films.load_one(id).await?.map(Film))
    }
    /// When signing ends, if ever.
    async fn closes_at(&self) -> Option<DateTime> {
        self.0.closes_at.map(DateTime)
    }
    /// The petition's image: an https URL, if any.
    async fn image_url(&self) -> Option<&str> {
        self.0.image_url.as_deref()
    }
    /// The articles this record draws on (publication and headline), where it says so.
    async fn source_articles(&self) -> Vec<SourceArticle> {
        source_articles(self.0.source_articles.as_deref())
    }
    async fn created_at(&self) -> DateTime {
        DateTime(self.0.created_at)
    }
    /// Everyone who signed, public or not.
    async fn signature_count(&self, ctx: &Context<'_>) -> GqlResult<u64> {
        self.count(ctx).await
    }
    /// `signatureCount / goal`: 1.0 when the goal is reached, more when exceeded.
    async fn progress(&self, ctx: &Context<'_>) -> GqlResult<f64> {
        Ok(petitions::progress(self.count(ctx).await?, self.0.goal))
    }
    /// Whether you have signed, when signed in.
    async fn viewer_has_signed(&self, ctx: &Context<'_>) -> GqlResult<bool> {
        Ok(loaders(ctx)?.viewer_signatures.load_one(self.0.id).await?.unwrap_or(false))
    }
    /// The signatures of signers who chose to be shown, newest first.
    #[graphql(complexity = "super::connection::cost(first, last, child_complexity)")]
    async fn signatures(
        &self,
        ctx: &Context<'_>,
        #[graphql(name = "where", desc = "Conditions on fields and relations.")] where_: Option<SignatureWhere>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> GqlResult<Connection<Signature>> {
        let page = connection::page_request(first, after, last, before)?;
        super::where_inputs::children(
            ctx,
            SignatureScope { public_only: true },
            self.0.id,
            where_.as_ref(),
            page,
            Signature,
        )
        .await
    }
    /// News posted by the petition's organisers, newest first. Updates scheduled for later are
    /// listed only for admins and moderators.
    #[graphql(complexity = "super::connection::cost(first, last, child_complexity)")]
    async fn updates(
        &self,
        ctx: &Context<'_>,
        #[graphql(name = "where", desc = "Conditions on fields and relations.")] where_: Option<PetitionUpdateWhere>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> GqlResult<Connection<PetitionUpdate>> {
        let page = connection::page_request(first, after, last, before)?;
        let scope = PetitionUpdateScope { staff: loaders(ctx)?.viewer.is_moderator() };
        super::where_inputs::children(ctx, scope, self.0.id, where_.as_ref(), page, PetitionUpdate).await
    }
    /// Signatures per time bucket, oldest first (the latest 1,000 buckets; every signer counts, no
    /// one is named).
    async fn signatures_over_time(&self, ctx: &Context<'_>, bucket: TimeBucket) -> GqlResult<Vec<TimeCount>> {
        let series = loaders(ctx)?.signature_series.load_one((self.0.id, bucket.into())).await?.unwrap_or_default();
        Ok(series
            .into_iter()
            .map(|(start, count)| TimeCount { start: DateTime(start), count: u64::try_from(count).unwrap_or(0) })
            .collect())
    }
    /// Signatures per country, most first (every signer counts; no one is named).
    async fn signatures_by_country(&self, ctx: &Context<'_>) -> GqlResult<Vec<CountryCount>> {
        let rows = loaders(ctx)?.country_counts.load_one(self.0.id).await?.unwrap_or_default();
        Ok(rows
            .into_iter()
            .map(|(country, count)| CountryCount { country, count: u64::try_from(count).unwrap_or(0) })
            .collect())
    }
}

/// How the read planner reads a `Petition`: every field above, by GraphQL name (`plan`'s test
/// holds this to the schema, so a field added above fails it until it is declared here).
pub(crate) static PETITION_READS: plan::Reads = {
    use plan::{Conv, Read::*};
    plan::Reads {
        node: NodeType::Petition,
        fields: &[
            ("id", Id),
            ("slug", Column("slug", Conv::Text)),
            ("title", Column("title", Conv::Text)),
            ("body", Column("body", Conv::Text)),
            ("target", Column("target", Conv::Text)),
            ("goal", Column("goal", Conv::Count)),
            ("status", Derived(plan::Derived::PetitionStatus { status: "status", closes_at: "closes_at" })),
            ("film", Related(&super::films::FILM_READS, "film_id")),
            ("closesAt", Column("closes_at", Conv::DateTime)),
            ("imageUrl", Column("image_url", Conv::Text)),
            ("sourceArticles", Sources("source_articles")),
            ("createdAt", Column("created_at", Conv::DateTime)),
            ("signatureCount", Column("signature_count", Conv::Count)),
            ("progress", Derived(plan::Derived::Progress { count: "signature_count", goal: "goal" })),
            ("viewerHasSigned", Resolver("whether the viewer signed")),
            ("signatures", Resolver("a signer's details show by the signer's choice and the viewer")),
            ("updates", Resolver("scheduled updates show to staff only")),
            ("signaturesOverTime", Resolver("a time series counted through its loader")),
            ("signaturesByCountry", Resolver("counts per country through their loader")),
        ],
    }
};

/// One fan's signature on a petition.
#[derive(Clone)]
pub(crate) struct Signature(pub std::sync::Arc<signature::Model>);

impl NodeName for Signature {
    const NAME: &'static str = "Signature";
}

impl Signature {
    fn details_visible(&self, ctx: &Context<'_>) -> GqlResult<bool> {
        Ok(petitions::signer_details_visible(&self.0, &loaders(ctx)?.viewer))
    }
}

#[Object]
impl Signature {
    /// The global ID.
    pub(crate) async fn id(&self) -> ID {
        global_id(NodeType::Signature, self.0.id)
    }
    /// The signer's name; null for signers who chose not to be shown (the signer still sees it).
    async fn display_name(&self, ctx: &Context<'_>) -> GqlResult<Option<String>> {
        if !self.details_visible(ctx)? {
            return Ok(None);
        }
        Ok(loaders(ctx)?.users.load_one(self.0.user_id).await?.map(|user| user.display_name.clone()))
    }
    /// ISO 3166-1 alpha-2 country code of the signer, if given and public (or yours).
    async fn country(&self, ctx: &Context<'_>) -> GqlResult<Option<&str>> {
        Ok(if self.details_visible(ctx)? { self.0.country.as_deref() } else { None })
    }
    /// The signer's comment, if given and public (or yours).
    async fn comment(&self, ctx: &Context<'_>) -> GqlResult<Option<&str>> {
        Ok(if self.details_visible(ctx)? { self.0.comment.as_deref() } else { None })
    }
    /// The petition signed.
    async fn petition(&self, ctx: &Context<'_>) -> GqlResult<Petition> {
        Ok(Petition(super::parent(&loaders(ctx)?.petitions, self.0.petition_id, "petition").await?))
    }
    async fn created_at(&self) -> DateTime {
        DateTime(self.0.created_at)
    }
}

order_input!(
    /// The keys a petition list can be sorted by.
    PetitionOrderField => petitions::PetitionOrderField {
        CreatedAt,
        Title,
        ClosesAt,
        Goal,
        /// Everyone who signed.
        SignatureCount,
    },
    /// How to sort petitions; ties are broken by id.
    PetitionOrder
);

/// Narrows a petition list; all given conditions must hold.
#[derive(InputObject, Default)]
pub(crate) struct PetitionFilter {
    status: Option<PetitionStatus>,
    /// Only petitions about this film (global ID).
    film_id: Option<ID>,
}

impl PetitionFilter {
    fn into_domain(self) -> DomainResult<petitions::PetitionFilter> {
        Ok(petitions::PetitionFilter {
            status: self.status.map(Into::into),
            film_id: decode_optional(self.film_id.as_ref(), NodeType::Film, "filter.filmId")?,
        })
    }
}

/// `petition` and `petitions`.
#[derive(Default)]
pub(crate) struct PetitionQuery;

#[Object]
impl PetitionQuery {
    /// A petition by global ID or by slug (give exactly one).
    async fn petition(
        &self,
        ctx: &Context<'_>,
        id: Option<ID>,
        slug: Option<String>,
    ) -> GqlResult<Planned<Option<Petition>>> {
        let key = Key::given(id, slug, NodeType::Petition)?;
        plan::lookup_or_resolve(
            ctx,
            "petition",
            &PETITION_READS,
            key,
            |all| &all.petitions,
            petition::Column::Slug,
            Petition,
        )
        .await
    }

    /// Petitions, newest first unless `orderBy` or `sort` says otherwise. `sort` gives several keys, first wins,
    /// after `orderBy`'s if both are given (each field at most once); ties are broken by id.
    #[graphql(complexity = "super::connection::cost(first, last, child_complexity)")]
    async fn petitions(
        &self,
        ctx: &Context<'_>,
        filter: Option<PetitionFilter>,
        #[graphql(name = "where", desc = "Boolean conditions on fields and relations; with `filter`, both must hold.")]
        where_: Option<PetitionWhere>,
        order_by: Option<PetitionOrder>,
        sort: Option<Vec<PetitionOrder>>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> GqlResult<Planned<Connection<Petition>>> {
        let page = connection::page_request(first, after, last, before)?;
        let condition = filter.unwrap_or_default().into_domain()?.condition(domain::now());
        let condition = super::where_inputs::and_where(ctx, condition, where_.as_ref())?;
        let order = list_order(
            order_by,
            sort,
            (petitions::PetitionOrderField::CreatedAt, domain::paging::Direction::Desc),
            petitions::sort,
        )?;
        plan::list_or_resolve::<petition::Entity, _>(
            ctx,
            "petitions",
            &PETITION_READS,
            condition,
            order,
            page,
            Petition,
        )
        .await
    }
}

/// A new petition (open unless a status is given); a missing slug is made from the title.
#[derive(InputObject)]
pub(crate) struct CreatePetitionInput {
    slug: Option<String>,
    title: String,
    body: String,
    /// Whom the petition asks.
    target: String,
    /// Signatures aimed for; 1 to 2147483647.
    goal: i32,
    status: Option<PetitionStatus>,
    /// The film it is about (global ID).
    film_id: Option<ID>,
    closes_at: Option<DateTime>,
    /// An image: https, at most 2,048 characters.
    image_url: Option<String>,
}

/// What `upsertPetition` wrote.
#[derive(SimpleObject)]
pub(crate) struct UpsertPetitionPayload {
    petition: Petition,
    /// True when the petition was created, false when the one with the slug was updated.
    created: bool,
}

/// Changes to a petition: only the fields given change; null clears an optional field.
#[derive(InputObject)]
pub(crate) struct UpdatePetitionInput {
    slug: MaybeUndefined<String>,
    title: MaybeUndefined<String>,
    body: MaybeUndefined<String>,
    target: MaybeUndefined<String>,
    goal: MaybeUndefined<i32>,
    status: MaybeUndefined<PetitionStatus>,
    film_id: MaybeUndefined<ID>,
    closes_at: MaybeUndefined<DateTime>,
    image_url: MaybeUndefined<String>,
}

input_changes!(CreatePetitionInput, UpdatePetitionInput => petitions::PetitionChanges {
    slug: defaulted,
    title: required,
    body: required,
    target: required,
    goal: required,
    status: defaulted,
    film_id: id(NodeType::Film),
    closes_at: optional,
    image_url: optional,
});

/// Petition mutations (admins).
#[derive(Default)]
pub(crate) struct PetitionMutation;

#[Object]
impl PetitionMutation {
    /// Creates a petition.
    #[graphql(guard = "RoleGuard::admin()")]
    async fn create_petition(&self, ctx: &Context<'_>, input: CreatePetitionInput) -> GqlResult<Petition> {
        let changes = input.into_changes()?;
        let petition =
            change::create(ctx, "createPetition", async |txn, _| petitions::create(txn, changes).await).await?;
        Ok(Petition(petition.into()))
    }

    /// Changes the given fields of a petition.
    #[graphql(guard = "RoleGuard::admin()")]
    async fn update_petition(&self, ctx: &Context<'_>, id: ID, input: UpdatePetitionInput) -> GqlResult<Petition> {
        let id = decode_as(&id, NodeType::Petition, "id")?;
        let changes = input.into_changes()?;
        let petition = change::update::<petition::Entity>(ctx, "updatePetition", id, async |txn, _| {
            petitions::update(txn, id, changes).await
        })
        .await?;
        Ok(Petition(petition.into()))
    }

    /// Creates the petition with the input's slug (made from the title when not given) or, when
    /// there is one, makes it what the input says, in one statement: validated like
    /// `createPetition`, an optional field left out is cleared; a stored petition keeps its
    /// signatures, and its status unless one is given.
    #[graphql(guard = "RoleGuard::admin()")]
    async fn upsert_petition(&self, ctx: &Context<'_>, input: CreatePetitionInput) -> GqlResult<UpsertPetitionPayload> {
        let changes = input.into_changes()?;
        let upserted =
            change::upsert(ctx, "upsertPetition", async |txn, _| petitions::upsert(txn, changes).await).await?;
        Ok(UpsertPetitionPayload { petition: Petition(upserted.row.into()), created: upserted.created })
    }

    /// Deletes a petition with its signatures. Returns the deleted ID.
    #[graphql(guard = "RoleGuard::admin()")]
    async fn delete_petition(&self, ctx: &Context<'_>, id: ID) -> GqlResult<ID> {
        let key = decode_as(&id, NodeType::Petition, "id")?;
        change::delete::<petition::Entity>(ctx, "deletePetition", key, async |txn| petitions::delete(txn, key).await)
            .await?;
        Ok(id)
    }
}

/// How to sign.
#[derive(InputObject, Default)]
pub(crate) struct SignPetitionInput {
    /// Up to 500 characters.
    comment: Option<String>,
    /// ISO 3166-1 alpha-2 country code.
    country: Option<String>,
    /// Show your name with your signature (default: no).
    #[graphql(default)]
    public: bool,
}

/// Signing and withdrawing (any signed-in fan).
#[derive(Default)]
pub(crate) struct SignatureMutation;

#[Object]
impl SignatureMutation {
    /// Signs a petition; signing again returns the same signature and counts once. With
    /// `FANDB_REQUIRE_VERIFIED_EMAIL=true`, `FORBIDDEN` until your address is verified.
    #[graphql(guard = "RoleGuard::fan()")]
    async fn sign_petition(
        &self,
        ctx: &Context<'_>,
        petition_id: ID,
        input: Option<SignPetitionInput>,
    ) -> GqlResult<Signature> {
        let petition_id = decode_as(&petition_id, NodeType::Petition, "petitionId")?;
        let user_id = viewer_id(ctx)?;
        account_mail::require_verified(db(ctx)?, super::account_mail::policy(ctx), user_id).await?;
        let input = input.unwrap_or_default();
        let sign = petitions::SignInput { comment: input.comment, country: input.country, public: input.public };
        Ok(Signature(petitions::sign(db(ctx)?, notifier(ctx)?, user_id, petition_id, sign).await?.into()))
    }

    /// Withdraws your signature; false when you had not signed.
    #[graphql(guard = "RoleGuard::fan()")]
    async fn withdraw_signature(&self, ctx: &Context<'_>, petition_id: ID) -> GqlResult<bool> {
        let petition_id = decode_as(&petition_id, NodeType::Petition, "petitionId")?;
        Ok(petitions::withdraw(db(ctx)?, notifier(ctx)?, viewer_id(ctx)?, petition_id).await?)
    }
}
