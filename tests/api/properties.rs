//! The property behind "every client mistake is a coded client error", tested over HTTP: arbitrary
//! strings, numbers and JSON values go into every argument and input field of every query and
//! mutation (and of the fields one level below them), as variables declared with the argument's
//! real type and as inline literals, anonymously and as an admin. The operations are read from the
//! schema by introspection, so a new field is covered without a line here.
//!
//! Properties: no response is HTTP 5xx; every error has an `extensions.code`, and none is
//! `INTERNAL_SERVER_ERROR`; every `BAD_USER_INPUT` names its `extensions.field`; a rejected mutation changes no row (a fingerprint of the database —
//! rows per table and each table's latest `updated_at` — is the same before and after).
//!
//! Deterministic: a fixed seed (`FANDB_PROPTEST_SEED` to change it) and a fixed number of cases
//! (`FANDB_PROPTEST_CASES`, default 400 per database, a few seconds each). A failure prints the request to replay.

use std::collections::BTreeMap;
use std::time::Instant;

use entity::enums::Role;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::string::string_regex;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use sea_orm::{ConnectionTrait, DatabaseBackend, Statement};
use serde_json::{Map, Value, json};

use crate::support::{TestApp, fixtures};

const DEFAULT_CASES: u64 = 400;
const DEFAULT_SEED: u64 = 0x00fa_0db0;
/// Failures printed in full before the test gives up.
const MAX_FAILURES: usize = 20;

const INTROSPECTION: &str = "{ __schema { queryType { name } mutationType { name } types { kind name
    fields { name args { name type { ...Ref } } type { ...Ref } }
    inputFields { name type { ...Ref } }
    enumValues { name }
    possibleTypes { name } } } }
    fragment Ref on __Type { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } }";

/// A type reference as introspection gives it.
#[derive(Debug, Clone)]
enum TypeRef {
    NonNull(Box<TypeRef>),
    List(Box<TypeRef>),
    Named(String),
}

impl TypeRef {
    fn from_json(value: &Value) -> Self {
        match value["kind"].as_str().unwrap() {
            "NON_NULL" => Self::NonNull(Box::new(Self::from_json(&value["ofType"]))),
            "LIST" => Self::List(Box::new(Self::from_json(&value["ofType"]))),
            _ => Self::Named(value["name"].as_str().unwrap().to_owned()),
        }
    }

    /// As written in a variable definition: `[ID!]!`.
    fn render(&self) -> String {
        match self {
            Self::NonNull(inner) => format!("{}!", inner.render()),
            Self::List(inner) => format!("[{}]", inner.render()),
            Self::Named(name) => name.clone(),
        }
    }

    fn named(&self) -> &str {
        match self {
            Self::NonNull(inner) | Self::List(inner) => inner.named(),
            Self::Named(name) => name,
        }
    }
}

#[derive(Debug, Clone)]
struct InputValue {
    name: String,
    ty: TypeRef,
}

#[derive(Debug, Clone)]
struct FieldDef {
    name: String,
    args: Vec<InputValue>,
    ty: TypeRef,
}

#[derive(Debug, Clone)]
struct TypeDef {
    kind: String,
    fields: Vec<FieldDef>,
    input_fields: Vec<InputValue>,
    enum_values: Vec<String>,
    possible_types: Vec<String>,
}

/// The schema as served, read over HTTP.
struct Schema {
    types: BTreeMap<String, TypeDef>,
    query: String,
    mutation: String,
}

fn input_values(value: &Value) -> Vec<InputValue> {
    value
        .as_array()
        .map(|values| {
            values
                .iter()
                .map(|v| InputValue {
                    name: v["name"].as_str().unwrap().to_owned(),
                    ty: TypeRef::from_json(&v["type"]),
                })
                .collect()
        })
        .unwrap_or_default()
}

fn names(value: &Value) -> Vec<String> {
    value
        .as_array()
        .map(|values| values.iter().map(|v| v["name"].as_str().unwrap().to_owned()).collect())
        .unwrap_or_default()
}

