//! The planning walk: one root field's selection, type by type, into the SQL of one statement and
//! the `Out` tree that turns its JSON into the response. Every field is read as its type's read
//! declaration (`reads`) says; a field declared as left to the resolvers, or an argument the walk
//! cannot read, makes it give up on the whole root field, which then resolves as before.

use std::collections::{BTreeSet, HashMap};

use async_graphql::parser::Positioned;
use async_graphql::parser::types::{Directive, Field, Selection, SelectionSet};
use async_graphql::registry::Registry;
use async_graphql::{InputType, Name, Value};
use entity::{credit, event, film, person, petition, quote};
use sea_orm::sea_query::Expr;
use sea_orm::{
    Condition, DatabaseBackend, EntityName, EntityTrait, IdenStatic, QueryFilter, QuerySelect, QueryTrait, Select,
};

use crate::domain::Viewer;
use crate::domain::paging::{self, CursorShape, ListOrder, PageRequest, Sort};
use crate::domain::where_filter::Compiler;
use crate::loaders::{CreditScope, EventScope, FilmScope, Keyed, PetitionScope, QuoteScope, Scope};

use super::super::aggregates;
use super::super::connection::{CONNECTION_READS, ConnectionRead, EDGE_READS, EdgeRead, PAGE_INFO_READS};
use super::super::ids::NodeType;
use super::super::scalars::CreditRole;
use super::super::sources::{SOURCE_ARTICLE_READS, SourceArticleRead};
use super::super::where_inputs::{Where, compile};
use super::super::where_types::{CreditWhere, EventWhere, FilmWhere, PetitionWhere, QuoteWhere};
use super::reads::{Children, Derived, PAGE_ARGUMENTS, ROLE_ARGUMENT, Read, Reads, TYPENAME, WHERE_ARGUMENT};
use super::shape::{ConnectionField, ConnectionOut, EdgeField, Fields, ID_SLOT, Leaf, Out, SORT_SLOT};
use super::sql::{self, Sql};

/// The most values one row may carry: PostgreSQL functions take at most 100 arguments.
const MAX_SLOTS: usize = 100;

/// The key column of every table the planner reads (a column, not a GraphQL field).
const ID_COLUMN: &str = "id";

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
        Self { alias, slots: first_slots, columns: HashMap::new(), used: BTreeSet::from([ID_COLUMN]) }
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
pub(crate) enum Rows<E: EntityTrait> {
    /// At most one row (a lookup, or a related row by its key).
    One(Select<E>),
    /// A page of rows.
    Page { select: Select<E>, sort: Sort<E::Column>, page: PageRequest },
    /// A page of a top-level list, in an order of several keys.
    Ordered { select: Select<E>, order: ListOrder, page: PageRequest },
}

/// Plans one root field.
pub(crate) struct Walk<'a> {
    backend: DatabaseBackend,
    viewer: Viewer,
    env: &'a async_graphql::context::QueryEnv,
    registry: &'a Registry,
    aliases: usize,
}

/// A planned root field: its statement's root row and how to shape it.
pub(crate) struct Planned {
    pub(crate) root: Sql,
    pub(crate) out: Out,
}

impl<'a> Walk<'a> {
    /// A walk over the document of `env`, for `viewer`.
    pub(crate) fn new(
        backend: DatabaseBackend,
        viewer: Viewer,
        env: &'a async_graphql::context::QueryEnv,
        registry: &'a Registry,
    ) -> Self {
        Self { backend, viewer, env, registry, aliases: 0 }
    }

    /// Plans a root field that returns rows of the declared type found by `rows`.
    pub(crate) fn root(mut self, reads: &'static Reads, field: &'a Field, rows: RootRows) -> Option<Planned> {
        let mut root = Row::new(String::new(), Vec::new());
        let out = self.root_rows(reads, field, rows, &mut root)?;
        Some(Planned { root: sql::array(self.backend, root.slots), out })
    }

