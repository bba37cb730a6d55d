//! The one schema extension: every step the schema adds to a request (over HTTP and WebSocket
//! alike), in the order it runs.
//!
//! - prepare: a persisted query's hash becomes its text (`persisted`; over HTTP the HTTP layer did
//!   it already); with a trusted-documents manifest, a document outside it runs only for an admin
//!   (`persisted`), and is refused before anything parses or keeps it; the document comes from the
//!   cache of recent documents (`documents`), or is measured against the document budget
//!   (`limits`), parsed, and kept;
//! - parse: a parse error gets its code, and no argument string may hold a NUL (`input_text`);
//! - validation: the request's cost is spent from the client's budget (`cost`); a document that
//!   passed validation with this operation name and these variables
//!   skips it; the errors of one that fails get their codes (`codes`);
//! - execute: the operation's name is noted for the HTTP layer (`operation`), and a mutation is
//!   remembered for the read replica (`read_your_writes`) and announced to the response caches
//!   (`changed`);
//! - resolve: in production, the introspection roots answer only admins (`production`);
//! - response: every error gets its code (`codes`), and the errors one order, each field's once
//!   (`error_order`).
//!
//! One extension rather than one per concern, because the library calls each registered
//! extension's `resolve` hook on every field and list item it resolves, whether the extension
//! does anything there or not.

use std::any::TypeId;
use std::sync::{Arc, OnceLock};

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextExecute, NextParseQuery, NextPrepareRequest, NextRequest,
    NextResolve, NextValidation, ResolveInfo,
};
use async_graphql::parser::types::ExecutableDocument;
use async_graphql::{Request, Response, ServerError, ServerResult, ValidationResult, Value, Variables};

use super::codes::{self, Arguments};
use super::cost::{self, Charge};
use super::documents::{CachedDocument, DocumentCache};
use super::persisted::{PersistedDocuments, Unresolved};
use super::{changed, error_order, input_text, operation, production, read_your_writes};
use crate::config::DocumentLimits;
use crate::domain::Viewer;
use crate::limits::document;
use crate::loaders::Loaders;

/// Registers the pipeline.
pub(crate) struct Pipeline {
    documents: Arc<DocumentCache>,
    limits: DocumentLimits,
    /// Whether introspection is for admins only.
    production: bool,
}

impl Pipeline {
    /// The pipeline over the given cache of documents.
    pub(crate) fn new(documents: Arc<DocumentCache>, limits: DocumentLimits, production: bool) -> Self {
        Self { documents, limits, production }
    }
}

impl ExtensionFactory for Pipeline {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(PerRequest {
            documents: self.documents.clone(),
            limits: self.limits,
            production: self.production,
            prepared: OnceLock::new(),
            arguments: OnceLock::new(),
        })
    }
}

/// The pipeline of one request.
struct PerRequest {
    documents: Arc<DocumentCache>,
    limits: DocumentLimits,
    production: bool,
    /// The request's document once it parsed and passed the budget, and what it runs with.
    prepared: OnceLock<Prepared>,
    /// Where each argument is written, walked only when an error needs an argument named.
    arguments: OnceLock<Option<Arguments>>,
}

struct Prepared {
    document: Arc<CachedDocument>,
    operation_name: Option<String>,
    variables: Variables,
}

/// The viewer a request runs for: over HTTP in the request's data, over a WebSocket in the
/// connection's (the request's data joins the context only after this step).
fn viewer_of(ctx: &ExtensionContext<'_>, request: &Request) -> Viewer {
    request
        .data
        .get(&TypeId::of::<Arc<Loaders>>())
        .and_then(|data| data.downcast_ref::<Arc<Loaders>>())
        .or_else(|| ctx.data_opt::<Arc<Loaders>>())
        .map(|loaders| loaders.viewer)
        .unwrap_or_default()
}

impl PerRequest {
    fn argument_at(&self, error: &ServerError) -> Option<String> {
        let arguments = self.arguments.get_or_init(|| {
            let prepared = self.prepared.get()?;
            Some(Arguments::of(&prepared.document.document, &prepared.variables))
        });
        arguments.as_ref()?.named_by(error)
    }
}