impl Schema {
    async fn introspect(app: &TestApp) -> Self {
        let schema = app.data(INTROSPECTION, json!({})).await["__schema"].clone();
        let mut types = BTreeMap::new();
        for ty in schema["types"].as_array().unwrap() {
            let name = ty["name"].as_str().unwrap().to_owned();
            let fields = ty["fields"]
                .as_array()
                .map(|fields| {
                    fields
                        .iter()
                        .map(|f| FieldDef {
                            name: f["name"].as_str().unwrap().to_owned(),
                            args: input_values(&f["args"]),
                            ty: TypeRef::from_json(&f["type"]),
                        })
                        .collect()
                })
                .unwrap_or_default();
            types.insert(
                name,
                TypeDef {
                    kind: ty["kind"].as_str().unwrap().to_owned(),
                    fields,
                    input_fields: input_values(&ty["inputFields"]),
                    enum_values: names(&ty["enumValues"]),
                    possible_types: names(&ty["possibleTypes"]),
                },
            );
        }
        Self {
            types,
            query: schema["queryType"]["name"].as_str().unwrap().to_owned(),
            mutation: schema["mutationType"]["name"].as_str().unwrap().to_owned(),
        }
    }

    fn root_fields(&self, root: &str) -> &[FieldDef] {
        &self.types[root].fields
    }
}

/// Real values of this database, so some generated input reaches past "not found".
struct Pool {
    ids: Vec<String>,
    /// The same IDs by the type they name.
    typed: BTreeMap<String, Vec<String>>,
    slugs: Vec<String>,
    cursors: Vec<String>,
}

impl Pool {
    async fn gather(app: &TestApp) -> Self {
        let mut ids = Vec::new();
        let mut slugs = Vec::new();
        let mut cursors = Vec::new();
        for (list, order) in [
            ("films", "{ field: RELEASE_DATE, direction: DESC }"),
            ("people", "{ field: NAME, direction: ASC }"),
            ("quotes", "{ field: CREATED_AT, direction: DESC }"),
            ("events", "{ field: STARTS_AT, direction: ASC }"),
            ("petitions", "{ field: CREATED_AT, direction: DESC }"),
        ] {
            for ordered in [String::new(), format!("orderBy: {order}, ")] {
                let query = format!("{{ {list}({ordered}first: 3) {{ edges {{ cursor node {{ id }} }} }} }}");
                let response = app.graphql(&query, json!({})).await;
                for edge in response["data"][list]["edges"].as_array().into_iter().flatten() {
                    cursors.push(edge["cursor"].as_str().unwrap().to_owned());
                    ids.push(edge["node"]["id"].as_str().unwrap().to_owned());
                }
            }
        }
        for list in ["films", "people", "events", "petitions"] {
            let response =
                app.graphql(&format!("{{ {list}(first: 3) {{ edges {{ node {{ slug }} }} }} }}"), json!({})).await;
            for edge in response["data"][list]["edges"].as_array().into_iter().flatten() {
                slugs.push(edge["node"]["slug"].as_str().unwrap().to_owned());
            }
        }
        let credits =
            app.graphql("{ people(first: 5) { nodes { credits(first: 3) { nodes { id } } } } }", json!({})).await;
        for person in credits["data"]["people"]["nodes"].as_array().into_iter().flatten() {
            for credit in person["credits"]["nodes"].as_array().into_iter().flatten() {
                ids.push(credit["id"].as_str().unwrap().to_owned());
            }
        }
        for type_name in ["Film", "Person", "User", "Quote", "Event", "Petition", "Credit", "Signature", "Rsvp"] {
            ids.push(fixtures::gid(type_name, 1));
            ids.push(fixtures::gid(type_name, 999_999));
        }
        ids.sort();
        ids.dedup();
        let mut typed: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for id in &ids {
            if fixtures::raw_id(id) == 999_999 {
                continue;
            }
            let decoded = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, id).unwrap();
            let text = String::from_utf8(decoded).unwrap();
            let type_name = text.split_once(':').unwrap().0.to_owned();
            typed.entry(type_name).or_default().push(id.clone());
        }
        Self { ids, typed, slugs, cursors }
    }
}

/// Draws values from proptest strategies with one seeded runner, so a run is reproducible.
struct Draw {
    runner: TestRunner,
}

impl Draw {
    fn new(seed: u64) -> Self {
        let mut bytes = [0u8; 32];
        for (index, chunk) in bytes.chunks_mut(8).enumerate() {
            chunk.copy_from_slice(&(seed.wrapping_add(index as u64)).to_le_bytes());
        }
        let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &bytes);
        Self { runner: TestRunner::new_with_rng(Config::default(), rng) }
    }

    fn value<S: Strategy>(&mut self, strategy: S) -> S::Value {
        strategy.new_tree(&mut self.runner).expect("a value").current()
    }

    fn chance(&mut self, percent: u32) -> bool {
        self.value(0..100u32) < percent
    }

    fn index(&mut self, len: usize) -> usize {
        self.value(0..len.max(1))
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.index(items.len())]
    }
}

