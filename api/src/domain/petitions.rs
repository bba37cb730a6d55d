//! Petitions and signatures: what the petition lists filter and sort by, the status a petition
//! reads as, what of a signature is public, and the counts a campaign page shows.

use chrono::{DateTime, Utc};
use entity::enums::PetitionStatus;
use entity::{petition, signature};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseBackend, DatabaseConnection, EntityTrait,
    QueryFilter, Set, TryInsertResult,
};

use super::counters::SIGNATURES;
use super::notify::{Hold, Notifier};
use super::paging::{Direction, Sort};
use super::validate::{self, Patch};
use super::write::{self, patch, set_if};
use super::{DomainError, DomainResult};
use crate::domain::Viewer;

/// What a petition list may be narrowed to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub(crate) struct PetitionFilter {
    pub(crate) status: Option<PetitionStatus>,
    pub(crate) film_id: Option<i64>,
}

impl PetitionFilter {
    /// The filter as a WHERE condition, with `now` deciding which petitions have closed.
    pub(crate) fn condition(&self, now: DateTime<Utc>) -> Condition {
        let mut condition = Condition::all();
        if let Some(status) = self.status {
            condition = condition.add(reads_as(status, now));
        }
        if let Some(film_id) = self.film_id {
            condition = condition.add(petition::Column::FilmId.eq(film_id));
        }
        condition
    }
}

/// The status a petition reads as at `now`: the stored one, except that an open petition whose
/// closing time has come reads `Closed`. Every read and the signing rule go by it, so a petition
/// closes on time without a job rewriting its row.
pub(crate) fn effective_status(
    stored: PetitionStatus,
    closes_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> PetitionStatus {
    match stored {
        PetitionStatus::Open if closes_at.is_some_and(|closes| closes <= now) => PetitionStatus::Closed,
        other => other,
    }
}

/// The petitions whose `effective_status` at `now` is `status`, as a WHERE condition (the same
/// rule spelled in SQL, for filters and counts).
pub(crate) fn reads_as(status: PetitionStatus, now: DateTime<Utc>) -> Condition {
    let stored = |status: PetitionStatus| petition::Column::Status.eq(status);
    match status {
        PetitionStatus::Open => Condition::all()
            .add(stored(PetitionStatus::Open))
            .add(Condition::any().add(petition::Column::ClosesAt.is_null()).add(petition::Column::ClosesAt.gt(now))),
        PetitionStatus::Closed => Condition::any()
            .add(stored(PetitionStatus::Closed))
            .add(Condition::all().add(stored(PetitionStatus::Open)).add(petition::Column::ClosesAt.lte(now))),
        PetitionStatus::Victory => Condition::all().add(stored(PetitionStatus::Victory)),
    }
}

/// The keys a petition list can be sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum PetitionOrderField {
    CreatedAt,
    Title,
    ClosesAt,
    Goal,
    /// Everyone who signed.
    SignatureCount,
}

/// A key of a petition list's sort.
pub(crate) fn sort(field: PetitionOrderField, direction: Direction) -> super::paging::SortKey {
    use super::paging::SortKey;
    match field {
        PetitionOrderField::CreatedAt => SortKey::column(petition::Column::CreatedAt, direction, false),
        PetitionOrderField::Title => SortKey::column(petition::Column::Title, direction, false),
        PetitionOrderField::ClosesAt => SortKey::column(petition::Column::ClosesAt, direction, true),
        PetitionOrderField::Goal => SortKey::column(petition::Column::Goal, direction, false),
        PetitionOrderField::SignatureCount => {
            SortKey::count("petitions.#signatures", super::row_counts::petition_signature_count(), direction)
        }
    }
}

/// Petitions under a film are listed in the order they were started.
pub(crate) const RELATION_SORT: Sort<petition::Column> =
    Sort { column: petition::Column::CreatedAt, direction: Direction::Asc, nullable: false };

/// Signatures are listed newest first.
pub(crate) const SIGNATURE_SORT: Sort<signature::Column> =
    Sort { column: signature::Column::CreatedAt, direction: Direction::Desc, nullable: false };

