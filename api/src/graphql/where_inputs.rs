//! The operator inputs of `where` filters (`StringFilter`, `IntFilter`, `MoneyFilter`,
//! `DateFilter`, `DateTimeFilter`, `IDFilter`, one `<Enum>Filter` per enum), the `and`/`or`/`not`
//! logic every `XWhere` shares, and the relation helpers the `XWhere` types (`where_types`) use.
//! What each builds, and the NULL rule, is `domain::where_filter`'s.

use std::sync::Arc;

use async_graphql::{Context, ID, InputObject, InputType};
use sea_orm::{ColumnTrait, Condition, EntityTrait};

use super::connection::{self, Connection};
use super::errors::GqlResult;
use super::ids::{NodeType, decode_as};
use super::scalars::{self, Date, DateTime, Money};
use super::{db, loaders};
use crate::domain::paging::PageRequest;
use crate::domain::where_filter::{self as filter, Compiler, Op, Operand, Quantifier};
use crate::domain::{DomainError, DomainResult};
use crate::loaders::{Narrowed, Scope, ScopeLoaders};

/// An operator input over one column or computed count.
pub(crate) trait Operator {
    /// The condition on `operand` (a column or a computed count); `path` names this input in errors.
    fn condition<O: Operand>(&self, compiler: &mut Compiler, operand: O, path: &str) -> DomainResult<Condition>;
}

/// The conditions of an operator input: each given operator, all of which must hold.
struct Terms<'a> {
    compiler: &'a mut Compiler,
    path: &'a str,
    all: Condition,
}

impl<'a> Terms<'a> {
    fn new(compiler: &'a mut Compiler, path: &'a str) -> Self {
        Self { compiler, path, all: Condition::all() }
    }

    fn add(&mut self, operator: &str, condition: Condition) -> DomainResult<()> {
        self.compiler.spend(&format!("{}.{operator}", self.path))?;
        self.all = std::mem::replace(&mut self.all, Condition::all()).add(condition);
        Ok(())
    }

    fn done(self) -> Condition {
        filter::or_always(self.all)
    }
}

/// Conditions on a text field. `contains` and `startsWith` ignore case as the `filter` inputs do;
/// the others compare exactly. A comparison never matches a null field (see `isNull`).
#[derive(InputObject, Default)]
pub(crate) struct StringFilter {
    /// Equal to this.
    eq: Option<String>,
    /// A value other than this.
    ne: Option<String>,
    /// Equal to one of these (at most 100; none: no row).
    #[graphql(name = "in")]
    in_: Option<Vec<String>>,
    /// A value other than all of these (at most 100).
    not_in: Option<Vec<String>>,
    /// Contains this text, ignoring case.
    contains: Option<String>,
    /// Starts with this text, ignoring case.
    starts_with: Option<String>,
    /// True: only null fields; false: only fields with a value.
    is_null: Option<bool>,
}

impl Operator for StringFilter {
    fn condition<O: Operand>(&self, compiler: &mut Compiler, column: O, path: &str) -> DomainResult<Condition> {
        let backend = compiler.backend;
        let text = |operator: &str, value: &String| -> DomainResult<String> {
            filter::check_text(&format!("{path}.{operator}"), value)?;
            Ok(value.clone())
        };
        let list = |operator: &str, values: &Vec<String>| -> DomainResult<Vec<String>> {
            filter::check_list(&format!("{path}.{operator}"), values)?;
            values.iter().map(|value| text(operator, value)).collect()
        };
        let mut terms = Terms::new(compiler, path);
        if let Some(value) = &self.eq {
            terms.add("eq", filter::compare(column, Op::Eq, text("eq", value)?))?;
        }
        if let Some(value) = &self.ne {
            terms.add("ne", filter::compare(column, Op::Ne, text("ne", value)?))?;
        }
        if let Some(values) = &self.in_ {
            terms.add("in", filter::within(column, list("in", values)?, false))?;
        }
        if let Some(values) = &self.not_in {
            terms.add("notIn", filter::within(column, list("notIn", values)?, true))?;
        }
        if let Some(value) = &self.contains {
            terms.add("contains", filter::text_match(backend, column, &text("contains", value)?, false))?;
        }
        if let Some(value) = &self.starts_with {
            terms.add("startsWith", filter::text_match(backend, column, &text("startsWith", value)?, true))?;
        }
        if let Some(is_null) = self.is_null {
            terms.add("isNull", filter::null(column, is_null))?;
        }
        Ok(terms.done())
    }
}