/// Strings chosen to break things: empty, blank, NUL, quotes and LIKE or tsquery operators,
/// apostrophes that unaccent to `'`, huge, not quite a date, a number or an ID.
fn nasty_strings() -> Vec<String> {
    let mut strings: Vec<String> = [
        "",
        " ",
        "\0",
        "a\0b",
        "ʼ",
        "alitaʼs",
        "'",
        "''",
        "\"",
        "\\",
        "%",
        "_",
        "%_%",
        "\\%",
        "a:*",
        "!",
        "&|",
        "(",
        "' OR 1=1 --",
        "'; DROP TABLE films; --",
        "\u{FEFF}",
        "\u{202E}abc",
        "🚀",
        "é",
        "\u{0301}",
        "ǅ",
        "null",
        "undefined",
        "NaN",
        "-1",
        "0",
        "1e309",
        "9223372036854775808",
        "-9223372036854775809",
        "2019-02-14",
        "2019-02-30",
        "+262142-01-01",
        "-0001-01-01",
        "0000-01-01",
        "9999-12-31",
        "10000-01-01",
        "2019-02-14T00:00:00Z",
        "2019-02-14T00:00:00+14:00",
        "9999-12-31T23:59:59-23:59",
        "0000-01-01T00:00:00Z",
        "Europe/London",
        "Not/AZone",
        "US",
        "ZZ",
        "#AlitaArmy",
        "#",
        "https://example.com/x",
        "javascript:alert(1)",
        "http://",
        "user@example.com",
        "RmlsbTox",
        "RmlsbTo=",
        "Film:1",
        "RmlsbTotMQ==",
        "RmlsbTo5OTk5OTk5OTk5OTk5OTk5OTk5OQ==",
        "eyJzIjoidGl0bGUiLCJ2Ijp7InRleHQiOiJhIn0sImkiOjF9",
        "eyJ2IjoibnVsbCIsImkiOjJ9",
        "e30",
        "W10",
        "correct horse battery",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    strings.push("a".repeat(201));
    strings.push("a".repeat(2_001));
    strings.push("ʼ".repeat(300));
    strings.push("%_".repeat(30_000));
    strings.push("x".repeat(60_000));
    strings
}

struct Generator<'a> {
    schema: &'a Schema,
    pool: &'a Pool,
    nasty: Vec<String>,
    draw: Draw,
    /// Half the cases keep most values well-typed so they get past validation to the resolvers;
    /// the other half are hostile everywhere.
    hostile: bool,
    /// The operation being built, e.g. `updateFilm`, which tells what its `id` names.
    root: String,
}

/// How argument values are sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Variables,
    Inline,
}

/// One generated request.
struct Case {
    query: String,
    variables: Map<String, Value>,
    mutation: bool,
    root: String,
}