/// Only the signatures whose signers chose to be shown.
pub(crate) fn public_signatures() -> Condition {
    Condition::all().add(signature::Column::Public.eq(true))
}

/// Whether `viewer` may see the name, country and comment of `signature`: the signer chose to be
/// shown, or the viewer is the signer.
pub(crate) fn signer_details_visible(signature: &signature::Model, viewer: &Viewer) -> bool {
    signature.public || viewer.user_id == Some(signature.user_id)
}

/// How far a petition is towards its goal (1.0 is the goal reached; more when exceeded).
pub(crate) fn progress(signature_count: u64, goal: i64) -> f64 {
    if goal <= 0 {
        return 0.0;
    }
    // Counts stay far below 2^52, so the conversions are exact.
    signature_count as f64 / goal as f64
}

/// A change to a petition. On create, `title`, `body`, `target` and `goal` are required.
#[derive(Debug, Default)]
pub(crate) struct PetitionChanges {
    pub(crate) slug: Option<String>,
    pub(crate) title: Option<String>,
    pub(crate) body: Option<String>,
    pub(crate) target: Option<String>,
    pub(crate) goal: Option<i64>,
    pub(crate) status: Option<PetitionStatus>,
    pub(crate) film_id: Patch<i64>,
    pub(crate) closes_at: Patch<chrono::DateTime<chrono::Utc>>,
    /// An https image URL.
    pub(crate) image_url: Patch<String>,
}

async fn apply<C: ConnectionTrait>(
    db: &C,
    model: &mut petition::ActiveModel,
    changes: PetitionChanges,
) -> DomainResult<()> {
    if let Some(body) = &changes.body {
        model.body = Set(validate::text("input.body", body, 20_000)?);
    }
    if let Some(target) = &changes.target {
        model.target = Set(validate::text("input.target", target, 200)?);
    }
    if let Some(goal) = changes.goal {
        model.goal = Set(validate::range("input.goal", goal, 1, validate::PETITION_GOAL_MAX)?);
    }
    set_if(&mut model.status, changes.status);
    if let Patch::Set(film_id) = changes.film_id {
        write::ensure_exists::<entity::film::Entity, _>(db, entity::film::Column::Id, film_id, "input.filmId", "film")
            .await?;
    }
    patch(&mut model.film_id, changes.film_id);
    patch(&mut model.closes_at, changes.closes_at);
    patch(&mut model.image_url, validate::patch_image_url("input.imageUrl", changes.image_url)?);
    Ok(())
}

impl PetitionChanges {
    /// Refuses a new petition (created or upserted) without what every petition has.
    fn require_new(&self) -> DomainResult<()> {
        validate::required("input.body", self.body.as_ref())?;
        validate::required("input.target", self.target.as_ref())?;
        validate::required("input.goal", self.goal)?;
        Ok(())
    }
}

/// Creates a petition (open unless a status is given), in the caller's transaction (see
/// `write::transaction`; an import runs many in one).
pub(crate) async fn create(txn: &impl ConnectionTrait, changes: PetitionChanges) -> DomainResult<petition::Model> {
    let (title, slug) = (changes.title.as_deref(), changes.slug.as_deref());
    let mut model = write::create::<petition::Entity, _>(txn, title, slug).await?;
    changes.require_new()?;
    model.status = Set(PetitionStatus::Open);
    apply(txn, &mut model, changes).await?;
    Ok(model.insert(txn).await?)
}

/// Creates the petition with this slug (made from the title when not given) or, when there is
/// one, makes it what `changes` says: validated like `create`, written in one statement, and an
/// optional field left out is cleared. A stored petition keeps its status unless one is given.
pub(crate) async fn upsert(
    txn: &impl ConnectionTrait,
    changes: PetitionChanges,
) -> DomainResult<write::Upserted<petition::Model>> {
    let changes = PetitionChanges {
        film_id: write::stated(changes.film_id),
        closes_at: write::stated(changes.closes_at),
        image_url: write::stated(changes.image_url),
        ..changes
    };
    let (mut model, _) = write::fresh::<petition::Entity>(changes.title.as_deref(), changes.slug.as_deref())?;
    changes.require_new()?;
    let keep: &[petition::Column] = if changes.status.is_none() { &[petition::Column::Status] } else { &[] };
    model.status = Set(PetitionStatus::Open);
    apply(txn, &mut model, changes).await?;
    write::upsert::<petition::Entity, _>(txn, model, keep, None).await
}

