//! The planning walk: one root field's selection, type by type, into the SQL of one statement and
//! the `Out` tree that turns its JSON into the response. Anything the walk does not know (a field
//! it has no column for, a viewer-specific field, an argument it cannot read) makes it give up on
//! the whole root field, which then resolves as before.

use std::collections::{BTreeSet, HashMap};

use async_graphql::parser::types::{Field, Selection, SelectionSet};
use async_graphql::registry::Registry;
use async_graphql::{InputType, Name, Value};
use entity::{credit, event, film, person, petition, quote};
use sea_orm::sea_query::Expr;
use sea_orm::{DatabaseBackend, EntityName, EntityTrait, IdenStatic, QueryFilter, QuerySelect, QueryTrait, Select};

use crate::domain::Viewer;
use crate::domain::paging::{self, CursorShape, PageRequest, Sort};
use crate::loaders::{
    CreditParent, CreditScope, EventScope, FilmScope, Keyed, PetitionScope, QuoteParent, QuoteScope, Scope,
};

use super::super::scalars::CreditRole;
use super::shape::{
    ConnectionField, ConnectionOut, Conv, EdgeField, Fields, ID_SLOT, Out, PageField, SORT_SLOT, SourceField,
};
use super::sql::{self, Sql};

/// The object types the planner reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ty {
    Film,
    Person,
    Credit,
    Quote,
    Event,
    Petition,
}

impl Ty {
    /// The GraphQL type name.
    pub fn name(self) -> &'static str {
        match self {
            Ty::Film => "Film",
            Ty::Person => "Person",
            Ty::Credit => "Credit",
            Ty::Quote => "Quote",
            Ty::Event => "Event",
            Ty::Petition => "Petition",
        }
    }
}

/// The most values one row may carry: PostgreSQL functions take at most 100 arguments.
const MAX_SLOTS: usize = 100;

/// A row being planned: the values its fields need, each once, in slot order.
struct Row {
    alias: String,
    slots: Vec<Sql>,
    columns: HashMap<&'static str, usize>,
    /// Every column of this row the statement reads (slots, sort, and the keys nested rows
    /// follow), so the row's subquery selects only those.
    used: BTreeSet<&'static str>,
}

impl Row {
    fn new(alias: String, first_slots: Vec<Sql>) -> Self {
        Self { alias, slots: first_slots, columns: HashMap::new(), used: BTreeSet::from(["id"]) }
    }

    /// The slot of a column of this row, added on first use.
    fn column(&mut self, column: &'static str) -> usize {
        if let Some(slot) = self.columns.get(column) {
            return *slot;
        }
        self.used.insert(column);
        let slot = self.push(Sql::raw(format!("\"{}\".\"{column}\"", self.alias)));
        self.columns.insert(column, slot);
        slot
    }

    fn push(&mut self, sql: Sql) -> usize {
        self.slots.push(sql);
        self.slots.len() - 1
    }
}

/// How to find the rows of a relation or a root field.
pub enum Rows<E: EntityTrait> {
    /// At most one row (a lookup, or a related row by its key).
    One(Select<E>),
    /// A page of rows.
    Page { select: Select<E>, sort: Sort<E::Column>, page: PageRequest },
}

/// Plans one root field.
pub struct Walk<'a> {
    backend: DatabaseBackend,
    viewer: Viewer,
    env: &'a async_graphql::context::QueryEnv,
    registry: &'a Registry,
    aliases: usize,
}

/// A planned root field: its statement's root row and how to shape it.
pub struct Planned {
    pub root: Sql,
    pub out: Out,
}

impl<'a> Walk<'a> {
    /// A walk over the document of `env`, for `viewer`.
    pub fn new(
        backend: DatabaseBackend,
        viewer: Viewer,
        env: &'a async_graphql::context::QueryEnv,
        registry: &'a Registry,
    ) -> Self {
        Self { backend, viewer, env, registry, aliases: 0 }
    }

    /// Plans a root field that returns `ty` rows found by `rows`.
    pub fn root(mut self, ty: Ty, field: &'a Field, rows: RootRows) -> Option<Planned> {
        let mut root = Row::new(String::new(), Vec::new());
        let out = self.root_rows(ty, field, rows, &mut root)?;
        Some(Planned { root: sql::array(self.backend, root.slots), out })
    }

