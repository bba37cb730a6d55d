//! The output side of a plan: what each response key is made of, and how the JSON rows the
//! database built become the GraphQL value async-graphql would have resolved — the same global IDs,
//! scalars, cursors and page flags, key by key.

use async_graphql::indexmap::IndexMap;
use async_graphql::{Name, Number, Value};
use chrono::{NaiveDate, SecondsFormat};
use entity::enums::PetitionStatus;
use sea_orm::ActiveEnum;
use serde_json::Value as Json;

use crate::domain::paging::{CursorShape, PageRequest, stored_instant};
use crate::domain::{self, petitions, sources};

use super::super::connection::PageInfoRead;
use super::super::ids::global_id_text;
use super::super::sources::SourceArticleRead;

/// The response keys of one object, in document order (a key may repeat: async-graphql resolves
/// every occurrence and merges them, and so does `object`).
pub(super) type Fields<T> = Vec<(Name, T)>;

/// How a stored value becomes a GraphQL scalar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Conv {
    /// Text, as stored.
    Text,
    /// A 32- or 64-bit integer (`Int`, `Money`), as stored.
    Int,
    /// A count stored as a signed integer, shown as `u64` (negative reads as 0).
    Count,
    /// `Date`.
    Date,
    /// `DateTime`, in UTC.
    DateTime,
    /// An enum stored under its GraphQL name.
    Enum,
}