impl Generator<'_> {
    /// Percent `hostile` when the case is hostile, else `calm`.
    fn odds(&self, hostile: u32, calm: u32) -> u32 {
        if self.hostile { hostile } else { calm }
    }

    fn string(&mut self) -> String {
        if !self.hostile && self.draw.chance(50) {
            return self.draw.value(string_regex("[a-z][a-z0-9]{0,10}(-[a-z0-9]{1,8}){0,3}").unwrap());
        }
        let text = self.any_string();
        // NUL is refused before anything runs; calm cases leave it out to get further.
        if self.hostile { text } else { text.replace('\0', " ") }
    }

    fn any_string(&mut self) -> String {
        match self.draw.value(0..10u32) {
            0..=2 => {
                let nasty = self.nasty.clone();
                self.draw.pick(&nasty).clone()
            }
            3 => self.draw.value(any::<String>()),
            4 => self.draw.value(string_regex("[a-z0-9-]{1,40}").unwrap()),
            5 => self.draw.value(string_regex("[\\x00-\\x7f]{0,60}").unwrap()),
            6 => {
                let slugs = self.pool.slugs.clone();
                self.draw.pick(&slugs).clone()
            }
            7 => {
                let cursors = self.pool.cursors.clone();
                self.draw.pick(&cursors).clone()
            }
            8 => {
                let ids = self.pool.ids.clone();
                self.draw.pick(&ids).clone()
            }
            _ => self.draw.value(string_regex("\\PC{0,300}").unwrap()),
        }
    }

    fn number(&mut self) -> Value {
        match self.draw.value(0..8u32) {
            0 => json!(self.draw.value(-3i64..120)),
            1 => json!(self.draw.value(any::<i32>())),
            2 => json!(self.draw.value(any::<i64>())),
            3 => json!(self.draw.value(any::<u64>())),
            4 => json!(self.draw.value(-1e6f64..1e6)),
            5 => json!(*self.draw.pick(&[i64::from(i32::MAX) + 1, i64::from(i32::MIN) - 1, i64::MAX, i64::MIN, 0, -1])),
            6 => json!(*self.draw.pick(&[1.5f64, -0.0, 1e308, -1e308, 4.9e-324, 100.0])),
            _ => json!(self.draw.value(0i64..10_000_000_000)),
        }
    }

    /// A well-formed value for a string field known by its name, so calm cases get past the
    /// format checks (the current password is never guessed: the probing admin keeps its session).
    fn well_formed(&mut self, field: &str) -> Option<String> {
        let text = match field {
            "email" => format!("probe{}@example.com", self.draw.value(0..1_000_000u32)),
            "password" | "newPassword" => "correct horse battery".to_owned(),
            "timeZone" => (*self.draw.pick(&["Europe/London", "America/Los_Angeles", "Asia/Tokyo"])).to_owned(),
            "country" => (*self.draw.pick(&["US", "jp", "GB"])).to_owned(),
            "onlineUrl" | "url" | "posterUrl" | "sourceUrl" | "imageUrl" => "https://example.com/probe".to_owned(),
            "hashtag" => format!("#Probe{}", self.draw.value(0..1000u32)),
            "slug" => self.draw.value(string_regex("[a-z][a-z0-9]{2,10}(-[a-z0-9]{1,6}){0,2}").unwrap()),
            _ => return None,
        };
        Some(text)
    }

    /// A real ID of the type an argument named `field` takes (`filmId`, `id` of `updateFilm`).
    fn typed_id(&mut self, field: &str) -> Option<String> {
        let named = match field.strip_suffix("Id") {
            Some("sequelOf") => "Film".to_owned(),
            Some(stem) if !stem.is_empty() => {
                let mut chars = stem.chars();
                chars.next().map(|first| first.to_ascii_uppercase().to_string() + chars.as_str())?
            }
            _ if field == "id" || field == "ids" => {
                let start = self.root.find(|c: char| c.is_ascii_uppercase())?;
                self.root[start..].to_owned()
            }
            _ => return None,
        };
        let ids = self.pool.typed.get(&named)?.clone();
        Some(self.draw.pick(&ids).clone())
    }

    /// Any JSON at all, up to `depth` levels of nesting.
    fn any_json(&mut self, depth: u32) -> Value {
        let choice = if depth == 0 { self.draw.value(0..4u32) } else { self.draw.value(0..6u32) };
        match choice {
            0 => Value::Null,
            1 => json!(self.draw.value(any::<bool>())),
            2 => self.number(),
            3 => json!(self.string()),
            4 => {
                let len = self.draw.value(0..4usize);
                Value::Array((0..len).map(|_| self.any_json(depth - 1)).collect())
            }
            _ => {
                let len = self.draw.value(0..4usize);
                let mut object = Map::new();
                for _ in 0..len {
                    let key = self.draw.value(string_regex("[a-zA-Z_][a-zA-Z0-9_]{0,12}").unwrap());
                    object.insert(key, self.any_json(depth - 1));
                }
                Value::Object(object)
            }
        }
    }

    /// A value for `ty`: mostly of the right shape with hostile contents, sometimes anything.
    fn value_for(&mut self, ty: &TypeRef, depth: u32, hint: &str) -> Value {
        let wild = self.odds(10, 1);
        if self.draw.chance(wild) {
            return self.any_json(2);
        }
        match ty {
            TypeRef::NonNull(inner) => {
                let missing = self.odds(4, 0);
                if self.draw.chance(missing) { Value::Null } else { self.value_for(inner, depth, hint) }
            }
            TypeRef::List(inner) => {
                let single = self.odds(10, 2);
                if self.draw.chance(single) {
                    // A single value where a list is expected is coerced to a list of one.
                    self.value_for(inner, depth, hint)
                } else {
                    let len = self.draw.value(0..4usize);
                    Value::Array((0..len).map(|_| self.value_for(inner, depth, hint)).collect())
                }
            }
            TypeRef::Named(name) => self.named_value(name, depth, hint),
        }
    }

    fn named_value(&mut self, name: &str, depth: u32, hint: &str) -> Value {
        let def = self.schema.types[name].clone();
        match (def.kind.as_str(), name) {
            ("ENUM", _) => {
                let valid = self.odds(80, 100);
                if self.draw.chance(valid) { json!(self.draw.pick(&def.enum_values)) } else { json!(self.string()) }
            }
            ("INPUT_OBJECT", _) if depth > 3 => Value::Null,
            ("INPUT_OBJECT", _) => {
                let mut object = Map::new();
                for field in &def.input_fields {
                    let present = if matches!(field.ty, TypeRef::NonNull(_)) { self.odds(95, 100) } else { 55 };
                    if self.draw.chance(present) {
                        object.insert(field.name.clone(), self.value_for(&field.ty, depth + 1, &field.name));
                    }
                }
                let extra = self.odds(5, 0);
                if self.draw.chance(extra) {
                    object.insert("noSuchField".to_owned(), self.any_json(1));
                }
                Value::Object(object)
            }
            (_, "Int") => {
                let small = self.odds(60, 90);
                if self.draw.chance(small) { json!(self.draw.value(-3i64..120)) } else { self.number() }
            }
            (_, "String") if !self.hostile && self.draw.chance(70) => match self.well_formed(hint) {
                Some(text) => json!(text),
                None => json!(self.string()),
            },
            (_, "Float") => self.number(),
            (_, "Money") if !self.hostile => json!(self.draw.value(-10i64..10_000_000_000)),
            (_, "Money") => self.number(),
            (_, "Boolean") => json!(self.draw.value(any::<bool>())),
            (_, "ID") if !self.hostile && self.draw.chance(95) => match self.typed_id(hint) {
                Some(id) => json!(id),
                None => json!(self.draw.pick(&self.pool.ids.clone())),
            },
            (_, "ID") => {
                let real = self.odds(50, 90);
                if self.draw.chance(real) {
                    let ids = self.pool.ids.clone();
                    json!(self.draw.pick(&ids))
                } else {
                    json!(self.string())
                }
            }
            (_, "Date") if !self.hostile => json!(format!(
                "{:04}-{:02}-{:02}",
                self.draw.value(1900..2100u32),
                self.draw.value(1..13u32),
                self.draw.value(1..29u32)
            )),
            (_, "Date") => match self.draw.value(0..3u32) {
                0 => json!(format!(
                    "{:04}-{:02}-{:02}",
                    self.draw.value(0..10_000u32),
                    self.draw.value(0..14u32),
                    self.draw.value(0..33u32)
                )),
                _ => json!(self.string()),
            },
            (_, "DateTime") if !self.hostile => json!(format!(
                "{:04}-{:02}-{:02}T{:02}:00:00Z",
                self.draw.value(1990..2100u32),
                self.draw.value(1..13u32),
                self.draw.value(1..29u32),
                self.draw.value(0..24u32)
            )),
            (_, "DateTime") => match self.draw.value(0..3u32) {
                0 => json!(format!(
                    "{:04}-{:02}-{:02}T{:02}:{:02}:00{}",
                    self.draw.value(0..10_000u32),
                    self.draw.value(1..13u32),
                    self.draw.value(1..29u32),
                    self.draw.value(0..24u32),
                    self.draw.value(0..60u32),
                    self.draw.pick(&["Z", "+14:00", "-12:00", "+23:59"])
                )),
                _ => json!(self.string()),
            },
            _ => json!(self.string()),
        }
    }

    /// The arguments of `field`, each as a variable or a literal; some are left out.
    fn arguments(&mut self, field: &FieldDef, mode: Mode, variables: &mut Vec<(String, TypeRef, Value)>) -> String {
        let mut written = Vec::new();
        for arg in &field.args {
            let present = if matches!(arg.ty, TypeRef::NonNull(_)) { self.odds(97, 100) } else { 60 };
            if !self.draw.chance(present) {
                continue;
            }
            let value = self.value_for(&arg.ty, 0, &arg.name);
            let text = match mode {
                Mode::Variables => {
                    let name = format!("v{}", variables.len());
                    variables.push((name.clone(), arg.ty.clone(), value));
                    format!("${name}")
                }
                Mode::Inline => literal(self.schema, &arg.ty, &value),
            };
            written.push(format!("{}: {text}", arg.name));
        }
        if written.is_empty() { String::new() } else { format!("({})", written.join(", ")) }
    }

    /// A selection for a value of `ty`: `__typename` and, now and then, one field with arguments.
    fn selection(
        &mut self,
        ty: &TypeRef,
        depth: u32,
        mode: Mode,
        variables: &mut Vec<(String, TypeRef, Value)>,
    ) -> String {
        let def = self.schema.types[ty.named()].clone();
        match def.kind.as_str() {
            "OBJECT" => {
                let mut selection = "__typename".to_owned();
                if depth < 2 && !def.fields.is_empty() && self.draw.chance(60) {
                    let field = self.draw.pick(&def.fields).clone();
                    if !field.name.starts_with("__") {
                        let arguments = self.arguments(&field, mode, variables);
                        let inner = self.selection(&field.ty, depth + 1, mode, variables);
                        selection.push_str(&format!(" {}{arguments}{inner}", field.name));
                    }
                }
                format!(" {{ {selection} }}")
            }
            "INTERFACE" | "UNION" => {
                let possible = self.draw.pick(&def.possible_types).clone();
                let inner = self.selection(&TypeRef::Named(possible.clone()), depth, mode, variables);
                format!(" {{ __typename ... on {possible}{inner} }}")
            }
            _ => String::new(),
        }
    }

    fn case(&mut self) -> Case {
        self.hostile = self.draw.chance(50);
        let mutation = self.draw.chance(50);
        let root = if mutation { self.schema.mutation.clone() } else { self.schema.query.clone() };
        let fields = self.schema.root_fields(&root).to_vec();
        let field = self.draw.pick(&fields).clone();
        self.root = field.name.clone();
        let mode = if self.draw.chance(70) { Mode::Variables } else { Mode::Inline };
        let mut variables = Vec::new();
        let arguments = self.arguments(&field, mode, &mut variables);
        let selection = self.selection(&field.ty, 0, mode, &mut variables);
        let definitions = if variables.is_empty() {
            String::new()
        } else {
            let list: Vec<String> = variables.iter().map(|(name, ty, _)| format!("${name}: {}", ty.render())).collect();
            format!("({})", list.join(", "))
        };
        let keyword = if mutation { "mutation" } else { "query" };
        Case {
            query: format!("{keyword} Probe{definitions} {{ {}{arguments}{selection} }}", field.name),
            variables: variables.into_iter().map(|(name, _, value)| (name, value)).collect(),
            mutation,
            root: field.name,
        }
    }
}