    /// Plans a root field that returns a list of lookups (`nodes`), each its own row.
    pub fn roots(mut self, field: &'a Field, lookups: Vec<(Ty, RootRows)>) -> Option<Planned> {
        let mut root = Row::new(String::new(), Vec::new());
        let mut items = Vec::with_capacity(lookups.len());
        for (ty, rows) in lookups {
            items.push(self.root_rows(ty, field, rows, &mut root)?);
        }
        if root.slots.len() > MAX_SLOTS {
            return None;
        }
        Some(Planned { root: sql::array(self.backend, root.slots), out: Out::List(items) })
    }

    fn root_rows(&mut self, ty: Ty, field: &'a Field, rows: RootRows, root: &mut Row) -> Option<Out> {
        match rows {
            RootRows::Film(rows) => self.relation(ty, field, rows, root),
            RootRows::Person(rows) => self.relation(ty, field, rows, root),
            RootRows::Credit(rows) => self.relation(ty, field, rows, root),
            RootRows::Quote(rows) => self.relation(ty, field, rows, root),
            RootRows::Event(rows) => self.relation(ty, field, rows, root),
            RootRows::Petition(rows) => self.relation(ty, field, rows, root),
        }
    }

    fn alias(&mut self) -> String {
        self.aliases += 1;
        format!("p{}", self.aliases)
    }

    /// The fields of `set` that apply to `type_name`, in document order, through fragments at any
    /// depth: a fragment applies when it names the type, an interface it implements or a union it
    /// belongs to. `None` when the document names a fragment it lacks.
    fn collect(&self, set: &'a SelectionSet, type_name: &str, fields: &mut Vec<&'a Field>) -> Option<()> {
        for selection in &set.items {
            let (condition, inner) = match &selection.node {
                Selection::Field(field) => {
                    if !field.node.directives.is_empty() {
                        return None;
                    }
                    fields.push(&field.node);
                    continue;
                }
                Selection::FragmentSpread(spread) => {
                    let fragment = self.env.fragments.get(&spread.node.fragment_name.node)?;
                    (Some(fragment.node.type_condition.node.on.node.as_str()), &fragment.node.selection_set.node)
                }
                Selection::InlineFragment(inline) => (
                    inline.node.type_condition.as_ref().map(|condition| condition.node.on.node.as_str()),
                    &inline.node.selection_set.node,
                ),
            };
            let applies = condition.is_none_or(|on| {
                on == type_name || self.registry.types.get(on).is_some_and(|ty| ty.is_possible_type(type_name))
            });
            if applies {
                self.collect(inner, type_name, fields)?;
            }
        }
        Some(())
    }

    /// The value of an argument, variables filled in; null when it is not given.
    fn argument<T: InputType>(&self, field: &Field, name: &str) -> Option<T> {
        let value = match field.get_argument(name) {
            Some(value) => Some(value.node.clone().into_const_with(|variable| self.variable(&variable)).ok()?),
            None => None,
        };
        T::parse(value).ok()
    }

    fn variable(&self, name: &Name) -> Result<Value, ()> {
        let definition = self.env.operation.node.variable_definitions.iter().find(|def| def.node.name.node == *name);
        definition
            .and_then(|def| self.env.variables.get(&def.node.name.node).or_else(|| def.node.default_value()))
            .cloned()
            .ok_or(())
    }

    fn page(&self, field: &Field) -> Option<PageRequest> {
        let first = self.argument::<Option<i32>>(field, "first")?;
        let after = self.argument::<Option<String>>(field, "after")?;
        let last = self.argument::<Option<i32>>(field, "last")?;
        let before = self.argument::<Option<String>>(field, "before")?;
        PageRequest::new(first, after.as_deref(), last, before.as_deref()).ok()
    }

