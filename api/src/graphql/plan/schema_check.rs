//! Holds the read declarations to the schema the resolvers build: every type that implements
//! `Node` has a declaration or a reason to be left whole to the resolvers; every field of a
//! declared type is declared (read, or left to the resolvers with a reason) and every declared
//! field exists, with the type and arguments its read implies; every declared column exists in the
//! type's table; and the connection, edge, `PageInfo` and `SourceArticle` types have exactly the
//! fields their declarations list. A field added to a resolver therefore fails here until its
//! type's declaration says how the planner reads it.

use std::collections::BTreeSet;

use async_graphql::OutputType;
use async_graphql::registry::{MetaType, MetaTypeName, Registry};
use entity::{credit, event, film, person, petition, quote};
use sea_orm::{IdenStatic, Iterable};

use super::super::Query;
use super::super::connection::{CONNECTION_READS, EDGE_READS, PAGE_INFO_READS};
use super::super::ids::{NodeType, decode, global_id_text};
use super::super::node::planned_reads;
use super::super::sources::SOURCE_ARTICLE_READS;
use super::reads::{Children, Conv, Derived, PAGE_ARGUMENTS, Read, Reads};

/// The types of the query side of the schema, as the resolvers register them.
fn registry() -> Registry {
    let mut registry = Registry::default();
    <Query as OutputType>::create_type_info(&mut registry);
    registry
}

/// The declarations of the `Node` types, and of every type they lead to.
fn declarations(registry: &Registry, problems: &mut Vec<String>) -> Vec<&'static Reads> {
    let Some(MetaType::Interface { possible_types, .. }) = registry.types.get("Node") else {
        problems.push("the schema has no Node interface".to_owned());
        return Vec::new();
    };
    let mut declared: Vec<&'static Reads> = Vec::new();
    for name in possible_types {
        let Ok((node, _)) = decode(&global_id_text(name, 1), "id") else {
            problems.push(format!("{name} implements Node but has no NodeType"));
            continue;
        };
        match planned_reads(node) {
            Ok(reads) if reads.node == node => declared.push(reads),
            Ok(reads) => problems.push(format!("{name} is read by the declaration of {}", reads.node.name())),
            Err(reason) if reason.trim().is_empty() => {
                problems.push(format!("{name} is left to the resolvers without a reason"));
            }
            Err(_) => {}
        }
    }
    let mut next = 0;
    while let Some(reads) = declared.get(next).copied() {
        for (_, read) in reads.fields {
            if let Read::Related(target, _) | Read::Children(target, _) = read
                && !declared.iter().any(|known| std::ptr::eq(*known, *target))
            {
                declared.push(target);
            }
        }
        next += 1;
    }
    declared
}

/// The columns of the table of a declared type.
fn columns(node: NodeType) -> BTreeSet<&'static str> {
    fn names<C: Iterable + IdenStatic>() -> BTreeSet<&'static str> {
        C::iter().map(|column| column.as_str()).collect()
    }
    match node {
        NodeType::Film => names::<film::Column>(),
        NodeType::Person => names::<person::Column>(),
        NodeType::Credit => names::<credit::Column>(),
        NodeType::Quote => names::<quote::Column>(),
        NodeType::Event => names::<event::Column>(),
        NodeType::Petition => names::<petition::Column>(),
        NodeType::Signature | NodeType::Rsvp | NodeType::User | NodeType::PetitionUpdate => BTreeSet::new(),
    }
}

/// Whether a column shown as `conv` fits the GraphQL type named `ty`.
fn fits(registry: &Registry, conv: Conv, ty: &str) -> bool {
    match conv {
        Conv::Text => ty == "String",
        Conv::Int => ty == "Int" || ty == "Money",
        Conv::Count => ty == "Int",
        Conv::Date => ty == "Date",
        Conv::DateTime => ty == "DateTime",
        Conv::Enum => matches!(registry.types.get(ty), Some(MetaType::Enum { .. })),
    }
}

/// The columns a read takes from its row.
fn read_columns(read: &Read) -> Vec<&'static str> {
    match read {
        Read::Id => vec!["id"],
        Read::Column(column, _) | Read::Sources(column) | Read::Related(_, column) => vec![*column],
        Read::Derived(Derived::IcsUrl { slug }) => vec![*slug],
        Read::Derived(Derived::PetitionStatus { status, closes_at }) => vec![*status, *closes_at],
        Read::Derived(Derived::Progress { count, goal }) => vec![*count, *goal],
        Read::Children(..) | Read::Resolver(_) => Vec::new(),
    }
}

/// Whether a field of the GraphQL type named `ty` can be read as `read`.
fn read_fits(registry: &Registry, read: &Read, ty: &str) -> bool {
    match read {
        Read::Id => ty == "ID",
        Read::Column(_, conv) => fits(registry, *conv, ty),
        Read::Sources(_) => ty == "SourceArticle",
        Read::Derived(Derived::IcsUrl { .. }) => ty == "String",
        Read::Derived(Derived::PetitionStatus { .. }) => fits(registry, Conv::Enum, ty),
        Read::Derived(Derived::Progress { .. }) => ty == "Float",
        Read::Related(target, _) => ty == target.node.name(),
        Read::Children(target, children) => {
            ty == format!("{}Connection", target.node.name()) && children.node() == target.node
        }
        Read::Resolver(reason) => !reason.trim().is_empty(),
    }
}

