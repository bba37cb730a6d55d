//! Petition updates: the `PetitionUpdate` type and the admins' and moderators' mutations that post,
//! edit and delete them. `Petition.updates` lists them (see `petitions.rs`) and the
//! `petitionUpdates` subscription pushes new ones (see `subscriptions.rs`).

use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object};
use entity::petition_update;

use super::connection::NodeName;
use super::errors::GqlResult;
use super::guards::RoleGuard;
use super::ids::{NodeType, decode_as, global_id};
use super::inputs::required;
use super::petitions::Petition;
use super::scalars::DateTime;
use super::{actor, change};
use super::{db, loaders, notifier};
use crate::domain::{DomainError, audit, petition_updates, write};

/// News posted to a petition by its organisers.
#[derive(Clone)]
pub(crate) struct PetitionUpdate(pub std::sync::Arc<petition_update::Model>);

impl NodeName for PetitionUpdate {
    const NAME: &'static str = "PetitionUpdate";
}

#[Object]
impl PetitionUpdate {
    /// The global ID.
    pub(crate) async fn id(&self) -> ID {
        global_id(NodeType::PetitionUpdate, self.0.id)
    }
    /// The petition it was posted to.
    async fn petition(&self, ctx: &Context<'_>) -> GqlResult<Petition> {
        let petition = loaders(ctx)?.petitions.load_one(self.0.petition_id).await?;
        Ok(Petition(petition.ok_or(DomainError::NotFound("petition"))?))
    }
    async fn title(&self) -> &str {
        &self.0.title
    }
    /// The body as written, in Markdown.
    async fn body(&self) -> &str {
        &self.0.body_markdown
    }
    /// The body rendered to sanitized HTML (no scripts, event handlers or `javascript:` links):
    /// safe to insert into a page as it is.
    async fn body_html(&self) -> &str {
        &self.0.body_html
    }
    /// When fans may see it; admins and moderators also see updates scheduled for later.
    async fn published_at(&self) -> DateTime {
        DateTime(self.0.published_at)
    }
    async fn created_at(&self) -> DateTime {
        DateTime(self.0.created_at)
    }
    async fn updated_at(&self) -> DateTime {
        DateTime(self.0.updated_at)
    }
}

/// A new update to a petition.
#[derive(InputObject)]
pub(crate) struct PostPetitionUpdateInput {
    /// 1 to 200 characters.
    title: String,
    /// Markdown, 1 to 20,000 characters.
    body: String,
    /// When fans may see it: now when not given; a later time schedules it.
    published_at: Option<DateTime>,
}

/// Changes to an update: only the fields given change.
#[derive(InputObject)]
pub(crate) struct EditPetitionUpdateInput {
    title: MaybeUndefined<String>,
    body: MaybeUndefined<String>,
    published_at: MaybeUndefined<DateTime>,
}

/// Posting, editing and deleting updates (moderators and admins).
#[derive(Default)]
pub(crate) struct PetitionUpdateMutation;

#[Object]
impl PetitionUpdateMutation {
    /// Posts an update to petition `petitionId` (global ID); `petitionUpdates` subscribers get it
    /// once it is published.
    #[graphql(guard = "RoleGuard::moderator()")]
    async fn post_petition_update(
        &self,
        ctx: &Context<'_>,
        petition_id: ID,
        input: PostPetitionUpdateInput,
    ) -> GqlResult<PetitionUpdate> {
        let petition_id = decode_as(&petition_id, NodeType::Petition, "petitionId")?;
        let changes = petition_updates::UpdateChanges {
            title: Some(input.title),
            body: Some(input.body),
            published_at: input.published_at.map(|instant| instant.0),
        };
        let author = actor(ctx)?;
        let update = petition_updates::post(db(ctx)?, notifier(ctx)?, &author, petition_id, changes).await?;
        Ok(PetitionUpdate(update.into()))
    }

    /// Changes the given fields of an update; a new `publishedAt` is announced to `petitionUpdates`
    /// subscribers, who get the update once it is published.
    #[graphql(guard = "RoleGuard::moderator()")]
    async fn edit_petition_update(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: EditPetitionUpdateInput,
    ) -> GqlResult<PetitionUpdate> {
        let id = decode_as(&id, NodeType::PetitionUpdate, "id")?;
        let changes = petition_updates::UpdateChanges {
            title: required(input.title, "input.title", |v| v)?,
            body: required(input.body, "input.body", |v| v)?,
            published_at: required(input.published_at, "input.publishedAt", |instant| instant.0)?,
        };
        let (actor, notifier) = (actor(ctx)?, notifier(ctx)?);
        let gate = notifier.write_gate().await;
        let (update, notice) = write::transaction(db(ctx)?, async |txn| {
            let mut notice = None;
            let edit = async {
                let (update, queued) = petition_updates::edit(txn, notifier, id, changes).await?;
                notice = queued;
                Ok(update)
            };
            let update =
                audit::updating::<petition_update::Entity, _>(txn, &actor, "editPetitionUpdate", id, edit).await?;
            Ok((update, notice))
        })
        .await?;
        notifier.committed(notice);
        drop(gate);
        Ok(PetitionUpdate(update.into()))
    }

    /// Deletes an update. Returns the deleted ID.
    #[graphql(guard = "RoleGuard::moderator()")]
    async fn delete_petition_update(&self, ctx: &Context<'_>, id: ID) -> GqlResult<ID> {
        let key = decode_as(&id, NodeType::PetitionUpdate, "id")?;
        change::delete::<petition_update::Entity>(ctx, "deletePetitionUpdate", key, async |txn| {
            petition_updates::delete(txn, key).await
        })
        .await?;
        Ok(id)
    }
}
