//! `aggregate` and `groupedAggregates` of a connection, planned as one subquery over the list's
//! rows (the select its `totalCount` counts: filter and visibility applied), and the JSON it builds
//! shaped into the response. The groups are those of `domain::stats::grouping`, the builder the
//! campaign statistics count with; this wraps them in JSON. Both read paths answer through here: the planned statement carries
//! the subquery in its root row, the resolvers run it alone.

use async_graphql::Value;
use async_graphql::parser::types::Field;
use sea_orm::sea_query::SelectStatement;

use super::super::aggregates::{
    COUNT, GROUP_BY, HAVING, HavingCount, KEYS, KeyOf, Kind, MAX_GROUPS, PARTS, Part, Spec,
};
use super::shape::{AggregateField, AggregateOut, Conv, KEYS_SLOT, KeyShow, PartField, Show};
use super::sql::{self, Sql};
use super::walk::Walk;
use crate::domain::stats::grouping::{self, CountBounds, GroupOrder, Grouping, Keep};

fn key_show(of: KeyOf) -> KeyShow {
    match of {
        KeyOf::Related(_, type_name) => KeyShow::GlobalId(type_name),
        _ => KeyShow::Text,
    }
}

/// The SQL of a measure in `part` over the rows of `alias`, and how it shows.
fn measure_sql(part: Part, column: &str, kind: Kind, alias: &str) -> (String, Show) {
    let column = format!("\"{alias}\".\"{column}\"");
    match part {
        Part::DistinctCount => (format!("COUNT(DISTINCT {column})"), Show::Count),
        Part::Sum if kind == Kind::Int => (format!("CAST(SUM({column}) AS DOUBLE PRECISION)"), Show::Float),
        Part::Sum => (format!("SUM({column})"), Show::Number),
        Part::Avg => (format!("CAST(AVG({column}) AS DOUBLE PRECISION)"), Show::Float),
        Part::Min | Part::Max => {
            let word = if part == Part::Min { "MIN" } else { "MAX" };
            let show = match kind {
                Kind::Int | Kind::Money => Show::Number,
                Kind::Date => Show::Stored(Conv::Date),
                Kind::DateTime => Show::Stored(Conv::DateTime),
                Kind::Label => Show::Stored(Conv::Text),
            };
            (format!("{word}({column})"), show)
        }
    }
}

impl<'a> Walk<'a> {
    /// Plans `aggregate` (or, with `grouped`, `groupedAggregates`) of a connection whose rows
    /// `source` selects: the subquery that builds its JSON, and how to shape it. `None` when the
    /// selection or the arguments cannot be read.
    pub(crate) fn aggregate(
        &mut self,
        node: &str,
        spec: &'static Spec,
        field: &'a Field,
        source: SelectStatement,
        grouped: bool,
    ) -> Option<(Sql, AggregateOut)> {
        let alias = self.next_alias();
        let type_name = format!("{node}{}", if grouped { "Group" } else { "Aggregate" });
        let mut items = Vec::new();
        self.collect_fields(&field.selection_set.node, &type_name, &mut items)?;

        // The group keys and bounds, from the arguments.
        let mut keys = Vec::new();
        let mut having = None;
        if grouped {
            let names = match self.argument_value(field, GROUP_BY)? {
                Value::List(items) => items,
                _ => return None,
            };
            for name in names {
                let name = match name {
                    Value::Enum(name) => name.to_string(),
                    Value::String(text) => text,
                    _ => return None,
                };
                keys.push(spec.key(&name)?);
            }
            having = match self.argument_value(field, HAVING) {
                Some(Value::Object(mut fields)) => match fields.shift_remove(COUNT) {
                    None | Some(Value::Null) => None,
                    Some(count) => Some(<HavingCount as async_graphql::InputType>::parse(Some(count)).ok()?),
                },
                Some(Value::Null) | None => None,
                Some(_) => return None,
            };
        }

        let mut values: Vec<String> = Vec::new();
        let mut fields = Vec::with_capacity(items.len());
        for item in items {
            let name = item.name.node.as_str();
            let value = if name == "__typename" {
                AggregateField::Typename(type_name.clone())
            } else if name == COUNT {
                AggregateField::Count
            } else if name == KEYS && grouped {
                AggregateField::Keys(keys.iter().map(|key| key_show(key.of)).collect())
            } else {
                let (part, _, suffix, _) = PARTS.iter().find(|(_, field_name, _, _)| *field_name == name)?;
                let part_type = format!("{node}{suffix}");
                let mut part_items = Vec::new();
                self.collect_fields(&item.selection_set.node, &part_type, &mut part_items)?;
                let mut part_fields = Vec::with_capacity(part_items.len());
                for part_item in part_items {
                    let part_name = part_item.name.node.as_str();
                    let value = if part_name == "__typename" {
                        PartField::Typename(part_type.clone())
                    } else {
                        let measure = spec.measure(*part, part_name)?;
                        let (sql, show) = measure_sql(*part, measure.column, measure.kind, &alias);
                        let slot = KEYS_SLOT + 1 + values.len();
                        values.push(sql);
                        PartField::Value { slot, show }
                    };
                    part_fields.push((part_item.response_key().node.clone(), value));
                }
                AggregateField::Part(part_fields)
            };
            fields.push((item.response_key().node.clone(), value));
        }

        let backend = self.backend();
        // `aggregate` is the one group of no key; `groupedAggregates` at most `MAX_GROUPS` groups
        // in key order.
        let key_ofs: Vec<KeyOf> = keys.iter().map(|key| key.of).collect();
        let grouping = Grouping {
            per: None,
            keys: &key_ofs,
            values: &values,
            having: having.map(CountBounds::from).unwrap_or_default(),
            order: GroupOrder::Keys,
            limit: grouped.then_some((MAX_GROUPS, Keep::First)),
        };
        let group = self.next_alias();
        let column = |name: String| Sql::raw(format!("\"{group}\".\"{name}\""));
        let mut row = vec![column(grouping::COUNT.to_owned())];
        row.push(if grouped {
            sql::array(backend, (0..keys.len()).map(|index| column(grouping::key_column(index))).collect())
        } else {
            Sql::raw("NULL")
        });
        row.extend((0..values.len()).map(|index| column(grouping::value_column(index))));
        let mut sub = Sql::raw("SELECT ");
        if grouped {
            sub.append(sql::aggregate(backend, sql::array(backend, row), &grouping.order_sql(&group)));
        } else {
            sub.append(sql::array(backend, row));
        }
        sub.push(" FROM (");
        sub.append(Sql::select(backend, &grouping.select(backend, source, &alias)));
        sub.push(&format!(") AS \"{group}\""));
        Some((sql::nested(backend, sub), AggregateOut { grouped, fields }))
    }
}
