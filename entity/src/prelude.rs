//! The entities under their table-like names, for `use entity::prelude::*`.

pub use crate::account_token::Entity as AccountToken;
pub use crate::audit_event::Entity as AuditEvent;
pub use crate::credit::Entity as Credit;
pub use crate::event::Entity as Event;
pub use crate::film::Entity as Film;
pub use crate::person::Entity as Person;
pub use crate::petition::Entity as Petition;
pub use crate::quote::Entity as Quote;
pub use crate::refresh_token::Entity as RefreshToken;
pub use crate::rsvp::Entity as Rsvp;
pub use crate::signature::Entity as Signature;
pub use crate::user::Entity as User;