    /// Plans the rows of a relation (or root field) into a slot of `parent`.
    fn relation<E: Keyed>(&mut self, ty: Ty, field: &'a Field, rows: Rows<E>, parent: &mut Row) -> Option<Out> {
        match rows {
            Rows::One(select) => {
                let alias = self.alias();
                let mut row = Row::new(alias.clone(), Vec::new());
                let fields = self.object(ty, &field.selection_set.node, &mut row)?;
                if row.slots.len() > MAX_SLOTS {
                    return None;
                }
                let mut sub = Sql::raw("SELECT ");
                sub.append(sql::array(self.backend, row.slots));
                sub.push(" FROM (");
                sub.append(Sql::select(self.backend, &only(select, &row.used).into_query()));
                sub.push(&format!(") AS \"{alias}\""));
                let slot = parent.push(sql::nested(self.backend, sub));
                Some(Out::Object { slot, fields })
            }
            Rows::Page { select, sort, page } => {
                let alias = self.alias();
                let first = vec![
                    Sql::raw(format!("\"{alias}\".\"{}\"", sort.column.as_str())),
                    Sql::raw(format!("\"{alias}\".\"id\"")),
                ];
                debug_assert!(first.len() == ID_SLOT + 1 && SORT_SLOT == 0);
                let mut row = Row::new(alias.clone(), first);
                // The id slot serves the cursor and any `id` field alike.
                row.columns.insert("id", ID_SLOT);
                let count_select = select.clone();
                let fields = self.connection(ty, &field.selection_set.node, &mut row, parent, count_select)?;
                if row.slots.len() > MAX_SLOTS {
                    return None;
                }
                if !fields.iter().any(|(_, field)| field.needs_cursors()) {
                    row.slots[SORT_SLOT] = Sql::raw("NULL");
                }
                row.used.insert(sort.column.as_str());
                let select = only(select, &row.used);
                let rows_slot = match paging::page_select(select, sort, E::ID, &page).ok()? {
                    None => parent.push(sql::empty_array(self.backend)),
                    Some(select) => {
                        let order = paging::read_order_sql(sort, E::ID, &page, &alias);
                        let mut sub = Sql::raw("SELECT ");
                        sub.append(sql::aggregate(self.backend, sql::array(self.backend, row.slots), &order));
                        sub.push(" FROM (");
                        sub.append(Sql::select(self.backend, &select.into_query()));
                        sub.push(&format!(") AS \"{alias}\""));
                        parent.push(sql::nested(self.backend, sub))
                    }
                };
                let cursor = CursorShape::of(sort);
                Some(Out::Connection(Box::new(ConnectionOut { rows: rows_slot, page, cursor, fields })))
            }
        }
    }

    /// The fields of an `XConnection`; `totalCount` adds a count of `count_select` to `parent`.
    fn connection<E: EntityTrait>(
        &mut self,
        ty: Ty,
        set: &'a SelectionSet,
        row: &mut Row,
        parent: &mut Row,
        count_select: Select<E>,
    ) -> Option<Fields<ConnectionField>> {
        let connection_name = format!("{}Connection", ty.name());
        let edge_name = format!("{}Edge", ty.name());
        let mut fields = Vec::new();
        self.collect(set, &connection_name, &mut fields)?;
        let mut planned = Vec::with_capacity(fields.len());
        let mut total_slot = None;
        for field in fields {
            let key = field.response_key().node.clone();
            let value = match field.name.node.as_str() {
                "__typename" => ConnectionField::Typename(connection_name.clone()),
                "totalCount" => {
                    let slot = match total_slot {
                        Some(slot) => slot,
                        None => {
                            let count = count_select.clone().select_only().expr(Expr::cust("COUNT(*)")).into_query();
                            let mut sub = Sql::raw("(");
                            sub.append(Sql::select(self.backend, &count));
                            sub.push(")");
                            let slot = parent.push(sub);
                            total_slot = Some(slot);
                            slot
                        }
                    };
                    ConnectionField::TotalCount(slot)
                }
                "nodes" => ConnectionField::Nodes(self.object(ty, &field.selection_set.node, row)?),
                "pageInfo" => ConnectionField::PageInfo(self.leaves(field, "PageInfo", |name| match name {
                    "__typename" => Some(PageField::Typename),
                    "hasNextPage" => Some(PageField::HasNextPage),
                    "hasPreviousPage" => Some(PageField::HasPreviousPage),
                    "startCursor" => Some(PageField::StartCursor),
                    "endCursor" => Some(PageField::EndCursor),
                    _ => None,
                })?),
                "edges" => {
                    let mut edge_fields = Vec::new();
                    self.collect(&field.selection_set.node, &edge_name, &mut edge_fields)?;
                    let mut out = Vec::with_capacity(edge_fields.len());
                    for edge_field in edge_fields {
                        let value = match edge_field.name.node.as_str() {
                            "__typename" => EdgeField::Typename(edge_name.clone()),
                            "cursor" => EdgeField::Cursor,
                            "node" => EdgeField::Node(self.object(ty, &edge_field.selection_set.node, row)?),
                            _ => return None,
                        };
                        out.push((edge_field.response_key().node.clone(), value));
                    }
                    ConnectionField::Edges(out)
                }
                _ => return None,
            };
            planned.push((key, value));
        }
        Some(planned)
    }