#[async_trait::async_trait]
impl Extension for PerRequest {
    async fn request(&self, ctx: &ExtensionContext<'_>, next: NextRequest<'_>) -> Response {
        let mut response = next.run(ctx).await;
        if !response.errors.is_empty() {
            let errors = codes::response_errors(std::mem::take(&mut response.errors), &|error| self.argument_at(error));
            response.errors = error_order::canonical(errors);
        }
        response
    }

    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        mut request: Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<Request> {
        match self.documents.persisted.resolve(&mut request) {
            Ok(()) => {}
            Err(Unresolved::Refused(error)) => return Err(error),
            Err(Unresolved::Malformed(message)) => {
                let mut error = ServerError::new(message, None);
                error.extensions.get_or_insert_with(Default::default).set("code", "BAD_REQUEST");
                return Err(error);
            }
        }
        if !self.documents.persisted.may_run(&request.query, viewer_of(ctx, &request)) {
            return Err(PersistedDocuments::not_allowed());
        }
        let document = match self.documents.get(&request.query) {
            // It passed the budget when it was kept; the budget depends on its text alone.
            Some(document) => {
                request.set_parsed_query(document.document.clone());
                Some(document)
            }
            None => {
                document::check_tokens(&request.query, &self.limits)?;
                match request.parsed_query() {
                    Ok(parsed) => {
                        document::check(parsed, &self.limits)?;
                        let document = Arc::new(CachedDocument::new(parsed.clone()));
                        self.documents.insert(&request.query, document.clone());
                        Some(document)
                    }
                    // The library parses it again and reports where it fails.
                    Err(_) => None,
                }
            }
        };
        if let Some(document) = document {
            let operation_name = request.operation_name.clone();
            let _ = self.prepared.set(Prepared { document, operation_name, variables: request.variables.clone() });
        }
        next.run(ctx, request).await
    }

    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let document = next.run(ctx, query, variables).await.map_err(codes::parse_error)?;
        let clean = self.prepared.get().is_some_and(|prepared| prepared.document.clean_literals)
            && !input_text::has_nul(variables);
        if !clean {
            input_text::check(&document, variables)?;
        }
        Ok(document)
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        let prepared = self.prepared.get();
        // The request's cost is spent on every run, whether or not its validation is cached.
        if let (Some(prepared), Some(charge)) = (prepared, ctx.data_opt::<Charge>()) {
            cost::charge(charge, &prepared.document.document, prepared.operation_name.as_deref(), &prepared.variables)
                .await
                .map_err(|error| vec![error])?;
        }
        // Validation depends on the document, the operation chosen and the variables (the cost of
        // `first: $n`, the type of each value), and on nothing else of the request.
        if let Some(prepared) = prepared
            && let Some(result) = prepared.document.validated(prepared.operation_name.as_deref(), &prepared.variables)
        {
            return Ok(result);
        }
        match next.run(ctx).await {
            Ok(result) => {
                if let Some(prepared) = prepared {
                    prepared.document.passed(prepared.operation_name.as_deref(), &prepared.variables, result);
                }
                Ok(result)
            }
            Err(errors) => Err(codes::validation_errors(errors, &|error| self.argument_at(error))),
        }
    }

    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        operation::executing(ctx, operation_name);
        let response = next.run(ctx, operation_name).await;
        let has_mutation = self.prepared.get().is_some_and(|prepared| prepared.document.has_mutation);
        read_your_writes::executed(ctx, has_mutation).await;
        if let Some(prepared) = self.prepared.get().filter(|prepared| prepared.document.has_mutation) {
            changed::executed(ctx, &prepared.document.document, operation_name).await;
        }
        response
    }

    async fn resolve(
        &self,
        ctx: &ExtensionContext<'_>,
        info: ResolveInfo<'_>,
        next: NextResolve<'_>,
    ) -> ServerResult<Option<Value>> {
        if self.production
            && let Some(refusal) = production::refusal(ctx, &info)
        {
            return Err(refusal);
        }
        next.run(ctx, info).await
    }
}