/// The arguments the planner reads for `read`; `None` when it reads none because the field
/// resolves anyway.
fn read_arguments(read: &Read) -> Option<BTreeSet<&'static str>> {
    match read {
        Read::Resolver(_) => None,
        Read::Children(_, children) => Some(PAGE_ARGUMENTS.iter().chain(children.arguments()).copied().collect()),
        _ => Some(BTreeSet::new()),
    }
}

/// How one declaration disagrees with the schema.
fn type_problems(registry: &Registry, reads: &Reads, problems: &mut Vec<String>) {
    let name = reads.node.name();
    let Some(MetaType::Object { fields, .. }) = registry.types.get(name) else {
        problems.push(format!("{name} is declared but is no object type of the schema"));
        return;
    };
    let table = columns(reads.node);
    let mut seen = BTreeSet::new();
    for (field, read) in reads.fields {
        if !seen.insert(*field) {
            problems.push(format!("{name}.{field} is declared twice"));
        }
        let Some(meta) = fields.get(*field) else {
            problems.push(format!("{name}.{field} is declared but the schema has no such field"));
            continue;
        };
        if !read_fits(registry, read, MetaTypeName::concrete_typename(&meta.ty)) {
            problems.push(format!("{name}.{field} is a {} but is declared as {read:?}", meta.ty));
        }
        let arguments: BTreeSet<&str> = meta.args.keys().map(String::as_str).collect();
        if let Some(read_arguments) = read_arguments(read)
            && read_arguments != arguments
        {
            problems.push(format!("{name}.{field} takes {arguments:?} but its read knows {read_arguments:?}"));
        }
        for column in read_columns(read) {
            if !table.contains(column) {
                problems.push(format!("{name}.{field} reads the column {column}, which its table lacks"));
            }
        }
    }
    for field in fields.keys().filter(|field| !field.starts_with("__")) {
        if reads.field(field).is_none() {
            problems.push(format!("{name}.{field} is neither read nor left to the resolvers in its declaration"));
        }
    }
}

/// How the fields of the object type `name` differ from the names its declaration lists.
fn leaf_problems<'a>(
    registry: &Registry,
    name: &str,
    declared: impl IntoIterator<Item = &'a str>,
    problems: &mut Vec<String>,
) {
    let Some(MetaType::Object { fields, .. }) = registry.types.get(name) else {
        problems.push(format!("{name} is declared but is no object type of the schema"));
        return;
    };
    let declared: BTreeSet<&str> = declared.into_iter().collect();
    let schema: BTreeSet<&str> = fields.keys().map(String::as_str).filter(|field| !field.starts_with("__")).collect();
    for field in schema.difference(&declared) {
        problems.push(format!("{name}.{field} is neither read nor left to the resolvers in its declaration"));
    }
    for field in declared.difference(&schema) {
        problems.push(format!("{name}.{field} is declared but the schema has no such field"));
    }
}

/// Every way `declared` and the shared types' declarations disagree with the schema.
fn problems(registry: &Registry, declared: &[&'static Reads]) -> Vec<String> {
    let mut problems = Vec::new();
    for reads in declared {
        type_problems(registry, reads, &mut problems);
        for (suffix, fields) in [
            ("Connection", CONNECTION_READS.iter().map(|(field, _)| *field).collect::<Vec<_>>()),
            ("Edge", EDGE_READS.iter().map(|(field, _)| *field).collect()),
        ] {
            let name = format!("{}{suffix}", reads.node.name());
            if registry.types.contains_key(&name) {
                leaf_problems(registry, &name, fields, &mut problems);
            }
        }
    }
    leaf_problems(registry, "PageInfo", PAGE_INFO_READS.iter().map(|(field, _)| *field), &mut problems);
    leaf_problems(registry, "SourceArticle", SOURCE_ARTICLE_READS.iter().map(|(field, _)| *field), &mut problems);
    problems
}

#[test]
fn every_field_of_every_read_type_is_declared_as_the_schema_has_it() {
    let registry = registry();
    let mut problems = Vec::new();
    let declared = declarations(&registry, &mut problems);
    let names: BTreeSet<&str> = declared.iter().map(|reads| reads.node.name()).collect();
    assert_eq!(names, BTreeSet::from(["Credit", "Event", "Film", "Person", "Petition", "Quote"]));
    problems.extend(self::problems(&registry, &declared));
    assert!(problems.is_empty(), "the read declarations disagree with the schema:\n{}", problems.join("\n"));
}

/// A `Film` declaration that lacks `slug`, names a field the schema lacks, shows a text as a
/// number, pages credits as sequels and reads a column the table lacks.
static WRONG_FILM: Reads = Reads {
    node: NodeType::Film,
    fields: &[
        ("id", Read::Id),
        ("title", Read::Column("title", Conv::Int)),
        ("rating", Read::Column("rating", Conv::Int)),
        ("credits", Read::Children(&WRONG_FILM, Children::Sequels)),
        ("posterUrl", Read::Column("poster", Conv::Text)),
    ],
};

#[test]
fn a_declaration_that_disagrees_with_the_schema_is_refused() {
    let problems = problems(&registry(), &[&WRONG_FILM]).join("\n");
    for expected in [
        "Film.slug is neither read nor left to the resolvers in its declaration",
        "Film.rating is declared but the schema has no such field",
        "Film.title is a String! but is declared as Column(\"title\", Int)",
        "Film.credits is a CreditConnection! but is declared as Children(",
        "Film.credits takes {\"after\", \"before\", \"first\", \"last\", \"role\", \"where\"} but its read knows",
        "Film.posterUrl reads the column poster, which its table lacks",
    ] {
        assert!(problems.contains(expected), "{expected:?} is not among the problems found:\n{problems}");
    }
}
