//! The stable codes of `extensions.code`: every error fandb answers with carries one of these, from
//! whichever layer refuses (a limit, the domain, the GraphQL pipeline, the HTTP handler).

pub(crate) const UNAUTHENTICATED: &str = "UNAUTHENTICATED";
pub(crate) const FORBIDDEN: &str = "FORBIDDEN";
pub(crate) const BAD_USER_INPUT: &str = "BAD_USER_INPUT";
pub(crate) const NOT_FOUND: &str = "NOT_FOUND";
pub(crate) const CONFLICT: &str = "CONFLICT";
pub(crate) const RATE_LIMITED: &str = "RATE_LIMITED";
/// A WebSocket already runs as many operations as it may.
pub(crate) const TOO_MANY_OPERATIONS: &str = "TOO_MANY_OPERATIONS";
pub(crate) const SERVICE_UNAVAILABLE: &str = "SERVICE_UNAVAILABLE";
/// The server has no way to send mail (production without `FANDB_SMTP_URL`): asking again
/// will not help until an operator configures it.
pub(crate) const MAIL_NOT_CONFIGURED: &str = "MAIL_NOT_CONFIGURED";
/// With `FANDB_REQUIRE_VERIFIED_EMAIL`: `register` succeeded as far as it can say (a link is in
/// the mailbox), or `login` met an address that is not proven yet.
pub(crate) const EMAIL_VERIFICATION_PENDING: &str = "EMAIL_VERIFICATION_PENDING";
pub(crate) const INTERNAL_SERVER_ERROR: &str = "INTERNAL_SERVER_ERROR";
pub(crate) const GRAPHQL_PARSE_FAILED: &str = "GRAPHQL_PARSE_FAILED";
pub(crate) const GRAPHQL_VALIDATION_FAILED: &str = "GRAPHQL_VALIDATION_FAILED";
