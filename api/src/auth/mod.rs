//! Who is asking, and the means to prove it: password hashing (`password`), access and refresh
//! tokens (`tokens`), and the `Viewer` built for each request from a bearer token. The user behind
//! a token and the session it was issued in are read fresh on every request, in one statement, so
//! a role change, a deleted account or an ended session (logout, a password or role change) takes
//! effect at once, on every server process, rather than when the token expires.

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

use crate::config::Limits;
pub use crate::config::Secret;
use crate::domain::{DomainError, DomainResult};

/// The identity behind one request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Viewer {
    /// The signed-in user, if any.
    pub user_id: Option<i64>,
    /// That user's role, read fresh for this request.
    pub role: Option<Role>,
}

impl Viewer {
    /// Nobody signed in.
    pub fn anonymous() -> Self {
        Self::default()
    }

    /// A signed-in user with `role`.
    pub fn user(user_id: i64, role: Role) -> Self {
        Self { user_id: Some(user_id), role: Some(role) }
    }

    /// Whether the viewer may see unpublished content of others (moderators and admins).
    pub fn is_moderator(&self) -> bool {
        matches!(self.role, Some(Role::Moderator | Role::Admin))
    }

    /// Whether the viewer is an admin.
    pub fn is_admin(&self) -> bool {
        self.role == Some(Role::Admin)
    }

    /// Whether the viewer's role is at least `needed` (FAN < MODERATOR < ADMIN).
    pub fn has_role(&self, needed: Role) -> bool {
        self.role.is_some_and(|role| rank(role) >= rank(needed))
    }
}

fn rank(role: Role) -> u8 {
    match role {
        Role::Fan => 0,
        Role::Moderator => 1,
        Role::Admin => 2,
    }
}

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
pub async fn authenticate(db: &DatabaseConnection, auth: &Auth, bearer: &str) -> DomainResult<Viewer> {
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
        .ok_or(DomainError::Unauthenticated)?;
    Ok(Viewer::user(user_id, role))
}