    /// Plans a root field that returns a list of lookups (`nodes`), each its own row.
    pub(crate) fn roots(mut self, field: &'a Field, lookups: Vec<(&'static Reads, RootRows)>) -> Option<Planned> {
        let mut root = Row::new(String::new(), Vec::new());
        let mut items = Vec::with_capacity(lookups.len());
        for (reads, rows) in lookups {
            items.push(self.root_rows(reads, field, rows, &mut root)?);
        }
        if root.slots.len() > MAX_SLOTS {
            return None;
        }
        Some(Planned { root: sql::array(self.backend, root.slots), out: Out::List(items) })
    }

    fn root_rows(&mut self, reads: &'static Reads, field: &'a Field, rows: RootRows, root: &mut Row) -> Option<Out> {
        match rows {
            RootRows::Film(rows) => self.relation(reads, field, rows, root),
            RootRows::Person(rows) => self.relation(reads, field, rows, root),
            RootRows::Credit(rows) => self.relation(reads, field, rows, root),
            RootRows::Quote(rows) => self.relation(reads, field, rows, root),
            RootRows::Event(rows) => self.relation(reads, field, rows, root),
            RootRows::Petition(rows) => self.relation(reads, field, rows, root),
        }
    }

    fn alias(&mut self) -> String {
        self.aliases += 1;
        format!("p{}", self.aliases)
    }

    /// A fresh alias, for the aggregates' subqueries.
    pub(super) fn next_alias(&mut self) -> String {
        self.alias()
    }

    /// The backend the statement is for.
    pub(super) fn backend(&self) -> DatabaseBackend {
        self.backend
    }

    /// The fields of `set` that apply to `type_name` (see `collect`).
    pub(super) fn collect_fields(
        &self,
        set: &'a SelectionSet,
        type_name: &str,
        fields: &mut Vec<&'a Field>,
    ) -> Option<()> {
        self.collect(set, type_name, fields)
    }

    /// The value of an argument, variables filled in; `None` when it is not given.
    pub(super) fn argument_value(&self, field: &Field, name: &str) -> Option<Value> {
        let value = field.get_argument(name)?;
        value.node.clone().into_const_with(|variable| self.variable(&variable)).ok()
    }

    /// The fields of `set` that apply to `type_name`, in document order, through fragments at any
    /// depth: a fragment applies when it names the type, an interface it implements or a union it
    /// belongs to. `None` when the document names a fragment it lacks.
    fn collect(&self, set: &'a SelectionSet, type_name: &str, fields: &mut Vec<&'a Field>) -> Option<()> {
        for selection in &set.items {
            let (condition, inner) = match &selection.node {
                Selection::Field(field) => {
                    if self.included(&field.node.directives)? {
                        fields.push(&field.node);
                    }
                    continue;
                }
                Selection::FragmentSpread(spread) => {
                    if !self.included(&spread.node.directives)? {
                        continue;
                    }
                    let fragment = self.env.fragments.get(&spread.node.fragment_name.node)?;
                    (Some(fragment.node.type_condition.node.on.node.as_str()), &fragment.node.selection_set.node)
                }
                Selection::InlineFragment(inline) => {
                    if !self.included(&inline.node.directives)? {
                        continue;
                    }
                    (
                        inline.node.type_condition.as_ref().map(|condition| condition.node.on.node.as_str()),
                        &inline.node.selection_set.node,
                    )
                }
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

    /// Whether a selection with `directives` is executed: `@skip(if:)` and `@include(if:)` with
    /// variables filled in, as the executor decides (spec 6.3.2, CollectFields). `None` for any other
    /// directive, which the walk leaves to the resolvers.
    fn included(&self, directives: &[Positioned<Directive>]) -> Option<bool> {
        let mut included = true;
        for directive in directives {
            let name = directive.node.name.node.as_str();
            if name != "skip" && name != "include" {
                return None;
            }
            let condition = directive.node.get_argument("if")?.node.clone();
            let Value::Boolean(condition) = condition.into_const_with(|variable| self.variable(&variable)).ok()? else {
                return None;
            };
            if condition == (name == "skip") {
                included = false;
            }
        }
        Some(included)
    }

    fn variable(&self, name: &Name) -> Result<Value, ()> {
        let definition = self.env.operation.node.variable_definitions.iter().find(|def| def.node.name.node == *name);
        definition
            .and_then(|def| self.env.variables.get(&def.node.name.node).or_else(|| def.node.default_value()))
            .cloned()
            .ok_or(())
    }

    fn page(&self, field: &Field) -> Option<PageRequest> {
        let [first, after, last, before] = PAGE_ARGUMENTS;
        let first = self.argument::<Option<i32>>(field, first)?;
        let after = self.argument::<Option<String>>(field, after)?;
        let last = self.argument::<Option<i32>>(field, last)?;
        let before = self.argument::<Option<String>>(field, before)?;
        PageRequest::new(first, after.as_deref(), last, before.as_deref()).ok()
    }

    /// Plans the rows of a relation (or root field) into a slot of `parent`.
    fn relation<E: Keyed>(
        &mut self,
        reads: &'static Reads,
        field: &'a Field,
        rows: Rows<E>,
        parent: &mut Row,
    ) -> Option<Out> {
        match rows {
            Rows::One(select) => {
                let alias = self.alias();
                let mut row = Row::new(alias.clone(), Vec::new());
                let fields = self.object(reads, &field.selection_set.node, &mut row)?;
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
                row.columns.insert(ID_COLUMN, ID_SLOT);
                let count_select = select.clone();
                let fields = self.connection(reads, &field.selection_set.node, &mut row, parent, count_select)?;
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
            Rows::Ordered { select, order, page } => self.ordered(reads, field, select, order, page, parent),
        }
    }

    /// Plans a page of a top-level list in `order`: as a page of children, but every key's value
    /// comes from the page's select (`sort_0`, `sort_1`…), and a cursor carries them all.
    fn ordered<E: Keyed>(
        &mut self,
        reads: &'static Reads,
        field: &'a Field,
        select: Select<E>,
        order: ListOrder,
        page: PageRequest,
        parent: &mut Row,
    ) -> Option<Out> {
        let alias = self.alias();
        let values = order.value_columns(&alias).into_iter().map(Sql::raw).collect::<Vec<_>>();
        let sort_value = if order.is_single() {
            values.into_iter().next().unwrap_or_else(|| Sql::raw("NULL"))
        } else {
            sql::array(self.backend, values)
        };
        let mut row = Row::new(alias.clone(), vec![sort_value, Sql::raw(format!("\"{alias}\".\"id\""))]);
        row.columns.insert(ID_COLUMN, ID_SLOT);
        let fields = self.connection(reads, &field.selection_set.node, &mut row, parent, select.clone())?;
        if row.slots.len() > MAX_SLOTS {
            return None;
        }
        if !fields.iter().any(|(_, field)| field.needs_cursors()) {
            row.slots[SORT_SLOT] = Sql::raw("NULL");
        }
        let select = only(select, &row.used);
        let rows_slot = match order.page_select(select, E::ID, &page).ok()? {
            None => parent.push(sql::empty_array(self.backend)),
            Some(select) => {
                let read_order = order.read_order_sql(&page, &alias);
                let mut sub = Sql::raw("SELECT ");
                sub.append(sql::aggregate(self.backend, sql::array(self.backend, row.slots), &read_order));
                sub.push(" FROM (");
                sub.append(Sql::select(self.backend, &select.into_query()));
                sub.push(&format!(") AS \"{alias}\""));
                parent.push(sql::nested(self.backend, sub))
            }
        };
        let cursor = order.cursor_shape();
        Some(Out::Connection(Box::new(ConnectionOut { rows: rows_slot, page, cursor, fields })))
    }

    /// The fields of an `XConnection`; `totalCount` adds a count of `count_select` to `parent`.
    fn connection<E: EntityTrait>(
        &mut self,
        reads: &'static Reads,
        set: &'a SelectionSet,
        row: &mut Row,
        parent: &mut Row,
        count_select: Select<E>,
    ) -> Option<Fields<ConnectionField>> {
        let connection_name = format!("{}Connection", reads.node.name());
        let edge_name = format!("{}Edge", reads.node.name());
        let mut fields = Vec::new();
        self.collect(set, &connection_name, &mut fields)?;
        let mut planned = Vec::with_capacity(fields.len());
        let mut total_slot = None;
        for field in fields {
            let key = field.response_key().node.clone();
            let value = match leaf(&CONNECTION_READS, field)? {
                Leaf::Typename => ConnectionField::Typename(connection_name.clone()),
                Leaf::Field(ConnectionRead::TotalCount) => {
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
                Leaf::Field(ConnectionRead::Nodes) => {
                    ConnectionField::Nodes(self.object(reads, &field.selection_set.node, row)?)
                }
                Leaf::Field(read @ (ConnectionRead::Aggregate | ConnectionRead::GroupedAggregates)) => {
                    let node = reads.node.name();
                    let source = count_select.clone().into_query();
                    let grouped = read == ConnectionRead::GroupedAggregates;
                    let (sql, out) = self.aggregate(node, aggregates::spec(node), field, source, grouped)?;
                    ConnectionField::Aggregate(parent.push(sql), out)
                }
                Leaf::Field(ConnectionRead::PageInfo) => {
                    ConnectionField::PageInfo(self.leaves(field, "PageInfo", &PAGE_INFO_READS)?)
                }
                Leaf::Field(ConnectionRead::Edges) => {
                    let mut edge_fields = Vec::new();
                    self.collect(&field.selection_set.node, &edge_name, &mut edge_fields)?;
                    let mut out = Vec::with_capacity(edge_fields.len());
                    for edge_field in edge_fields {
                        let value = match leaf(&EDGE_READS, edge_field)? {
                            Leaf::Typename => EdgeField::Typename(edge_name.clone()),
                            Leaf::Field(EdgeRead::Cursor) => EdgeField::Cursor,
                            Leaf::Field(EdgeRead::Node) => {
                                EdgeField::Node(self.object(reads, &edge_field.selection_set.node, row)?)
                            }
                        };
                        out.push((edge_field.response_key().node.clone(), value));
                    }
                    ConnectionField::Edges(out)
                }
            };
            planned.push((key, value));
        }
        Some(planned)
    }

    /// The fields of one object of the declared type over `row`.
    fn object(&mut self, reads: &'static Reads, set: &'a SelectionSet, row: &mut Row) -> Option<Fields<Out>> {
        let mut fields = Vec::new();
        self.collect(set, reads.node.name(), &mut fields)?;
        let mut planned = Vec::with_capacity(fields.len());
        for field in fields {
            let out = self.field(reads, field, row)?;
            planned.push((field.response_key().node.clone(), out));
        }
        Some(planned)
    }

    /// The row of the declared type whose id is in `key_column` of `row`, from that type's table.
    fn related(
        &mut self,
        reads: &'static Reads,
        field: &'a Field,
        row: &mut Row,
        key_column: &'static str,
    ) -> Option<Out> {
        match reads.node {
            NodeType::Film => self.related_row::<film::Entity>(reads, field, row, key_column),
            NodeType::Person => self.related_row::<person::Entity>(reads, field, row, key_column),
            NodeType::Credit => self.related_row::<credit::Entity>(reads, field, row, key_column),
            NodeType::Event => self.related_row::<event::Entity>(reads, field, row, key_column),
            NodeType::Petition => self.related_row::<petition::Entity>(reads, field, row, key_column),
            // A quote is read only through the viewer's visibility, which a bare key does not
            // apply; the other types have no table the planner reads.
            NodeType::Quote | NodeType::Signature | NodeType::Rsvp | NodeType::User | NodeType::PetitionUpdate => None,
        }
    }

    /// The row of `E` whose id is in `key_column` of `row`.
    fn related_row<E: Keyed>(
        &mut self,
        reads: &'static Reads,
        field: &'a Field,
        row: &mut Row,
        key_column: &'static str,
    ) -> Option<Out> {
        let table = E::default().table_name().to_owned();
        row.used.insert(key_column);
        let select = E::find().filter(Expr::cust(format!("\"{table}\".\"id\" = \"{}\".\"{key_column}\"", row.alias)));
        self.relation(reads, field, Rows::One(select), row)
    }

    /// The page of `row`'s children that `children` names, of the declared type.
    fn children_of(
        &mut self,
        reads: &'static Reads,
        children: Children,
        field: &'a Field,
        row: &mut Row,
    ) -> Option<Out> {
        match children {
            Children::Sequels => {
                let narrow = self.where_argument::<FilmWhere>(field)?;
                self.children(reads, field, row, FilmScope, narrow)
            }
            Children::Credits(parent) => {
                let role = self.argument::<Option<CreditRole>>(field, ROLE_ARGUMENT)?;
                let narrow = self.where_argument::<CreditWhere>(field)?;
                self.children(reads, field, row, CreditScope { parent, role: role.map(Into::into) }, narrow)
            }
            Children::Quotes(parent) => {
                let narrow = self.where_argument::<QuoteWhere>(field)?;
                self.children(reads, field, row, QuoteScope { parent, viewer: self.viewer }, narrow)
            }
            Children::Events => {
                let narrow = self.where_argument::<EventWhere>(field)?;
                self.children(reads, field, row, EventScope, narrow)
            }
            Children::Petitions => {
                let narrow = self.where_argument::<PetitionWhere>(field)?;
                self.children(reads, field, row, PetitionScope, narrow)
            }
        }
    }

    /// The condition of a nested connection's `where` argument (all rows when it is not given);
    /// `None` when it does not compile, so the resolvers report why.
    fn where_argument<W: Where + InputType>(&self, field: &Field) -> Option<Condition> {
        let Some(given) = self.argument::<Option<W>>(field, WHERE_ARGUMENT)? else { return Some(Condition::all()) };
        let mut compiler = Compiler::new(self.backend, self.viewer);
        compile(&given, &mut compiler, WHERE_ARGUMENT, 0).ok()
    }

    /// The page of children of `row` in `scope` that meet `narrow`.
    fn children<S: Scope>(
        &mut self,
        reads: &'static Reads,
        field: &'a Field,
        row: &mut Row,
        scope: S,
        narrow: Condition,
    ) -> Option<Out> {
        let page = self.page(field)?;
        let table = S::Entity::default().table_name().to_owned();
        let select = S::Entity::find().filter(scope.condition()).filter(narrow).filter(Expr::cust(format!(
            "\"{table}\".\"{}\" = \"{}\".\"id\"",
            scope.parent().as_str(),
            row.alias
        )));
        self.relation(reads, field, Rows::Page { select, sort: scope.sort(), page }, row)
    }

    /// The fields of an object whose fields are all scalars (`PageInfo`, `SourceArticle`), as its
    /// declaration `reads` names them; `None` when one is not there.
    fn leaves<T: Copy>(&self, field: &'a Field, type_name: &str, reads: &[(&str, T)]) -> Option<Fields<Leaf<T>>> {
        let mut fields = Vec::new();
        self.collect(&field.selection_set.node, type_name, &mut fields)?;
        fields.into_iter().map(|inner| Some((inner.response_key().node.clone(), leaf(reads, inner)?))).collect()
    }

    /// One field of the declared type; `None` for a field left to the resolvers.
    fn field(&mut self, reads: &'static Reads, field: &'a Field, row: &mut Row) -> Option<Out> {
        let name = field.name.node.as_str();
        if name == TYPENAME {
            return Some(Out::Const(reads.node.name()));
        }
        match reads.field(name)? {
            Read::Id => Some(Out::Id { slot: row.column(ID_COLUMN), type_name: reads.node.name() }),
            Read::Column(column, conv) => Some(Out::Scalar { slot: row.column(column), conv: *conv }),
            Read::Sources(column) => {
                let fields = self.leaves::<SourceArticleRead>(field, "SourceArticle", &SOURCE_ARTICLE_READS)?;
                Some(Out::Sources { slot: row.column(column), fields })
            }
            Read::Derived(derived) => Some(match *derived {
                Derived::IcsUrl { slug } => Out::IcsUrl { slug: row.column(slug) },
                Derived::PetitionStatus { status, closes_at } => {
                    Out::PetitionStatus { status: row.column(status), closes_at: row.column(closes_at) }
                }
                Derived::Progress { count, goal } => Out::Progress { count: row.column(count), goal: row.column(goal) },
            }),
            Read::Related(target, key_column) => self.related(target, field, row, key_column),
            Read::Children(target, children) => self.children_of(target, *children, field, row),
            Read::Resolver(_) => None,
        }
    }
}

/// What a field of a type whose declaration is `reads` builds (`__typename` included); `None`
/// when the declaration has no such field.
fn leaf<T: Copy>(reads: &[(&str, T)], field: &Field) -> Option<Leaf<T>> {
    let name = field.name.node.as_str();
    if name == TYPENAME {
        return Some(Leaf::Typename);
    }
    reads.iter().find(|(declared, _)| *declared == name).map(|(_, read)| Leaf::Field(*read))
}

/// `select` narrowed to the columns a planned row reads.
fn only<E: EntityTrait>(select: Select<E>, columns: &BTreeSet<&'static str>) -> Select<E> {
    let table = E::default().table_name().to_owned();
    columns.iter().fold(select.select_only(), |select, column| {
        // A counter kept in slots reads as its stored column plus its slots (`domain::counters`).
        let read = match crate::domain::counters::slotted(&table, column) {
            Some(slotted) => slotted.total_sql(&table),
            None => format!("\"{table}\".\"{column}\""),
        };
        select.column_as(Expr::cust(read), *column)
    })
}

/// The rows of `node` with the given id, for a lookup; `None` for a type the planner has no table
/// for.
pub(crate) fn by_id(node: NodeType, id: i64, viewer: &Viewer) -> Option<RootRows> {
    Some(match node {
        NodeType::Film => RootRows::Film(Rows::One(film::Entity::find_by_id(id))),
        NodeType::Person => RootRows::Person(Rows::One(person::Entity::find_by_id(id))),
        NodeType::Credit => RootRows::Credit(Rows::One(credit::Entity::find_by_id(id))),
        NodeType::Quote => {
            RootRows::Quote(Rows::One(quote::Entity::find_by_id(id).filter(crate::domain::quotes::visible_to(viewer))))
        }
        NodeType::Event => RootRows::Event(Rows::One(event::Entity::find_by_id(id))),
        NodeType::Petition => RootRows::Petition(Rows::One(petition::Entity::find_by_id(id))),
        NodeType::Signature | NodeType::Rsvp | NodeType::User | NodeType::PetitionUpdate => return None,
    })
}

/// The rows a root field reads, by entity.
pub(crate) enum RootRows {
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
