//! Who is asking: the `Viewer` built for each request. Until accounts land every request is anonymous;
//! the token checks that build a signed-in viewer belong here.

use entity::enums::Role;

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

    /// Whether the viewer may see unpublished content of others (moderators and admins).
    pub fn is_moderator(&self) -> bool {
        matches!(self.role, Some(Role::Moderator | Role::Admin))
    }
}

impl Viewer {
    /// Whether the viewer is an admin.
    pub fn is_admin(&self) -> bool {
        self.role == Some(Role::Admin)
    }
}
