//! Who is asking, and the means to prove it: password hashing (`password`), access and refresh
//! tokens (`tokens`), and the `Viewer` built for each request from a bearer token. The user behind
//! a token and the session it was issued in are read fresh on every request, in one statement, so
//! a role change, a deleted account or an ended session (logout, a password or role change) takes
//! effect at once, on every server process, rather than when the token expires.

pub mod common_passwords;
pub mod error;
pub mod lockout;
pub mod password;
pub mod throttle;
pub mod tokens;

use std::net::IpAddr;
use std::sync::Arc;

use entity::enums::Role;
use entity::{refresh_token, user};
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{DatabaseConnection, EntityTrait, QueryFilter, QuerySelect};

use crate::auth::error::{AuthError, AuthResult};
use crate::config::Limits;
pub use crate::config::Secret;
pub use crate::domain::Viewer;

/// The password hasher, the token keys and the sign-in throttle, shared by every request.
pub struct Auth {
    pub passwords: password::Passwords,
    pub tokens: tokens::TokenKeys,
    pub throttle: throttle::SignInThrottle,
}

impl Auth {
    /// Builds them from the JWT secret and the sign-in limits.
    pub fn new(jwt_secret: &Secret, limits: &Limits) -> Arc<Self> {
        Self::with_shared_state(jwt_secret, limits, None)
    }

    /// Like `new`, the per-IP sign-in budgets kept in `shared` (Redis) when given.
    pub fn with_shared_state(
        jwt_secret: &Secret,
        limits: &Limits,
        shared: Option<Arc<crate::shared_state::SharedState>>,
    ) -> Arc<Self> {
        Arc::new(Self {
            passwords: password::Passwords::new(limits),
            tokens: tokens::TokenKeys::new(jwt_secret),
            throttle: throttle::SignInThrottle::new(limits, shared),
        })
    }
}

/// The address of the client a request came from (the TCP peer, or behind a trusted proxy the
/// client it names: see `http::client_ip`), when known.
#[derive(Debug, Clone, Copy, Default)]
pub struct ClientIp(pub Option<IpAddr>);

/// The viewer of a request that presented `bearer`: the token must verify, its user must still
/// exist and its session must not have ended (one statement); the role is the one stored now, not
/// the one in the token.
pub async fn authenticate(db: &DatabaseConnection, auth: &Auth, bearer: &str) -> AuthResult<Viewer> {
    let token = auth.tokens.verify_access(bearer)?;
    // A session is live while a token of its refresh-token family is unrevoked: logout, a password
    // or role change revoke the family, and deleting the user deletes it.
    let live_session = Query::select()
        .expr(Expr::val(1))
        .from(refresh_token::Entity)
        .and_where(Expr::col((refresh_token::Entity, refresh_token::Column::FamilyId)).eq(token.session_id))
        .and_where(
            Expr::col((refresh_token::Entity, refresh_token::Column::UserId)).equals((user::Entity, user::Column::Id)),
        )
        .and_where(Expr::col((refresh_token::Entity, refresh_token::Column::RevokedAt)).is_null())
        .to_owned();
    let (user_id, role) = user::Entity::find_by_id(token.user_id)
        .select_only()
        .column(user::Column::Id)
        .column(user::Column::Role)
        .filter(Expr::exists(live_session))
        .into_tuple::<(i64, Role)>()
        .one(db)
        .await?
        .ok_or(AuthError::Unauthenticated)?;
    Ok(Viewer::user(user_id, role))
}
