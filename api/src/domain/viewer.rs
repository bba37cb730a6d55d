//! Who is asking: the identity behind one request, which every domain rule about visibility and
//! permission reads. (Proving it, from a bearer token, is `auth`'s job.)

use entity::enums::Role;

/// The identity behind one request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub(crate) struct Viewer {
    /// The signed-in user, if any.
    pub(crate) user_id: Option<i64>,
    /// That user's role, read fresh for this request.
    pub(crate) role: Option<Role>,
}

impl Viewer {
    /// Nobody signed in.
    pub(crate) fn anonymous() -> Self {
        Self::default()
    }

    /// A signed-in user with `role`.
    pub(crate) fn user(user_id: i64, role: Role) -> Self {
        Self { user_id: Some(user_id), role: Some(role) }
    }

    /// Whether the viewer may see unpublished content of others (moderators and admins).
    pub(crate) fn is_moderator(&self) -> bool {
        matches!(self.role, Some(Role::Moderator | Role::Admin))
    }

    /// Whether the viewer is an admin.
    pub(crate) fn is_admin(&self) -> bool {
        self.role == Some(Role::Admin)
    }

    /// Whether the viewer's role is at least `needed` (FAN < MODERATOR < ADMIN).
    pub(crate) fn has_role(&self, needed: Role) -> bool {
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