/// Changes the given fields of petition `id`, in the caller's transaction.
pub(crate) async fn update(
    txn: &impl ConnectionTrait,
    id: i64,
    changes: PetitionChanges,
) -> DomainResult<petition::Model> {
    let (title, slug) = (changes.title.as_deref(), changes.slug.as_deref());
    let mut model = write::edit::<petition::Entity, _>(txn, id, title, slug).await?;
    apply(txn, &mut model, changes).await?;
    write::save::<petition::Entity, _>(txn, model).await
}

/// Deletes petition `id` with its signatures.
pub(crate) async fn delete(db: &impl write::Db, id: i64) -> DomainResult<()> {
    write::delete::<petition::Entity>(db, id, "petition").await
}

/// A fan's signature.
#[derive(Debug, Default)]
pub(crate) struct SignInput {
    /// Up to 500 characters.
    pub(crate) comment: Option<String>,
    /// ISO 3166-1 alpha-2.
    pub(crate) country: Option<String>,
    /// Whether the signer's name is shown with the signature.
    pub(crate) public: bool,
}

/// The petition and its current signature count and version (with the count's slots, see
/// `counters`).
pub(crate) async fn counter<C: ConnectionTrait>(db: &C, petition_id: i64) -> DomainResult<(petition::Model, i64, i64)> {
    let petition = petition::Entity::find_by_id(petition_id).one(db).await?.ok_or(DomainError::NotFound("petition"))?;
    let (count, version) =
        SIGNATURES.totals(db, &[petition_id]).await?.remove(&petition_id).ok_or(DomainError::NotFound("petition"))?;
    Ok((petition, count, version))
}

/// Signs a petition as `user_id`. Signing again returns the same signature and counts once.
/// A petition that does not read as open (closed, won, or past its closing time) is refused.
pub(crate) async fn sign(
    db: &DatabaseConnection,
    notifier: &Notifier,
    user_id: i64,
    petition_id: i64,
    input: SignInput,
) -> DomainResult<signature::Model> {
    let comment = validate::optional_text("input.comment", input.comment.as_deref(), 500)?;
    let country = input.country.as_deref().map(|code| validate::country("input.country", code)).transpose()?;
    super::retrying(|| sign_once(db, notifier, user_id, petition_id, &input, comment.clone(), country.clone())).await
}

/// One attempt of `sign`, holding the petition's row in share mode: signers run side by side,
/// while the petition's status (which it reads) cannot change until it commits.
async fn sign_once(
    db: &DatabaseConnection,
    notifier: &Notifier,
    user_id: i64,
    petition_id: i64,
    input: &SignInput,
    comment: Option<String>,
    country: Option<String>,
) -> DomainResult<signature::Model> {
    if db.get_database_backend() == DatabaseBackend::Postgres {
        let (signature, delta) = one_statement::sign(db, user_id, petition_id, input, comment, country).await?;
        if delta != 0 {
            notifier.moved(SIGNATURES.counter, petition_id);
        }
        return Ok(signature);
    }
    notifier
        .counted::<petition::Entity, _>(
            db,
            user_id,
            (SIGNATURES, petition_id),
            ("petition", Hold::Share),
            async |txn, petition| {
                let now = super::now();
                if effective_status(petition.status, petition.closes_at, now) != PetitionStatus::Open {
                    return Err(DomainError::conflict("petitionId", "this petition is closed"));
                }
                let inserted = signature::Entity::insert(signature::ActiveModel {
                    petition_id: Set(petition_id),
                    user_id: Set(user_id),
                    comment: Set(comment),
                    country: Set(country),
                    public: Set(input.public),
                    created_at: Set(now),
                    ..Default::default()
                })
                .on_conflict_do_nothing_on([signature::Column::PetitionId, signature::Column::UserId])
                // RETURNING: a new signature is answered without reading it back.
                .exec_with_returning_many(txn)
                .await?;
                if let TryInsertResult::Inserted(rows) = inserted
                    && let Some(signature) = rows.into_iter().next()
                {
                    return Ok((signature, 1));
                }
                let signature = signature::Entity::find()
                    .filter(signature::Column::PetitionId.eq(petition_id))
                    .filter(signature::Column::UserId.eq(user_id))
                    .one(txn)
                    .await?
                    // Nothing inserted and nothing found: a signature of this fan that another
                    // request committed (so this insert did nothing) was withdrawn and committed
                    // before this read, which sees each commit (read committed). Signing again
                    // from scratch then inserts it.
                    .ok_or(DomainError::Contention)?;
                Ok((signature, 0))
            },
        )
        .await
}