/// A JSON value written as a GraphQL literal for a position of type `ty`: strings at enum positions
/// become enum names when they can be; object keys that are not names are dropped.
fn literal(schema: &Schema, ty: &TypeRef, value: &Value) -> String {
    let element = match ty {
        TypeRef::NonNull(inner) => return literal(schema, inner, value),
        TypeRef::List(inner) => Some(inner.as_ref()),
        TypeRef::Named(_) => None,
    };
    let def = schema.types.get(ty.named());
    match value {
        Value::Null => "null".to_owned(),
        Value::Bool(flag) => flag.to_string(),
        Value::Number(number) => number.to_string(),
        Value::String(text) => {
            let is_enum = element.is_none() && def.is_some_and(|def| def.kind == "ENUM");
            let is_name = text.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && text.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && !matches!(text.as_str(), "true" | "false" | "null");
            if is_enum && is_name { text.clone() } else { serde_json::to_string(text).unwrap() }
        }
        Value::Array(items) => {
            let inner = element.unwrap_or(ty);
            format!("[{}]", items.iter().map(|item| literal(schema, inner, item)).collect::<Vec<_>>().join(", "))
        }
        Value::Object(fields) => {
            let written: Vec<String> = fields
                .iter()
                .filter(|(key, _)| key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') && !key.is_empty())
                .map(|(key, item)| {
                    let field_type = def
                        .and_then(|def| def.input_fields.iter().find(|field| &field.name == key))
                        .map_or(TypeRef::Named("String".to_owned()), |field| field.ty.clone());
                    format!("{key}: {}", literal(schema, &field_type, item))
                })
                .collect();
            format!("{{{}}}", written.join(", "))
        }
    }
}

/// A cheap fingerprint of every table: its row count and latest `updated_at` (for a counter's slot
/// table, the total its slots and its parent's column add up to).
struct Fingerprint {
    sql: String,
    backend: DatabaseBackend,
}

impl Fingerprint {
    async fn new(app: &TestApp) -> Self {
        let backend = app.db.get_database_backend();
        let listing = match backend {
            DatabaseBackend::Postgres => {
                "SELECT CAST(table_name AS TEXT) AS name, EXISTS (SELECT 1 FROM information_schema.columns c WHERE c.table_schema = t.table_schema \
                 AND c.table_name = t.table_name AND c.column_name = 'updated_at') AS stamped \
                 FROM information_schema.tables t WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name"
            }
            _ => {
                "SELECT name, EXISTS (SELECT 1 FROM pragma_table_info(m.name) WHERE name = 'updated_at') AS stamped \
                 FROM sqlite_master m WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
            }
        };
        let rows = app.db.query_all_raw(Statement::from_string(backend, listing)).await.unwrap();
        let parts: Vec<String> = rows
            .iter()
            .map(|row| {
                let name: String = row.try_get("", "name").unwrap();
                let stamped: bool = row.try_get("", "stamped").unwrap();
                let latest =
                    if stamped { "CAST(MAX(updated_at) AS TEXT)".to_owned() } else { "CAST(NULL AS TEXT)".to_owned() };
                // A counter's slot rows are folded into its parent's column in the background,
                // whatever the requests do; what must not move is the count they add up to.
                let slots_of = match name.as_str() {
                    "petition_count_slots" => Some(("petitions", "signature_count")),
                    "event_count_slots" => Some(("events", "going_count")),
                    _ => None,
                };
                match slots_of {
                    Some((parent, column)) => format!(
                        "SELECT '{name}' AS name, CAST((SELECT COALESCE(SUM(delta), 0) FROM \"{name}\") + \
                         (SELECT COALESCE(SUM({column}), 0) FROM \"{parent}\") AS BIGINT) AS n, CAST(NULL AS TEXT) AS latest"
                    ),
                    None => format!("SELECT '{name}' AS name, COUNT(*) AS n, {latest} AS latest FROM \"{name}\""),
                }
            })
            .collect();
        assert!(parts.len() >= 8, "expected the application's tables, found {}", parts.len());
        Self { sql: parts.join(" UNION ALL "), backend }
    }

    async fn take(&self, app: &TestApp) -> Vec<(String, i64, Option<String>)> {
        let rows = app.db.query_all_raw(Statement::from_string(self.backend, self.sql.clone())).await.unwrap();
        let mut print: Vec<_> = rows
            .iter()
            .map(|row| {
                (row.try_get("", "name").unwrap(), row.try_get("", "n").unwrap(), row.try_get("", "latest").unwrap())
            })
            .collect();
        print.sort();
        print
    }
}

/// What is wrong with a response, if anything.
fn violations(status: u16, body: &str) -> Vec<String> {
    let mut found = Vec::new();
    if status >= 500 {
        found.push(format!("HTTP {status}"));
    }
    let Ok(json) = serde_json::from_str::<Value>(body) else {
        found.push("the body is not JSON".to_owned());
        return found;
    };
    for error in json["errors"].as_array().into_iter().flatten() {
        match error["extensions"]["code"].as_str() {
            None => found.push(format!("an error without a code: {error}")),
            Some("INTERNAL_SERVER_ERROR") => found.push(format!("INTERNAL_SERVER_ERROR: {error}")),
            Some("BAD_USER_INPUT") if !error["extensions"]["field"].is_string() => {
                found.push(format!("BAD_USER_INPUT without a field: {error}"));
            }
            Some(_) => {}
        }
    }
    found
}

/// How a case ended, for the summary: the kind of operation, and `ok` or the first error's code
/// (with `@resolver` when a resolver ran and refused, rather than the document being refused).
fn outcome(case: &Case, body: &str) -> String {
    let kind = if case.mutation { "mutation" } else { "query" };
    let json: Value = serde_json::from_str(body).unwrap_or_default();
    match json["errors"].as_array().and_then(|errors| errors.first()) {
        None => format!("{kind} ok"),
        Some(error) => {
            let code = error["extensions"]["code"].as_str().unwrap_or("none");
            let place = if error["path"].is_array() { "@resolver" } else { "" };
            format!("{kind} {code}{place}")
        }
    }
}

/// Every byte but the unreserved ones as `%XX`.
fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => char::from(byte).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|value| value.parse().ok()).unwrap_or(default)
}

