//! The scopes of per-parent lists: which parent column, which rows (visibility and filters) and in
//! which order. A scope is part of every loader key.

use entity::enums::CreditRole;
use entity::{credit, event, film, petition, petition_update, quote, rsvp, signature};
use sea_orm::{Condition, EntityTrait};

use super::Keyed;
use crate::domain::Viewer;
use crate::domain::paging::{Direction, Sort};
use crate::domain::{events, films, petition_updates, petitions, quotes, users};

/// Which children of which parent, in which order.
pub(crate) trait Scope: Clone + std::hash::Hash + Eq + Send + Sync + 'static {
    /// The child entity.
    type Entity: Keyed;
    /// The child column that holds the parent id.
    fn parent(&self) -> <Self::Entity as EntityTrait>::Column;
    /// Which children are listed.
    fn condition(&self) -> Condition;
    /// The order of the list.
    fn sort(&self) -> Sort<<Self::Entity as EntityTrait>::Column>;
}

/// A film's sequels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct FilmScope;

impl Scope for FilmScope {
    type Entity = film::Entity;
    fn parent(&self) -> film::Column {
        film::Column::SequelOfId
    }
    fn condition(&self) -> Condition {
        Condition::all()
    }
    fn sort(&self) -> Sort<film::Column> {
        films::SEQUEL_SORT
    }
}

/// Whose credits: a film's or a person's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum CreditParent {
    Film,
    Person,
}

/// A film's or a person's credits, optionally of one role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct CreditScope {
    pub(crate) parent: CreditParent,
    pub(crate) role: Option<CreditRole>,
}

impl Scope for CreditScope {
    type Entity = credit::Entity;
    fn parent(&self) -> credit::Column {
        match self.parent {
            CreditParent::Film => credit::Column::FilmId,
            CreditParent::Person => credit::Column::PersonId,
        }
    }
    fn condition(&self) -> Condition {
        films::credit_condition(self.role)
    }
    fn sort(&self) -> Sort<credit::Column> {
        match self.parent {
            CreditParent::Film => films::CREDIT_SORT,
            CreditParent::Person => Sort { column: credit::Column::Id, direction: Direction::Asc, nullable: false },
        }
    }
}

/// Whose quotes: a film's or a person's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum QuoteParent {
    Film,
    Person,
}

/// The quotes of a film or person that a viewer may see.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct QuoteScope {
    pub(crate) parent: QuoteParent,
    pub(crate) viewer: Viewer,
}

impl Scope for QuoteScope {
    type Entity = quote::Entity;
    fn parent(&self) -> quote::Column {
        match self.parent {
            QuoteParent::Film => quote::Column::FilmId,
            QuoteParent::Person => quote::Column::PersonId,
        }
    }
    fn condition(&self) -> Condition {
        quotes::visible_to(&self.viewer)
    }
    fn sort(&self) -> Sort<quote::Column> {
        quotes::RELATION_SORT
    }
}

/// A film's events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct EventScope;

impl Scope for EventScope {
    type Entity = event::Entity;
    fn parent(&self) -> event::Column {
        event::Column::FilmId
    }
    fn condition(&self) -> Condition {
        Condition::all()
    }
    fn sort(&self) -> Sort<event::Column> {
        events::RELATION_SORT
    }
}

/// A film's petitions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct PetitionScope;

impl Scope for PetitionScope {
    type Entity = petition::Entity;
    fn parent(&self) -> petition::Column {
        petition::Column::FilmId
    }
    fn condition(&self) -> Condition {
        Condition::all()
    }
    fn sort(&self) -> Sort<petition::Column> {
        petitions::RELATION_SORT
    }
}

/// A petition's signatures: all of them (for counts) or only the public ones (for lists).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct SignatureScope {
    pub(crate) public_only: bool,
}

impl Scope for SignatureScope {
    type Entity = signature::Entity;
    fn parent(&self) -> signature::Column {
        signature::Column::PetitionId
    }
    fn condition(&self) -> Condition {
        if self.public_only { petitions::public_signatures() } else { Condition::all() }
    }
    fn sort(&self) -> Sort<signature::Column> {
        petitions::SIGNATURE_SORT
    }
}

/// A petition's updates, newest first: all of them for admins and moderators (`staff`), else only
/// those published by now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct PetitionUpdateScope {
    pub(crate) staff: bool,
}

impl Scope for PetitionUpdateScope {
    type Entity = petition_update::Entity;
    fn parent(&self) -> petition_update::Column {
        petition_update::Column::PetitionId
    }
    fn condition(&self) -> Condition {
        petition_updates::visible(self.staff)
    }
    fn sort(&self) -> Sort<petition_update::Column> {
        petition_updates::SORT
    }
}

/// An event's RSVPs that take a seat.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct RsvpScope;

impl Scope for RsvpScope {
    type Entity = rsvp::Entity;
    fn parent(&self) -> rsvp::Column {
        rsvp::Column::EventId
    }
    fn condition(&self) -> Condition {
        events::seat_condition()
    }
    fn sort(&self) -> Sort<rsvp::Column> {
        Sort { column: rsvp::Column::CreatedAt, direction: Direction::Asc, nullable: false }
    }
}

/// A user's own signatures, newest first (only ever built for the user themself).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct OwnSignatureScope;

impl Scope for OwnSignatureScope {
    type Entity = signature::Entity;
    fn parent(&self) -> signature::Column {
        signature::Column::UserId
    }
    fn condition(&self) -> Condition {
        Condition::all()
    }
    fn sort(&self) -> Sort<signature::Column> {
        users::OWN_SIGNATURE_SORT
    }
}

/// A user's own RSVPs, newest first (only ever built for the user themself).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct OwnRsvpScope;

impl Scope for OwnRsvpScope {
    type Entity = rsvp::Entity;
    fn parent(&self) -> rsvp::Column {
        rsvp::Column::UserId
    }
    fn condition(&self) -> Condition {
        Condition::all()
    }
    fn sort(&self) -> Sort<rsvp::Column> {
        users::OWN_RSVP_SORT
    }
}

/// The quotes a user submitted, whatever their status, newest first (only ever built for the
/// user themself, who may see their own pending and rejected quotes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct OwnQuoteScope;

impl Scope for OwnQuoteScope {
    type Entity = quote::Entity;
    fn parent(&self) -> quote::Column {
        quote::Column::SubmittedById
    }
    fn condition(&self) -> Condition {
        Condition::all()
    }
    fn sort(&self) -> Sort<quote::Column> {
        users::OWN_QUOTE_SORT
    }
}