/// An ordered filter input over one scalar: `$name` over `$scalar`, compared as `$value`.
macro_rules! ordered_filter {
    ($(#[$meta:meta])* $name:ident, $scalar:ty, $value:expr) => {
        $(#[$meta])*
        #[derive(InputObject, Default)]
        pub(crate) struct $name {
            /// Equal to this.
            eq: Option<$scalar>,
            /// A value other than this.
            ne: Option<$scalar>,
            /// Equal to one of these (at most 100; none: no row).
            #[graphql(name = "in")]
            in_: Option<Vec<$scalar>>,
            /// A value other than all of these (at most 100).
            not_in: Option<Vec<$scalar>>,
            /// Less than this.
            lt: Option<$scalar>,
            /// At most this.
            lte: Option<$scalar>,
            /// Greater than this.
            gt: Option<$scalar>,
            /// At least this.
            gte: Option<$scalar>,
            /// True: only null fields; false: only fields with a value.
            is_null: Option<bool>,
        }

        impl Operator for $name {
            fn condition<O: Operand>(
                &self,
                compiler: &mut Compiler,
                column: O,
                path: &str,
            ) -> DomainResult<Condition> {
                let value = $value;
                let mut terms = Terms::new(compiler, path);
                for (operator, op, given) in [
                    ("eq", Op::Eq, &self.eq),
                    ("ne", Op::Ne, &self.ne),
                    ("lt", Op::Lt, &self.lt),
                    ("lte", Op::Lte, &self.lte),
                    ("gt", Op::Gt, &self.gt),
                    ("gte", Op::Gte, &self.gte),
                ] {
                    if let Some(given) = given {
                        terms.add(operator, filter::compare(column, op, value(given)))?;
                    }
                }
                for (operator, negated, given) in [("in", false, &self.in_), ("notIn", true, &self.not_in)] {
                    if let Some(values) = given {
                        filter::check_list(&format!("{path}.{operator}"), values)?;
                        terms.add(operator, filter::within(column, values.iter().map(value).collect(), negated))?;
                    }
                }
                if let Some(is_null) = self.is_null {
                    terms.add("isNull", filter::null(column, is_null))?;
                }
                Ok(terms.done())
            }
        }
    };
}

ordered_filter!(
    /// Conditions on an `Int` field; a comparison never matches a null field (see `isNull`).
    IntFilter, i32, |value: &i32| *value
);
ordered_filter!(
    /// Conditions on a `Money` field; a comparison never matches a null field (see `isNull`).
    MoneyFilter, Money, |value: &Money| value.0
);
ordered_filter!(
    /// Conditions on a `Date` field; a comparison never matches a null field (see `isNull`).
    DateFilter, Date, |value: &Date| value.0
);
ordered_filter!(
    /// Conditions on a `DateTime` field; a comparison never matches a null field (see `isNull`).
    DateTimeFilter, DateTime, |value: &DateTime| value.0
);

/// An enum filter input: `$name` over the GraphQL enum `$scalar`.
macro_rules! enum_filter {
    ($(#[$meta:meta])* $name:ident, $scalar:ty, $target:ty) => {
        $(#[$meta])*
        #[derive(InputObject, Default)]
        pub(crate) struct $name {
            /// Equal to this.
            eq: Option<$scalar>,
            /// A value other than this.
            ne: Option<$scalar>,
            /// Equal to one of these (at most 100; none: no row).
            #[graphql(name = "in")]
            in_: Option<Vec<$scalar>>,
            /// A value other than all of these (at most 100).
            not_in: Option<Vec<$scalar>>,
        }

        impl $name {
            /// The values each given operator accepts, by operator: `eq` and `in` keep their
            /// values, `ne` and `notIn` are negated.
            pub(crate) fn terms(&self, path: &str) -> DomainResult<Vec<(&'static str, bool, Vec<$target>)>> {
                let mut terms = Vec::new();
                if let Some(value) = self.eq {
                    terms.push(("eq", false, vec![value.into()]));
                }
                if let Some(value) = self.ne {
                    terms.push(("ne", true, vec![value.into()]));
                }
                for (operator, negated, given) in [("in", false, &self.in_), ("notIn", true, &self.not_in)] {
                    if let Some(values) = given {
                        filter::check_list(&format!("{path}.{operator}"), values)?;
                        terms.push((operator, negated, values.iter().map(|value| (*value).into()).collect()));
                    }
                }
                Ok(terms)
            }
        }

        impl Operator for $name {
            fn condition<O: Operand>(
                &self,
                compiler: &mut Compiler,
                column: O,
                path: &str,
            ) -> DomainResult<Condition> {
                let mut all = Condition::all();
                for (operator, negated, values) in self.terms(path)? {
                    compiler.spend(&format!("{path}.{operator}"))?;
                    all = all.add(filter::within(column, values, negated));
                }
                Ok(filter::or_always(all))
            }
        }
    };
}

enum_filter!(
    /// Conditions on a film's status.
    FilmStatusFilter, scalars::FilmStatus, entity::enums::FilmStatus
);
enum_filter!(
    /// Conditions on a credit's role.
    CreditRoleFilter, scalars::CreditRole, entity::enums::CreditRole
);
enum_filter!(
    /// Conditions on a quote's moderation status.
    QuoteStatusFilter, scalars::QuoteStatus, entity::enums::QuoteStatus
);
enum_filter!(
    /// Conditions on an event's kind.
    EventKindFilter, scalars::EventKind, entity::enums::EventKind
);
enum_filter!(
    /// Conditions on a petition's status as it reads now (an open petition past its closing time
    /// reads `CLOSED`).
    PetitionStatusFilter, scalars::PetitionStatus, entity::enums::PetitionStatus
);
enum_filter!(
    /// Conditions on a user's role.
    RoleFilter, scalars::Role, entity::enums::Role
);

impl PetitionStatusFilter {
    /// The petitions whose status reads as the operators say at the compiler's time: `ne` and
    /// `notIn` keep the other statuses, as every petition reads as exactly one.
    pub(crate) fn reads_as(&self, compiler: &mut Compiler, path: &str) -> DomainResult<Condition> {
        use entity::enums::PetitionStatus as Status;
        let mut all = Condition::all();
        for (operator, negated, values) in self.terms(path)? {
            compiler.spend(&format!("{path}.{operator}"))?;
            let statuses: Vec<Status> = [Status::Open, Status::Closed, Status::Victory]
                .into_iter()
                .filter(|status| values.contains(status) != negated)
                .collect();
            all = all.add(filter::petition_reads_as(&statuses, compiler.now));
        }
        Ok(filter::or_always(all))
    }
}

/// Conditions on an `id` field, by global ID.
#[derive(InputObject, Default)]
#[graphql(name = "IDFilter")]
pub(crate) struct IDFilter {
    /// Equal to this.
    eq: Option<ID>,
    /// Equal to one of these (at most 100; none: no row).
    #[graphql(name = "in")]
    in_: Option<Vec<ID>>,
    /// A value other than all of these (at most 100).
    not_in: Option<Vec<ID>>,
}

impl IDFilter {
    /// The condition on the `id` column of a `node` table.
    pub(crate) fn condition<C: ColumnTrait>(
        &self,
        compiler: &mut Compiler,
        column: C,
        node: NodeType,
        path: &str,
    ) -> DomainResult<Condition> {
        let mut all = Condition::all();
        let decode = |operator: &str, ids: &[ID]| -> DomainResult<Vec<i64>> {
            let path = format!("{path}.{operator}");
            filter::check_list(&path, ids)?;
            ids.iter().map(|id| decode_as(id, node, &path)).collect()
        };
        if let Some(id) = &self.eq {
            compiler.spend(&format!("{path}.eq"))?;
            all = all.add(filter::within(column, decode("eq", std::slice::from_ref(id))?, false));
        }
        for (operator, negated, given) in [("in", false, &self.in_), ("notIn", true, &self.not_in)] {
            if let Some(ids) = given {
                compiler.spend(&format!("{path}.{operator}"))?;
                all = all.add(filter::within(column, decode(operator, ids)?, negated));
            }
        }
        Ok(filter::or_always(all))
    }
}

/// The quantifiers of a to-many relation's filter (`YListWhere`), as given.
pub(crate) struct Quantified<'a, W> {
    pub(crate) some: Option<&'a W>,
    pub(crate) none: Option<&'a W>,
    pub(crate) every: Option<&'a W>,
}

/// The `and`, `or` and `not` of an `XWhere`.
pub(crate) struct Logic<'a, W> {
    pub(crate) and: Option<&'a [W]>,
    pub(crate) or: Option<&'a [W]>,
    pub(crate) not: Option<&'a W>,
}

/// An `XWhere` input: logic, and the conditions of its fields and relations.
pub(crate) trait Where: Sized {
    /// Its `and`, `or` and `not`.
    fn logic(&self) -> Logic<'_, Self>;
    /// The conditions of its fields and relations, each at `path.<field>`, nested relations at
    /// `depth + 1`.
    fn fields(&self, fields: &mut Fields<'_>) -> DomainResult<()>;
}

/// Collects the conditions of one `XWhere`'s fields.
pub(crate) struct Fields<'a> {
    pub(crate) compiler: &'a mut Compiler,
    path: &'a str,
    depth: usize,
    all: Condition,
}

impl Fields<'_> {
    fn path(&self, field: &str) -> String {
        format!("{}.{field}", self.path)
    }

    /// A scalar field's operator input over `column` (or a computed count, `filter::Computed`).
    pub(crate) fn column<F: Operator, O: Operand>(
        &mut self,
        name: &str,
        given: &Option<F>,
        column: O,
    ) -> DomainResult<()> {
        if let Some(given) = given {
            let path = self.path(name);
            let condition = given.condition(self.compiler, column, &path)?;
            self.push(condition);
        }
        Ok(())
    }

    /// The `id` field.
    pub(crate) fn id<C: ColumnTrait>(
        &mut self,
        given: &Option<IDFilter>,
        column: C,
        node: NodeType,
    ) -> DomainResult<()> {
        if let Some(given) = given {
            let path = self.path("id");
            let condition = given.condition(self.compiler, column, node, &path)?;
            self.push(condition);
        }
        Ok(())
    }

    /// A condition built by the caller (for a field with its own rule), at `name`.
    pub(crate) fn custom(
        &mut self,
        name: &str,
        build: impl FnOnce(&mut Compiler, &str) -> DomainResult<Condition>,
    ) -> DomainResult<()> {
        let path = self.path(name);
        let condition = build(self.compiler, &path)?;
        self.push(condition);
        Ok(())
    }

    /// A to-one relation: the row `key` names in `R`, visible to the reader (`visible`), meets
    /// `given`.
    pub(crate) fn one<W: Where, K: ColumnTrait, R: EntityTrait>(
        &mut self,
        name: &str,
        given: &Option<Box<W>>,
        key: K,
        related_id: R::Column,
        visible: Condition,
    ) -> DomainResult<()> {
        if let Some(given) = given {
            let path = self.path(name);
            self.compiler.spend(&path)?;
            let inner = compile(given.as_ref(), self.compiler, &path, self.depth + 1)?;
            self.push(filter::to_one::<K, R>(key, related_id, Condition::all().add(visible).add(inner)));
        }
        Ok(())
    }

    /// A to-many relation: the rows of `child_key`'s table whose `child_key` is this row's `id`,
    /// and that the reader may see (`visible`), quantified as `given` says.
    pub(crate) fn many<W: Where, P: ColumnTrait, C: ColumnTrait>(
        &mut self,
        name: &str,
        given: Option<Quantified<'_, W>>,
        id: P,
        child_key: C,
        visible: impl Fn() -> Condition,
    ) -> DomainResult<()> {
        let Some(given) = given else { return Ok(()) };
        let path = self.path(name);
        let mut any = false;
        for (quantifier, word, inner) in [
            (Quantifier::Some, "some", given.some),
            (Quantifier::None, "none", given.none),
            (Quantifier::Every, "every", given.every),
        ] {
            if let Some(inner) = inner {
                let path = format!("{path}.{word}");
                self.compiler.spend(&path)?;
                let inner = compile(inner, self.compiler, &path, self.depth + 1)?;
                self.push(filter::to_many(id, child_key, visible(), inner, quantifier));
                any = true;
            }
        }
        if !any {
            return Err(DomainError::invalid(path, "give at least one of some, none and every"));
        }
        Ok(())
    }

    fn push(&mut self, condition: Condition) {
        self.all = std::mem::replace(&mut self.all, Condition::all()).add(condition);
    }
}

/// The condition of `given` at `path` (`where`, `where.and[2]`…), `depth` levels down.
pub(crate) fn compile<W: Where>(
    given: &W,
    compiler: &mut Compiler,
    path: &str,
    depth: usize,
) -> DomainResult<Condition> {
    compiler.enter(path, depth)?;
    let mut fields = Fields { compiler, path, depth, all: Condition::all() };
    given.fields(&mut fields)?;
    let mut all = fields.all;
    let logic = given.logic();
    if let Some(and) = logic.and {
        filter::check_list(&format!("{path}.and"), and)?;
        for (index, inner) in and.iter().enumerate() {
            all = all.add(compile(inner, compiler, &format!("{path}.and[{index}]"), depth + 1)?);
        }
    }
    if let Some(or) = logic.or {
        filter::check_list(&format!("{path}.or"), or)?;
        // An empty `or` is the empty disjunction: it matches nothing.
        let mut any = Condition::any().add(filter::never());
        for (index, inner) in or.iter().enumerate() {
            any = any.add(compile(inner, compiler, &format!("{path}.or[{index}]"), depth + 1)?);
        }
        all = all.add(any);
    }
    if let Some(not) = logic.not {
        all = all.add(compile(not, compiler, &format!("{path}.not"), depth + 1)?.not());
    }
    Ok(filter::or_always(all))
}

/// The condition of a list's `where` argument for this request's viewer, or none when it is not
/// given.
pub(crate) fn condition<W: Where>(ctx: &Context<'_>, given: Option<&W>) -> GqlResult<Option<Condition>> {
    let Some(given) = given else { return Ok(None) };
    let mut compiler = Compiler::new(db(ctx)?.get_database_backend(), loaders(ctx)?.viewer);
    Ok(Some(compile(given, &mut compiler, "where", 0)?))
}

/// `condition` and the `where` argument's condition, both to hold.
pub(crate) fn and_where<W: Where>(ctx: &Context<'_>, condition: Condition, given: Option<&W>) -> GqlResult<Condition> {
    Ok(match self::condition(ctx, given)? {
        Some(extra) => Condition::all().add(condition).add(extra),
        None => condition,
    })
}

/// A page of one parent's children in `scope`, narrowed by a nested connection's `where` when
/// given. Either way the page comes through the request's batched loaders, the narrowed ones keyed
/// by the `where` as written, so parents asking the same cost one statement together (the read
/// planner puts it in the root field's statement; this is the resolvers' path).
pub(crate) async fn children<S, N, W>(
    ctx: &Context<'_>,
    scope: S,
    parent: i64,
    given: Option<&W>,
    page: PageRequest,
    wrap: impl Fn(Arc<<S::Entity as EntityTrait>::Model>) -> N,
) -> GqlResult<Connection<N>>
where
    S: ScopeLoaders,
    Narrowed<S>: ScopeLoaders + Scope<Entity = S::Entity>,
    <S::Entity as EntityTrait>::Model: Send + Sync,
    W: Where + InputType,
{
    let (Some(given), Some(extra)) = (given, condition(ctx, given)?) else {
        return connection::children(ctx, scope, parent, page, wrap).await;
    };
    let narrowed = Narrowed::new(scope, given.to_value().to_string(), extra);
    connection::children(ctx, narrowed, parent, page, wrap).await
}