    /// The fields of one object of type `ty` over `row`.
    fn object(&mut self, ty: Ty, set: &'a SelectionSet, row: &mut Row) -> Option<Fields<Out>> {
        let mut fields = Vec::new();
        self.collect(set, ty.name(), &mut fields)?;
        let mut planned = Vec::with_capacity(fields.len());
        for field in fields {
            let out = self.field(ty, field, row)?;
            planned.push((field.response_key().node.clone(), out));
        }
        Some(planned)
    }

    fn scalar(row: &mut Row, column: &'static str, conv: Conv) -> Out {
        Out::Scalar { slot: row.column(column), conv }
    }

    /// The related row whose id is in `key_column` of `row`.
    fn related<E: Keyed>(&mut self, ty: Ty, field: &'a Field, row: &mut Row, key_column: &'static str) -> Option<Out> {
        let table = E::default().table_name().to_owned();
        row.used.insert(key_column);
        let select = E::find().filter(Expr::cust(format!("\"{table}\".\"id\" = \"{}\".\"{key_column}\"", row.alias)));
        self.relation(ty, field, Rows::One(select), row)
    }

    /// The page of children of `row` in `scope`.
    fn children<S: Scope>(&mut self, ty: Ty, field: &'a Field, row: &mut Row, scope: S) -> Option<Out> {
        let page = self.page(field)?;
        let table = S::Entity::default().table_name().to_owned();
        let select = S::Entity::find().filter(scope.condition()).filter(Expr::cust(format!(
            "\"{table}\".\"{}\" = \"{}\".\"id\"",
            scope.parent().as_str(),
            row.alias
        )));
        self.relation(ty, field, Rows::Page { select, sort: scope.sort(), page }, row)
    }

    /// The fields of an object whose fields are all scalars (`PageInfo`, `SourceArticle`), each
    /// read by `leaf`; `None` when one is not.
    fn leaves<T>(&self, field: &'a Field, type_name: &str, leaf: impl Fn(&str) -> Option<T>) -> Option<Fields<T>> {
        let mut fields = Vec::new();
        self.collect(&field.selection_set.node, type_name, &mut fields)?;
        fields
            .into_iter()
            .map(|inner| Some((inner.response_key().node.clone(), leaf(inner.name.node.as_str())?)))
            .collect()
    }

    fn sources(&self, field: &'a Field, row: &mut Row) -> Option<Out> {
        let fields = self.leaves(field, "SourceArticle", |name| match name {
            "__typename" => Some(SourceField::Typename),
            "publication" => Some(SourceField::Publication),
            "headline" => Some(SourceField::Headline),
            _ => None,
        })?;
        Some(Out::Sources { slot: row.column("source_articles"), fields })
    }