db_tests!(no_input_makes_a_server_error_or_a_partial_change);

async fn no_input_makes_a_server_error_or_a_partial_change(app: TestApp) {
    let cases = env_number("FANDB_PROPTEST_CASES", DEFAULT_CASES);
    let seed = env_number("FANDB_PROPTEST_SEED", DEFAULT_SEED);
    let schema = Schema::introspect(&app).await;
    let pool = Pool::gather(&app).await;
    let fingerprint = Fingerprint::new(&app).await;
    let admin = app.sign_in_as(Role::Admin).await;
    let mut generator = Generator {
        schema: &schema,
        pool: &pool,
        nasty: nasty_strings(),
        draw: Draw::new(seed),
        hostile: true,
        root: String::new(),
    };
    let started = Instant::now();
    let mut failures = Vec::new();
    let mut rejected_mutations = 0u64;
    let mut outcomes: BTreeMap<String, u64> = BTreeMap::new();
    let mut accepted: BTreeMap<String, u64> = BTreeMap::new();
    for number in 0..cases {
        let case = generator.case();
        let as_admin = generator.draw.chance(50);
        let authorization = format!("Bearer {}", admin.access_token);
        let mut headers = vec![("content-type", "application/json")];
        if as_admin {
            headers.push(("authorization", authorization.as_str()));
        }
        let before = if case.mutation { Some(fingerprint.take(&app).await) } else { None };
        // Queries also come as GET, whose variables travel in the query string (when the URL
        // stays short enough for the HTTP client to send it).
        let path = format!(
            "/graphql?query={}&variables={}",
            percent_encode(&case.query),
            percent_encode(&Value::Object(case.variables.clone()).to_string())
        );
        let response = if !case.mutation && path.len() <= 16 * 1024 && generator.draw.chance(20) {
            headers.retain(|(name, _)| *name != "content-type");
            app.request("GET", &path, &headers, None).await
        } else {
            let body = serde_json::to_vec(&json!({ "query": case.query, "variables": case.variables })).unwrap();
            app.request("POST", "/graphql", &headers, Some(body)).await
        };
        let mut found = violations(response.status, &response.body);
        let ended = outcome(&case, &response.body);
        *accepted.entry(case.root.clone()).or_default() += u64::from(ended.ends_with(" ok"));
        *outcomes.entry(ended).or_default() += 1;
        if let Some(before) = before {
            // Rejected: the mutation field itself has no value (every mutation returns a
            // non-null type). An error further down its selection is not a rejection, even when
            // non-null fields carry its null up to the mutation field (a `Credit!`'s `person`'s
            // `quotes(first: 1, last: 1)`): the mutation ran, and only its answer failed.
            let rejected = serde_json::from_str::<Value>(&response.body)
                .map(|json| {
                    let below = json["errors"].as_array().is_some_and(|errors| {
                        errors.iter().any(|error| error["path"].as_array().is_some_and(|path| path.len() > 1))
                    });
                    json["data"][case.root.as_str()].is_null() && !below
                })
                .unwrap_or(true);
            if rejected {
                rejected_mutations += 1;
                let after = fingerprint.take(&app).await;
                if before != after {
                    let changed: Vec<String> = before
                        .iter()
                        .zip(&after)
                        .filter(|(b, a)| b != a)
                        .map(|(b, a)| format!("{b:?} -> {a:?}"))
                        .collect();
                    found.push(format!("a rejected mutation changed rows: {changed:?}"));
                }
            } else if case.root == "setUserRole" {
                // A random role change may have demoted the probing admin; restore it.
                set_role(&app, admin.id, Role::Admin).await;
            }
        }
        // The calendar takes a path segment from anyone, too.
        if number % 10 == 0 {
            let segment: String = percent_encode(&generator.string().chars().take(300).collect::<String>());
            let calendar = app.get(&format!("/events/{segment}.ics")).await;
            if calendar.status >= 500 {
                found.push(format!("GET /events/{segment}.ics answered {}", calendar.status));
            }
        }
        if !found.is_empty() {
            let body = serde_json::to_string(&json!({ "query": case.query, "variables": case.variables })).unwrap();
            let shown: String = body.chars().take(1_500).collect();
            failures.push(format!(
                "case {number} ({}): {found:?}\n  request: {shown}\n  response: {}",
                if as_admin { "admin" } else { "anonymous" },
                response.body.chars().take(600).collect::<String>()
            ));
            if failures.len() >= MAX_FAILURES {
                break;
            }
        }
    }
    eprintln!(
        "property: {cases} cases (seed {seed:#x}), {rejected_mutations} rejected mutations fingerprinted, {:.1} s, {} failures",
        started.elapsed().as_secs_f64(),
        failures.len()
    );
    eprintln!("property outcomes: {outcomes:?}");
    let never: Vec<&String> = accepted.iter().filter(|(_, count)| **count == 0).map(|(root, _)| root).collect();
    eprintln!("property: operations drawn {}, never accepted: {never:?}", accepted.len());
    assert!(failures.is_empty(), "{} failing cases:\n{}", failures.len(), failures.join("\n"));
}

async fn set_role(app: &TestApp, user_id: i64, role: Role) {
    use sea_orm::{ActiveModelTrait, ActiveValue, EntityTrait};
    let user = entity::user::Entity::find_by_id(user_id).one(&app.db).await.unwrap().unwrap();
    let mut model: entity::user::ActiveModel = user.into();
    model.role = ActiveValue::Set(role);
    model.update(&app.db).await.unwrap();
}
