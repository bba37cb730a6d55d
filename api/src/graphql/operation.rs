//! Tells the HTTP layer which operation a request ran: the name the document gives it, which the
//! client need not repeat in `operationName`, for metrics and the request's log span.

use std::sync::{Arc, OnceLock};

use async_graphql::extensions::ExtensionContext;

/// Where the name of the executed operation is written; attach one to a request to learn it.
#[derive(Debug, Clone, Default)]
pub(crate) struct ExecutedOperation(pub Arc<OnceLock<String>>);

impl ExecutedOperation {
    /// The operation's name, once it ran and if it had one.
    pub(crate) fn name(&self) -> Option<&str> {
        self.0.get().map(String::as_str)
    }
}

/// Notes the name of the operation about to run, for a request that asked (see `pipeline`).
pub(super) fn executing(ctx: &ExtensionContext<'_>, operation_name: Option<&str>) {
    if let (Some(name), Some(slot)) = (operation_name, ctx.data_opt::<ExecutedOperation>()) {
        let _ = slot.0.set(name.to_owned());
    }
}
