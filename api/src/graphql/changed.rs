//! After a mutation ran, tells every process that public records may have changed, so their
//! response caches drop the answers they hold (see `http::response_cache`). Runs for every
//! transport (HTTP and WebSocket), from the request pipeline (`pipeline`), once the mutation's
//! transactions have committed, whether or not it succeeded: a failed mutation may have
//! committed some of its fields, and a spurious drop costs only a few misses.

use std::sync::Arc;

use async_graphql::extensions::ExtensionContext;
use async_graphql::parser::types::{ExecutableDocument, OperationType, Selection, SelectionSet};
use sea_orm::DatabaseConnection;

use crate::domain::notify::{ALL_RECORDS, Notifier};

/// Mutations that change no public data (accounts, sessions, passwords, mail), or only signatures, whose
/// count notices already tell the cache (`notify`) what they changed.
const TOLD_OR_PRIVATE: &[&str] = &[
    "register",
    "login",
    "refreshSession",
    "logout",
    "changePassword",
    "verifyEmail",
    "resendVerification",
    "requestPasswordReset",
    "resetPassword",
    "signPetition",
    "withdrawSignature",
];

/// Called once a document ran its operation `operation_name`.
pub(super) async fn executed(ctx: &ExtensionContext<'_>, document: &ExecutableDocument, operation_name: Option<&str>) {
    let operation = match operation_name {
        Some(name) => document.operations.iter().find(|(found, _)| found.is_some_and(|found| found.as_str() == name)),
        None => document.operations.iter().next(),
    };
    let Some((_, operation)) = operation else { return };
    if operation.node.ty != OperationType::Mutation || only_told_or_private(&operation.node.selection_set.node) {
        return;
    }
    if let (Some(notifier), Some(db)) = (ctx.data_opt::<Arc<Notifier>>(), ctx.data_opt::<DatabaseConnection>()) {
        notifier.records_changed(db, ALL_RECORDS);
    }
}

/// Whether every root field is one that needs no notice here; a fragment counts as needing one.
fn only_told_or_private(selection_set: &SelectionSet) -> bool {
    selection_set.items.iter().all(|selection| match &selection.node {
        Selection::Field(field) => TOLD_OR_PRIVATE.contains(&field.node.name.node.as_str()),
        Selection::FragmentSpread(_) | Selection::InlineFragment(_) => false,
    })
}