/// One response key of an object row.
#[derive(Debug)]
pub(super) enum Out {
    /// `__typename`.
    Const(&'static str),
    /// The global ID of the row.
    Id { slot: usize, type_name: &'static str },
    /// A column.
    Scalar { slot: usize, conv: Conv },
    /// `Petition.progress`.
    Progress { count: usize, goal: usize },
    /// `Petition.status`: the stored status as it reads now (`petitions::effective_status`).
    PetitionStatus { status: usize, closes_at: usize },
    /// `Event.icsUrl`.
    IcsUrl { slug: usize },
    /// `sourceArticles`, from the stored column.
    Sources { slot: usize, fields: Fields<Leaf<SourceArticleRead>> },
    /// A related row (null when there is none).
    Object { slot: usize, fields: Fields<Out> },
    /// A page of related rows.
    Connection(Box<ConnectionOut>),
    /// Values side by side in a list (`nodes`).
    List(Vec<Out>),
}

/// A field of an object whose fields are all scalars (`PageInfo`, `SourceArticle`).
#[derive(Debug)]
pub(super) enum Leaf<T> {
    /// `__typename`.
    Typename,
    /// A field, as the type's read declaration names it.
    Field(T),
}

/// A connection: its rows (each `[sort value, id, slots…]`), its page and what is asked of it.
#[derive(Debug)]
pub(super) struct ConnectionOut {
    pub(crate) rows: usize,
    pub(crate) page: PageRequest,
    pub(crate) cursor: CursorShape,
    pub(crate) fields: Fields<ConnectionField>,
}

/// A field of an `XConnection`.
#[derive(Debug)]
pub(super) enum ConnectionField {
    Typename(String),
    Edges(Fields<EdgeField>),
    Nodes(Fields<Out>),
    PageInfo(Fields<Leaf<PageInfoRead>>),
    /// `totalCount`, from a slot of the parent row.
    TotalCount(usize),
    /// `aggregate` or `groupedAggregates`, from a slot of the parent row.
    Aggregate(usize, super::aggregate::AggregateOut),
}

impl ConnectionField {
    /// Whether the field shows cursors (so the rows must carry their sort values).
    pub(super) fn needs_cursors(&self) -> bool {
        match self {
            ConnectionField::Edges(fields) => fields.iter().any(|(_, field)| matches!(field, EdgeField::Cursor)),
            ConnectionField::PageInfo(fields) => fields
                .iter()
                .any(|(_, field)| matches!(field, Leaf::Field(PageInfoRead::StartCursor | PageInfoRead::EndCursor))),
            ConnectionField::Typename(_)
            | ConnectionField::Nodes(_)
            | ConnectionField::TotalCount(_)
            | ConnectionField::Aggregate(..) => false,
        }
    }
}

/// A field of an `XEdge`.
#[derive(Debug)]
pub(super) enum EdgeField {
    Typename(String),
    Cursor,
    Node(Fields<Out>),
}

/// Where in a connection row the cursor's parts sit; the fields' slots follow.
pub(super) const SORT_SLOT: usize = 0;
pub(super) const ID_SLOT: usize = 1;

/// The object of `fields` over one row (an empty object when no field applies).
pub(super) fn object(fields: &Fields<Out>, row: &[Json]) -> Value {
    let mut map = IndexMap::with_capacity(fields.len());
    for (key, out) in fields {
        insert_value(&mut map, key.clone(), out.value(row));
    }
    finish(map)
}

fn finish(map: IndexMap<Name, Value>) -> Value {
    Value::Object(map)
}

/// Merges one resolved occurrence of a key into an object, as async-graphql's container does.
fn insert_value(target: &mut IndexMap<Name, Value>, name: Name, value: Value) {
    if let Some(previous) = target.get_mut(&name) {
        if let Value::Object(target_map) = previous {
            if let Value::Object(object) = value {
                for (key, value) in object {
                    insert_value(target_map, key, value);
                }
            }
        } else if let Value::List(target_list) = previous
            && let Value::List(list) = value
        {
            for (index, value) in list.into_iter().enumerate() {
                if let Some(Value::Object(target_map)) = target_list.get_mut(index)
                    && let Value::Object(object) = value
                {
                    for (key, value) in object {
                        insert_value(target_map, key, value);
                    }
                }
            }
        }
    } else {
        target.insert(name, value);
    }
}

fn slot(row: &[Json], index: usize) -> &Json {
    row.get(index).unwrap_or(&Json::Null)
}

fn as_row(value: &Json) -> &[Json] {
    match value {
        Json::Array(items) => items,
        _ => &[],
    }
}

fn count(value: &Json) -> u64 {
    value.as_i64().and_then(|count| u64::try_from(count).ok()).unwrap_or(0)
}

impl Conv {
    /// The GraphQL value of a stored value.
    pub(super) fn value(self, stored: &Json) -> Value {
        match (self, stored) {
            (_, Json::Null) => Value::Null,
            (Conv::Text, Json::String(text)) => Value::String(text.clone()),
            (Conv::Int, Json::Number(number)) => Value::Number(number.clone()),
            (Conv::Count, _) => Value::Number(count(stored).into()),
            (Conv::Date, Json::String(text)) => NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .map_or(Value::Null, |date| Value::String(date.format("%Y-%m-%d").to_string())),
            (Conv::DateTime, Json::String(text)) => stored_instant(text)
                .map_or(Value::Null, |instant| Value::String(instant.to_rfc3339_opts(SecondsFormat::AutoSi, true))),
            (Conv::Enum, Json::String(text)) => Value::Enum(Name::new(text)),
            _ => Value::Null,
        }
    }
}

impl Out {
    fn value(&self, row: &[Json]) -> Value {
        match self {
            Out::Const(text) => Value::String((*text).to_owned()),
            Out::Id { slot: index, type_name } => match slot(row, *index).as_i64() {
                Some(id) => Value::String(global_id_text(type_name, id)),
                None => Value::Null,
            },
            Out::Scalar { slot: index, conv } => conv.value(slot(row, *index)),
            Out::Progress { count: count_slot, goal } => {
                let goal = slot(row, *goal).as_i64().unwrap_or(0);
                Number::from_f64(petitions::progress(count(slot(row, *count_slot)), goal))
                    .map_or(Value::Null, Value::Number)
            }
            Out::PetitionStatus { status, closes_at } => match slot(row, *status) {
                Json::String(stored) => {
                    let closes_at = slot(row, *closes_at).as_str().and_then(stored_instant);
                    let name = match PetitionStatus::try_from_value(stored) {
                        Ok(stored) => petitions::effective_status(stored, closes_at, domain::now()).to_value(),
                        // A value the enum does not know shows as stored, as any enum column does.
                        Err(_) => stored.clone(),
                    };
                    Value::Enum(Name::new(name))
                }
                _ => Value::Null,
            },
            Out::IcsUrl { slug } => match slot(row, *slug) {
                Json::String(slug) => Value::String(format!("/events/{slug}.ics")),
                _ => Value::Null,
            },
            Out::Sources { slot: index, fields } => {
                let stored = slot(row, *index).as_str();
                Value::List(
                    sources::decode(stored)
                        .into_iter()
                        .map(|article| {
                            let mut map = IndexMap::new();
                            for (key, field) in fields {
                                let value = match field {
                                    Leaf::Typename => Value::String("SourceArticle".to_owned()),
                                    Leaf::Field(SourceArticleRead::Publication) => {
                                        article.publication.clone().map_or(Value::Null, Value::String)
                                    }
                                    Leaf::Field(SourceArticleRead::Headline) => {
                                        article.headline.clone().map_or(Value::Null, Value::String)
                                    }
                                };
                                insert_value(&mut map, key.clone(), value);
                            }
                            finish(map)
                        })
                        .collect(),
                )
            }
            Out::Object { slot: index, fields } => match slot(row, *index) {
                Json::Array(items) => object(fields, items),
                _ => Value::Null,
            },
            Out::Connection(connection) => connection.value(row),
            Out::List(items) => Value::List(items.iter().map(|item| item.value(row)).collect()),
        }
    }
}

/// A page of rows as `Connection::new` makes it from what the loaders read.
struct PageRows<'a> {
    rows: Vec<&'a [Json]>,
    has_next_page: bool,
    has_previous_page: bool,
}

impl ConnectionOut {
    fn page_rows<'a>(&self, read: &'a Json) -> PageRows<'a> {
        let limit = usize::try_from(self.page.limit()).unwrap_or(usize::MAX);
        if limit == 0 {
            return PageRows { rows: Vec::new(), has_next_page: false, has_previous_page: false };
        }
        let mut rows: Vec<&[Json]> = match read {
            Json::Array(rows) => rows.iter().map(as_row).collect(),
            _ => Vec::new(),
        };
        let more = rows.len() > limit;
        rows.truncate(limit);
        if self.page.is_from_end() {
            rows.reverse();
            PageRows { rows, has_previous_page: more, has_next_page: self.page.has_before() }
        } else {
            PageRows { rows, has_next_page: more, has_previous_page: self.page.has_after() }
        }
    }

    fn cursor(&self, row: &[Json]) -> Value {
        Value::String(self.cursor.encode(slot(row, SORT_SLOT), slot(row, ID_SLOT).as_i64().unwrap_or(0)))
    }

    fn value(&self, parent: &[Json]) -> Value {
        let page = self.page_rows(slot(parent, self.rows));
        let mut map = IndexMap::with_capacity(self.fields.len());
        for (key, field) in &self.fields {
            let value = match field {
                ConnectionField::Typename(name) => Value::String(name.clone()),
                ConnectionField::TotalCount(index) => Value::Number(count(slot(parent, *index)).into()),
                ConnectionField::Aggregate(index, out) => out.value(slot(parent, *index)),
                ConnectionField::Nodes(fields) => {
                    Value::List(page.rows.iter().map(|row| object(fields, row)).collect())
                }
                ConnectionField::Edges(edge_fields) => Value::List(
                    page.rows
                        .iter()
                        .map(|row| {
                            let mut edge = IndexMap::with_capacity(edge_fields.len());
                            for (key, field) in edge_fields {
                                let value = match field {
                                    EdgeField::Typename(name) => Value::String(name.clone()),
                                    EdgeField::Cursor => self.cursor(row),
                                    EdgeField::Node(fields) => object(fields, row),
                                };
                                insert_value(&mut edge, key.clone(), value);
                            }
                            finish(edge)
                        })
                        .collect(),
                ),
                ConnectionField::PageInfo(page_fields) => {
                    let mut info = IndexMap::with_capacity(page_fields.len());
                    for (key, field) in page_fields {
                        let value = match field {
                            Leaf::Typename => Value::String("PageInfo".to_owned()),
                            Leaf::Field(PageInfoRead::HasNextPage) => Value::Boolean(page.has_next_page),
                            Leaf::Field(PageInfoRead::HasPreviousPage) => Value::Boolean(page.has_previous_page),
                            Leaf::Field(PageInfoRead::StartCursor) => {
                                page.rows.first().map_or(Value::Null, |row| self.cursor(row))
                            }
                            Leaf::Field(PageInfoRead::EndCursor) => {
                                page.rows.last().map_or(Value::Null, |row| self.cursor(row))
                            }
                        };
                        insert_value(&mut info, key.clone(), value);
                    }
                    finish(info)
                }
            };
            insert_value(&mut map, key.clone(), value);
        }
        finish(map)
    }
}

/// The value of a root field over its statement's root row.
pub(super) fn root_value(out: &Out, root: &[Json]) -> Value {
    out.value(root)
}
