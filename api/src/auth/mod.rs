//! The means to prove who is asking: password hashing (`password`), access and refresh tokens
//! (`tokens`), and the sign-in throttle they are used under. Turning a bearer token into the
//! request's `domain::Viewer` reads the user and the session, so it is the domain's
//! (`domain::sessions::authenticate`).

pub(crate) mod common_passwords;
pub(crate) mod error;
pub(crate) mod password;
pub mod tokens;

use std::net::IpAddr;
use std::sync::Arc;

use crate::config::{Limits, Secret};
use crate::limits::sign_in::SignInThrottle;

/// The password hasher, the token keys and the sign-in throttle, shared by every request.
pub struct Auth {
    pub(crate) passwords: password::Passwords,
    pub(crate) tokens: tokens::TokenKeys,
    pub(crate) throttle: SignInThrottle,
}

impl Auth {
    /// Builds them from the JWT secret and the sign-in limits.
    pub fn new(jwt_secret: &Secret, limits: &Limits) -> Arc<Self> {
        Self::with_shared_state(jwt_secret, limits, None)
    }

    /// Like `new`, the per-IP sign-in budgets kept in `shared` (Redis) when given.
    pub(crate) fn with_shared_state(
        jwt_secret: &Secret,
        limits: &Limits,
        shared: Option<Arc<crate::infra::shared_state::SharedState>>,
    ) -> Arc<Self> {
        Arc::new(Self {
            passwords: password::Passwords::new(limits),
            tokens: tokens::TokenKeys::new(jwt_secret),
            throttle: SignInThrottle::new(limits, shared),
        })
    }
}

/// The address of the client a request came from (the TCP peer, or behind a trusted proxy the
/// client it names: see `http::client_ip`), when known.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ClientIp(pub Option<IpAddr>);