/// Withdraws `user_id`'s signature; `false` when there was none. Holds the petition's row like
/// `sign`, again from scratch when the database aborted it (`retrying`).
pub(crate) async fn withdraw(
    db: &DatabaseConnection,
    notifier: &Notifier,
    user_id: i64,
    petition_id: i64,
) -> DomainResult<bool> {
    if db.get_database_backend() == DatabaseBackend::Postgres {
        let withdrawn = super::retrying(|| one_statement::withdraw(db, user_id, petition_id)).await?;
        if withdrawn {
            notifier.moved(SIGNATURES.counter, petition_id);
        }
        return Ok(withdrawn);
    }
    super::retrying(move || {
        let counter = (SIGNATURES, petition_id);
        notifier.counted::<petition::Entity, _>(db, user_id, counter, ("petition", Hold::Share), async move |txn, _| {
            let deleted = signature::Entity::delete_many()
                .filter(signature::Column::PetitionId.eq(petition_id))
                .filter(signature::Column::UserId.eq(user_id))
                .exec(txn)
                .await?
                .rows_affected;
            Ok((deleted > 0, if deleted > 0 { -1 } else { 0 }))
        })
    })
    .await
}

/// Signing and withdrawing on PostgreSQL, each in one statement run on its own (one round trip,
/// one commit): the hashtag hour's hot path. Each takes the locks the transaction of `sign_once`
/// takes, in the same order: the fan's row against deletion (`FOR KEY SHARE`, in an init plan the
/// petition's row waits for), then the petition's row in share mode, then the signature and the
/// count's slot (see `counters`), so a fold or a status change still waits for every signer.
mod one_statement {
    use std::sync::LazyLock;

    use entity::enums::PetitionStatus;
    use entity::{petition, signature, user};
    use sea_orm::{
        ActiveEnum, ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseConnection, EntityTrait, FromQueryResult,
        PaginatorTrait, QueryFilter, Statement,
    };

    use super::super::counters::{SIGNATURES, random_slot};
    use super::super::{DomainError, DomainResult};
    use super::SignInput;

    /// `$1` the fan, `$2` the petition, `$3`–`$5` comment, country and public, `$6` now, `$7` the
    /// slot, `$8` the open status. Answers the new signature with `delta` 1, or the one the fan had
    /// with `delta` 0, or nothing (see `refused`).
    static SIGN: LazyLock<String> = LazyLock::new(|| {
        format!(
            "WITH fan AS (SELECT id FROM users WHERE id = $1 FOR KEY SHARE), \
             held AS (SELECT id, status, closes_at FROM petitions \
                      WHERE id = $2 AND EXISTS (SELECT 1 FROM fan) FOR SHARE), \
             open AS (SELECT id FROM held WHERE status = $8 AND (closes_at IS NULL OR closes_at > $6)), \
             inserted AS (INSERT INTO signatures (petition_id, user_id, comment, country, public, created_at) \
                          SELECT id, $1, $3, $4, $5, $6 FROM open \
                          ON CONFLICT (petition_id, user_id) DO NOTHING RETURNING *), \
             moved AS ({}) \
             SELECT inserted.*, CAST(1 AS BIGINT) AS delta FROM inserted \
             UNION ALL \
             SELECT signatures.*, CAST(0 AS BIGINT) FROM signatures JOIN open ON signatures.petition_id = open.id \
             WHERE signatures.user_id = $1 AND NOT EXISTS (SELECT 1 FROM inserted)",
            SIGNATURES.slot_upsert_sql("SELECT petition_id, $7, 1, 1 FROM inserted")
        )
    });