    /// One field of `ty`; `None` for a field the planner does not read.
    fn field(&mut self, ty: Ty, field: &'a Field, row: &mut Row) -> Option<Out> {
        use Conv::{Count, Date, DateTime, Enum, Int, Text};
        let name = field.name.node.as_str();
        let simple = |row: &mut Row, column, conv| Some(Self::scalar(row, column, conv));
        match (ty, name) {
            (_, "__typename") => Some(Out::Const(ty.name())),
            (_, "id") => Some(Out::Id { slot: row.column("id"), type_name: ty.name() }),
            (_, "sourceArticles") if ty != Ty::Credit => self.sources(field, row),
            (Ty::Film, "slug") => simple(row, "slug", Text),
            (Ty::Film, "title") => simple(row, "title", Text),
            (Ty::Film, "tagline") => simple(row, "tagline", Text),
            (Ty::Film, "synopsis") => simple(row, "synopsis", Text),
            (Ty::Film, "releaseDate") => simple(row, "release_date", Date),
            (Ty::Film, "runtimeMinutes") => simple(row, "runtime_minutes", Int),
            (Ty::Film, "status") => simple(row, "status", Enum),
            (Ty::Film, "budgetUsd") => simple(row, "budget_usd", Int),
            (Ty::Film, "boxOfficeUsd") => simple(row, "box_office_usd", Int),
            (Ty::Film, "distributor") => simple(row, "distributor", Text),
            (Ty::Film, "posterUrl") => simple(row, "poster_url", Text),
            (Ty::Film, "createdAt") => simple(row, "created_at", DateTime),
            (Ty::Film, "updatedAt") => simple(row, "updated_at", DateTime),
            (Ty::Film, "sequelOf") => self.related::<film::Entity>(Ty::Film, field, row, "sequel_of_id"),
            (Ty::Film, "sequels") => self.children(Ty::Film, field, row, FilmScope),
            (Ty::Film, "credits") => {
                let role = self.argument::<Option<CreditRole>>(field, "role")?;
                let scope = CreditScope { parent: CreditParent::Film, role: role.map(Into::into) };
                self.children(Ty::Credit, field, row, scope)
            }
            (Ty::Film, "quotes") => {
                let scope = QuoteScope { parent: QuoteParent::Film, viewer: self.viewer };
                self.children(Ty::Quote, field, row, scope)
            }
            (Ty::Film, "events") => self.children(Ty::Event, field, row, EventScope),
            (Ty::Film, "petitions") => self.children(Ty::Petition, field, row, PetitionScope),
            (Ty::Person, "slug") => simple(row, "slug", Text),
            (Ty::Person, "name") => simple(row, "name", Text),
            (Ty::Person, "bio") => simple(row, "bio", Text),
            (Ty::Person, "birthDate") => simple(row, "birth_date", Date),
            (Ty::Person, "photoUrl") => simple(row, "photo_url", Text),
            (Ty::Person, "credits") => {
                let role = self.argument::<Option<CreditRole>>(field, "role")?;
                let scope = CreditScope { parent: CreditParent::Person, role: role.map(Into::into) };
                self.children(Ty::Credit, field, row, scope)
            }
            (Ty::Person, "quotes") => {
                let scope = QuoteScope { parent: QuoteParent::Person, viewer: self.viewer };
                self.children(Ty::Quote, field, row, scope)
            }
            (Ty::Credit, "film") => self.related::<film::Entity>(Ty::Film, field, row, "film_id"),
            (Ty::Credit, "person") => self.related::<person::Entity>(Ty::Person, field, row, "person_id"),
            (Ty::Credit, "role") => simple(row, "role", Enum),
            (Ty::Credit, "character") => simple(row, "character", Text),
            (Ty::Credit, "billingOrder") => simple(row, "billing_order", Int),
            (Ty::Quote, "text") => simple(row, "text", Text),
            (Ty::Quote, "person") => self.related::<person::Entity>(Ty::Person, field, row, "person_id"),
            (Ty::Quote, "film") => self.related::<film::Entity>(Ty::Film, field, row, "film_id"),
            (Ty::Quote, "source") => simple(row, "source", Text),
            (Ty::Quote, "sourceUrl") => simple(row, "source_url", Text),
            (Ty::Quote, "saidOn") => simple(row, "said_on", Date),
            (Ty::Quote, "context") => simple(row, "context", Text),
            (Ty::Quote, "status") => simple(row, "status", Enum),
            (Ty::Quote, "createdAt") => simple(row, "created_at", DateTime),
            (Ty::Event, "slug") => simple(row, "slug", Text),
            (Ty::Event, "kind") => simple(row, "kind", Enum),
            (Ty::Event, "title") => simple(row, "title", Text),
            (Ty::Event, "description") => simple(row, "description", Text),
            (Ty::Event, "film") => self.related::<film::Entity>(Ty::Film, field, row, "film_id"),
            (Ty::Event, "startsAt") => simple(row, "starts_at", DateTime),
            (Ty::Event, "endsAt") => simple(row, "ends_at", DateTime),
            (Ty::Event, "timeZone") => simple(row, "time_zone", Text),
            (Ty::Event, "venue") => simple(row, "venue", Text),
            (Ty::Event, "city") => simple(row, "city", Text),
            (Ty::Event, "country") => simple(row, "country", Text),
            (Ty::Event, "onlineUrl") => simple(row, "online_url", Text),
            (Ty::Event, "hashtag") => simple(row, "hashtag", Text),
            (Ty::Event, "imageUrl") => simple(row, "image_url", Text),
            (Ty::Event, "capacity") => simple(row, "capacity", Int),
            (Ty::Event, "rsvpCount") => simple(row, "going_count", Count),
            (Ty::Event, "icsUrl") => Some(Out::IcsUrl { slug: row.column("slug") }),
            (Ty::Petition, "slug") => simple(row, "slug", Text),
            (Ty::Petition, "title") => simple(row, "title", Text),
            (Ty::Petition, "body") => simple(row, "body", Text),
            (Ty::Petition, "target") => simple(row, "target", Text),
            (Ty::Petition, "goal") => simple(row, "goal", Count),
            (Ty::Petition, "status") => {
                Some(Out::PetitionStatus { status: row.column("status"), closes_at: row.column("closes_at") })
            }
            (Ty::Petition, "film") => self.related::<film::Entity>(Ty::Film, field, row, "film_id"),
            (Ty::Petition, "closesAt") => simple(row, "closes_at", DateTime),
            (Ty::Petition, "imageUrl") => simple(row, "image_url", Text),
            (Ty::Petition, "createdAt") => simple(row, "created_at", DateTime),
            (Ty::Petition, "signatureCount") => simple(row, "signature_count", Count),
            (Ty::Petition, "progress") => {
                Some(Out::Progress { count: row.column("signature_count"), goal: row.column("goal") })
            }
            _ => None,
        }
    }
}

