//! `aggregate` and `groupedAggregates` of a connection, planned as one subquery over the list's
//! rows (the select its `totalCount` counts: filter and visibility applied), and the JSON it builds
//! shaped into the response. Both read paths answer through here: the planned statement carries
//! the subquery in its root row, the resolvers run it alone.

use async_graphql::Value;
use async_graphql::parser::types::Field;
use sea_orm::DatabaseBackend;
use sea_orm::sea_query::SelectStatement;

use super::super::aggregates::{
    COUNT, GROUP_BY, HAVING, HavingCount, KEYS, KeyOf, Kind, MAX_GROUPS, PARTS, Part, Spec,
};
use super::shape::{AggregateField, AggregateOut, Conv, KEYS_SLOT, KeyShow, PartField, Show};
use super::sql::{self, Sql};
use super::walk::Walk;

/// The SQL of a group key over the rows of `alias`.
fn key_sql(backend: DatabaseBackend, of: KeyOf, alias: &str) -> Sql {
    let column = |name: &str| format!("\"{alias}\".\"{name}\"");
    let postgres = backend == DatabaseBackend::Postgres;
    let text = match of {
        KeyOf::Column(name) | KeyOf::Related(name, _) => column(name),
        KeyOf::Year(name) if postgres => format!("to_char({}, 'YYYY')", column(name)),
        KeyOf::Year(name) => format!("strftime('%Y', {})", column(name)),
        KeyOf::Month(name) if postgres => format!("to_char({} AT TIME ZONE 'UTC', 'YYYY-MM')", column(name)),
        KeyOf::Month(name) => format!("strftime('%Y-%m', {})", column(name)),
        KeyOf::Week(name) if postgres => {
            format!("to_char(date_trunc('week', {} AT TIME ZONE 'UTC'), 'YYYY-MM-DD')", column(name))
        }
        KeyOf::Week(name) => format!("strftime('%Y-%m-%d', {}, 'weekday 0', '-6 days')", column(name)),
        KeyOf::Day(name) if postgres => format!("to_char({} AT TIME ZONE 'UTC', 'YYYY-MM-DD')", column(name)),
        KeyOf::Day(name) => format!("strftime('%Y-%m-%d', {})", column(name)),
        KeyOf::PetitionStatus => {
            // As `petitions::effective_status`: an open petition past its closing reads closed.
            let mut sql = Sql::raw(format!(
                "CASE WHEN {status} = 'OPEN' AND {closes} IS NOT NULL AND {closes} <= ",
                status = column("status"),
                closes = column("closes_at"),
            ));
            sql.append(Sql::value(crate::domain::now().into()));
            sql.push(&format!(" THEN 'CLOSED' ELSE {} END", column("status")));
            return sql;
        }
    };
    Sql::raw(text)
}

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
        let mut sub = Sql::raw("SELECT ");
        if grouped {
            // Inner: one row per group (its keys, count and values); outer: their JSON array.
            let group = self.next_alias();
            let mut inner = Sql::raw("SELECT ");
            for (index, key) in keys.iter().enumerate() {
                inner.append(key_sql(backend, key.of, &alias));
                inner.push(&format!(" AS \"k{index}\", "));
            }
            inner.push("COUNT(*) AS \"n\"");
            for (index, value) in values.iter().enumerate() {
                inner.push(&format!(", {value} AS \"v{index}\""));
            }
            inner.push(" FROM (");
            inner.append(Sql::select(backend, &source));
            inner.push(&format!(") AS \"{alias}\""));
            if !keys.is_empty() {
                // By position: a key with a bound value (the time now) would not be the same
                // expression twice on PostgreSQL.
                let positions = (1..=keys.len()).map(|n| n.to_string()).collect::<Vec<_>>().join(", ");
                inner.push(&format!(" GROUP BY {positions}"));
            }
            if let Some(having) = having {
                let bounds =
                    [("=", having.eq), (">", having.gt), (">=", having.gte), ("<", having.lt), ("<=", having.lte)];
                let mut first = true;
                for (operator, bound) in bounds {
                    if let Some(bound) = bound {
                        inner.push(if first { " HAVING " } else { " AND " });
                        first = false;
                        inner.push(&format!("COUNT(*) {operator} "));
                        inner.append(Sql::value(bound.into()));
                    }
                }
            }
            let order =
                (0..keys.len()).map(|index| format!("\"k{index}\" ASC NULLS LAST")).collect::<Vec<_>>().join(", ");
            if !order.is_empty() {
                inner.push(&format!(" ORDER BY {order}"));
            }
            inner.push(&format!(" LIMIT {MAX_GROUPS}"));

            let mut row = vec![Sql::raw(format!("\"{group}\".\"n\""))];
            row.push(sql::array(
                backend,
                (0..keys.len()).map(|index| Sql::raw(format!("\"{group}\".\"k{index}\""))).collect(),
            ));
            row.extend((0..values.len()).map(|index| Sql::raw(format!("\"{group}\".\"v{index}\""))));
            let outer_order = (0..keys.len())
                .map(|index| format!("\"{group}\".\"k{index}\" ASC NULLS LAST"))
                .chain(std::iter::once("1".to_owned()))
                .collect::<Vec<_>>()
                .join(", ");
            sub.append(sql::aggregate(backend, sql::array(backend, row), &outer_order));
            sub.push(" FROM (");
            sub.append(inner);
            sub.push(&format!(") AS \"{group}\""));
        } else {
            let mut row = vec![Sql::raw("COUNT(*)"), Sql::raw("NULL")];
            row.extend(values.into_iter().map(Sql::raw));
            sub.append(sql::array(backend, row));
            sub.push(" FROM (");
            sub.append(Sql::select(backend, &source));
            sub.push(&format!(") AS \"{alias}\""));
        }
        Some((sql::nested(backend, sub), AggregateOut { grouped, fields }))
    }
}
