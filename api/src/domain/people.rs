//! People: what the people lists filter and sort by.

use entity::{credit, person};
use sea_orm::sea_query::Query;
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter};

use super::DomainResult;
use super::paging::{Direction, Sort};
use super::text::contains_ignoring_case;

/// What a people list may be narrowed to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct PersonFilter {
    pub name_contains: Option<String>,
    /// Only people credited on this film.
    pub film_id: Option<i64>,
}

impl PersonFilter {
    /// The filter as a WHERE condition.
    pub fn condition(&self) -> Condition {
        let mut condition = Condition::all();
        if let Some(name) = &self.name_contains {
            condition = condition.add(contains_ignoring_case(person::Column::Name, name));
        }
        if let Some(film_id) = self.film_id {
            condition = condition.add(
                person::Column::Id.in_subquery(
                    Query::select()
                        .column(credit::Column::PersonId)
                        .from(credit::Entity)
                        .and_where(credit::Column::FilmId.eq(film_id))
                        .to_owned(),
                ),
            );
        }
        condition
    }
}

/// The keys a people list can be sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PersonOrderField {
    Name,
    BirthDate,
    CreatedAt,
}

/// The sort of a people list.
pub fn sort(field: PersonOrderField, direction: Direction) -> Sort<person::Column> {
    let (column, nullable) = match field {
        PersonOrderField::Name => (person::Column::Name, false),
        PersonOrderField::BirthDate => (person::Column::BirthDate, true),
        PersonOrderField::CreatedAt => (person::Column::CreatedAt, false),
    };
    Sort {
        column,
        direction,
        nullable,
    }
}

/// The person with this slug, if any.
pub async fn by_slug<D: ConnectionTrait>(db: &D, slug: &str) -> DomainResult<Option<person::Model>> {
    Ok(person::Entity::find()
        .filter(person::Column::Slug.eq(slug))
        .one(db)
        .await?)
}