/// `select` narrowed to the columns a planned row reads.
fn only<E: EntityTrait>(select: Select<E>, columns: &BTreeSet<&'static str>) -> Select<E> {
    let table = E::default().table_name().to_owned();
    columns.iter().fold(select.select_only(), |select, column| {
        select.column_as(Expr::cust(format!("\"{table}\".\"{column}\"")), *column)
    })
}

/// The rows of `ty` with the given id, for a lookup.
pub fn by_id(ty: Ty, id: i64, viewer: &Viewer) -> RootRows {
    match ty {
        Ty::Film => RootRows::Film(Rows::One(film::Entity::find_by_id(id))),
        Ty::Person => RootRows::Person(Rows::One(person::Entity::find_by_id(id))),
        Ty::Credit => RootRows::Credit(Rows::One(credit::Entity::find_by_id(id))),
        Ty::Quote => {
            RootRows::Quote(Rows::One(quote::Entity::find_by_id(id).filter(crate::domain::quotes::visible_to(viewer))))
        }
        Ty::Event => RootRows::Event(Rows::One(event::Entity::find_by_id(id))),
        Ty::Petition => RootRows::Petition(Rows::One(petition::Entity::find_by_id(id))),
    }
}

/// The rows a root field reads, by entity.
pub enum RootRows {
    Film(Rows<film::Entity>),
    Person(Rows<person::Entity>),
    Credit(Rows<credit::Entity>),
    Quote(Rows<quote::Entity>),
    Event(Rows<event::Entity>),
    Petition(Rows<petition::Entity>),
}

macro_rules! root_rows_from {
    ($($variant:ident => $module:ident),*) => {
        $(impl From<Rows<$module::Entity>> for RootRows {
            fn from(rows: Rows<$module::Entity>) -> Self {
                RootRows::$variant(rows)
            }
        })*
    };
}
root_rows_from!(Film => film, Person => person, Credit => credit, Quote => quote, Event => event, Petition => petition);