    /// `$1` the fan, `$2` the petition, `$3` the slot. Answers whether the petition was held and
    /// how many signatures were deleted.
    static WITHDRAW: LazyLock<String> = LazyLock::new(|| {
        format!(
            "WITH fan AS (SELECT id FROM users WHERE id = $1 FOR KEY SHARE), \
             held AS (SELECT id FROM petitions WHERE id = $2 AND EXISTS (SELECT 1 FROM fan) FOR SHARE), \
             deleted AS (DELETE FROM signatures WHERE user_id = $1 AND petition_id IN (SELECT id FROM held) \
                         RETURNING petition_id), \
             moved AS ({}) \
             SELECT (SELECT COUNT(*) FROM held) AS held, (SELECT COUNT(*) FROM deleted) AS deleted",
            SIGNATURES.slot_upsert_sql("SELECT petition_id, $3, -1, 1 FROM deleted")
        )
    });

    /// One attempt of `sign` on PostgreSQL: the signature and how much it moved the count.
    pub(super) async fn sign(
        db: &DatabaseConnection,
        user_id: i64,
        petition_id: i64,
        input: &SignInput,
        comment: Option<String>,
        country: Option<String>,
    ) -> DomainResult<(signature::Model, i64)> {
        let now = super::super::now();
        let values = vec![
            user_id.into(),
            petition_id.into(),
            comment.into(),
            country.into(),
            input.public.into(),
            now.into(),
            random_slot().into(),
            PetitionStatus::Open.to_value().into(),
        ];
        let statement = Statement::from_sql_and_values(DatabaseBackend::Postgres, SIGN.as_str(), values);
        let Some(row) = db.query_one_raw(statement).await? else {
            return Err(refused(db, user_id, petition_id, true).await);
        };
        let delta: i64 = row.try_get("", "delta")?;
        Ok((signature::Model::from_query_result(&row, "")?, delta))
    }

    /// One attempt of `withdraw` on PostgreSQL: whether a signature was withdrawn.
    pub(super) async fn withdraw(db: &DatabaseConnection, user_id: i64, petition_id: i64) -> DomainResult<bool> {
        let values = vec![user_id.into(), petition_id.into(), random_slot().into()];
        let statement = Statement::from_sql_and_values(DatabaseBackend::Postgres, WITHDRAW.as_str(), values);
        let row = db.query_one_raw(statement).await?.ok_or_else(|| DomainError::Internal("no answer".into()))?;
        let (held, deleted): (i64, i64) = (row.try_get("", "held")?, row.try_get("", "deleted")?);
        if held == 0 {
            return Err(refused(db, user_id, petition_id, false).await);
        }
        Ok(deleted > 0)
    }

    /// Why a statement that held nothing, or (signing) neither signed nor found a signature, did
    /// so, read afterwards: the account is gone, the petition is, it is not open (when `signing`),
    /// or a signature of this fan came and went meanwhile (`Contention`: signing again from
    /// scratch settles it).
    async fn refused(db: &DatabaseConnection, user_id: i64, petition_id: i64, signing: bool) -> DomainError {
        let diagnosis = async {
            if user::Entity::find_by_id(user_id).count(db).await? == 0 {
                return Ok(DomainError::Unauthenticated);
            }
            let Some(petition) = petition::Entity::find().filter(petition::Column::Id.eq(petition_id)).one(db).await?
            else {
                return Ok(DomainError::NotFound("petition"));
            };
            let open = super::effective_status(petition.status, petition.closes_at, super::super::now())
                == PetitionStatus::Open;
            if signing && !open {
                return Ok(DomainError::conflict("petitionId", "this petition is closed"));
            }
            Ok::<_, DomainError>(DomainError::Contention)
        };
        diagnosis.await.unwrap_or_else(|error| error)
    }
}
