//! Differential reads: the read planner must answer every read exactly as the resolvers do. A
//! seeded random walk over the read side of the schema writes queries (nested selections over
//! films, people, credits, quotes, events and petitions, connections paged both ways with cursors
//! taken from earlier answers, filters and orders, lookups by id, slug and `node`, aliases,
//! fragments, `@skip`/`@include`, variables, some invalid arguments, and fields the planner leaves
//! to the resolvers), and each is sent as it is and again with `x-fandb-read-path: resolvers`, by
//! an anonymous client, a fan and a moderator in turn. The two answers must be the same, data and
//! errors alike.
//!
//! `FANDB_DIFF_SEED` picks the walk (a fixed one by default) and `FANDB_DIFF_CASES` its length
//! (300 by default); `FANDB_DIFF_VERBOSE=1` prints every case. A mismatch prints the seed, the case, the viewer, the query and its variables.
//! Cursors come from earlier answers, so a case replays exactly only with the same seed and at
//! least as many cases; the printed query and variables replay it by hand.

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use chrono::Utc;
use entity::enums::{CreditRole, QuoteStatus, Role};
use sea_orm::{ActiveModelTrait, Set};
use serde_json::{Value, json};

use crate::support::{TestApp, fixtures};

db_tests!(reads_answer_the_same_through_the_planner_and_the_resolvers);

const DEFAULT_SEED: u64 = 0x0F4D_B13D_1FF5_EED0;
const DEFAULT_CASES: usize = 300;
/// Field levels a query may reach; async-graphql refuses more than 10.
const MAX_LEVEL: usize = 8;
/// Aliases and directives a query may carry; the server refuses more than 15 and 5.
const MAX_ALIASES: usize = 12;
const MAX_DIRECTIVES: usize = 4;
/// Cursors kept per list.
const MAX_CURSORS: usize = 64;

async fn reads_answer_the_same_through_the_planner_and_the_resolvers(app: TestApp) {
    let seed = std::env::var("FANDB_DIFF_SEED")
        .ok()
        .map(|seed| {
            let seed = seed.trim();
            seed.strip_prefix("0x")
                .map_or_else(|| seed.parse(), |hex| u64::from_str_radix(hex, 16))
                .unwrap_or_else(|_| panic!("FANDB_DIFF_SEED is not a number: {seed}"))
        })
        .unwrap_or(DEFAULT_SEED);
    let cases = std::env::var("FANDB_DIFF_CASES")
        .ok()
        .map(|cases| cases.trim().parse().unwrap_or_else(|_| panic!("FANDB_DIFF_CASES is not a number: {cases}")))
        .unwrap_or(DEFAULT_CASES);

    let verbose = std::env::var("FANDB_DIFF_VERBOSE").is_ok_and(|verbose| verbose == "1");
    let started = Instant::now();
    let world = richer_data(&app).await;
    let mut pool = world.pool;
    let viewers = [("anonymous", None), ("fan", Some(world.fan_token)), ("moderator", Some(world.moderator_token))];

    let mut mismatches = Vec::new();
    let mut answered_without_errors = 0usize;
    let mut codes: HashMap<String, usize> = HashMap::new();
    for case in 0..cases {
        let (viewer, token) = &viewers[case % viewers.len()];
        let mut rng = Rng::new(seed ^ (case as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let mut generator = Generator::new(&mut rng, &pool);
        let (query, variables) = generator.document();
        let harvest = generator.harvest;
        if verbose {
            eprintln!("case {case}, viewer {viewer}:\n{query}\nvariables: {variables}\n");
        }
        match app.both_read_paths(token.as_deref(), &query, &variables).await {
            Ok(answer) => {
                match answer.get("errors").and_then(Value::as_array) {
                    None => answered_without_errors += 1,
                    Some(errors) => {
                        if verbose {
                            eprintln!("case {case} answered errors: {}\n", Value::Array(errors.clone()));
                        }
                        for error in errors {
                            let code = error["extensions"]["code"].as_str().unwrap_or("none").to_owned();
                            *codes.entry(code).or_default() += 1;
                        }
                    }
                }
                pool.harvest_cursors(&answer["data"], &harvest);
            }
            Err(mismatch) => {
                let report = format!(
                    "read-path mismatch: FANDB_DIFF_SEED={seed:#x} case {case} of {cases}, viewer {viewer}\n\
                     query: {query}\nvariables: {variables}\n{mismatch}\n"
                );
                eprintln!("{report}");
                mismatches.push(report);
            }
        }
    }
    let elapsed = started.elapsed();
    eprintln!(
        "differential reads: seed {seed:#x}, {cases} cases in {elapsed:?}, {answered_without_errors} without errors, \
         error codes {codes:?}, {} mismatches",
        mismatches.len()
    );
    assert!(
        mismatches.is_empty(),
        "{} of {cases} reads answered differently through the planner and the resolvers; the first:\n{}",
        mismatches.len(),
        mismatches[0]
    );
    // The walk must stay mostly on valid queries, and must reach some errors too.
    assert!(
        cases < 30 || answered_without_errors * 2 > cases,
        "only {answered_without_errors} of {cases} generated reads ran without errors: {codes:?}"
    );
    assert!(cases < 30 || !codes.is_empty(), "no generated read met an error");
}

/// What the walk draws on: the ids, slugs and cursors seen so far.
#[derive(Default)]
struct Pool {
    ids: HashMap<&'static str, Vec<String>>,
    slugs: HashMap<&'static str, Vec<String>>,
    cursors: HashMap<String, Vec<String>>,
    seen_cursors: HashSet<(String, String)>,
}

impl Pool {
    fn add_id(&mut self, type_name: &'static str, id: &Value) {
        if let Some(id) = id.as_str() {
            let ids = self.ids.entry(type_name).or_default();
            if !ids.iter().any(|known| known == id) {
                ids.push(id.to_owned());
            }
        }
    }

    fn add_slug(&mut self, type_name: &'static str, slug: &Value) {
        if let Some(slug) = slug.as_str() {
            self.slugs.entry(type_name).or_default().push(slug.to_owned());
        }
    }

    fn add_cursor(&mut self, list: &str, cursor: &Value) {
        let Some(cursor) = cursor.as_str() else { return };
        let cursors = self.cursors.entry(list.to_owned()).or_default();
        if cursors.len() < MAX_CURSORS && self.seen_cursors.insert((list.to_owned(), cursor.to_owned())) {
            cursors.push(cursor.to_owned());
        }
    }

    /// Keeps the cursors of every connection in `data` whose response key `harvest` names.
    fn harvest_cursors(&mut self, data: &Value, harvest: &HashMap<String, String>) {
        match data {
            Value::Object(members) => {
                for (key, value) in members {
                    if let Some(list) = harvest.get(key) {
                        for edge in value["edges"].as_array().into_iter().flatten() {
                            self.add_cursor(list, &edge["cursor"]);
                        }
                        self.add_cursor(list, &value["pageInfo"]["startCursor"]);
                        self.add_cursor(list, &value["pageInfo"]["endCursor"]);
                    }
                    self.harvest_cursors(value, harvest);
                }
            }
            Value::Array(items) => {
                for item in items {
                    self.harvest_cursors(item, harvest);
                }
            }
            _ => {}
        }
    }
}

struct World {
    pool: Pool,
    fan_token: String,
    moderator_token: String,
}

/// The Alita data set is two films and three quotes: too small to page through. This adds films
/// with sequels, people, credits in every role, ~30 quotes (published, pending, rejected, and one
/// pending quote the fan submitted, which only the fan and moderators see), events (one under way,
/// one to come, with RSVPs), and petitions with public and private signatures (two by the fan).
async fn richer_data(app: &TestApp) -> World {
    let db = &app.db;
    let fan = app.sign_in_as(Role::Fan).await;
    let moderator = app.sign_in_as(Role::Moderator).await;

    let films = fixtures::films(db, 10).await;
    for (sequel, original) in [(1, 0), (2, 0), (3, 1), (5, 4)] {
        let mut model: entity::film::ActiveModel = films[sequel].clone().into();
        model.sequel_of_id = Set(Some(films[original].id));
        model.tagline = Set(Some(format!("The sequel to film {original}")));
        model.update(db).await.expect("link a sequel");
    }
    let people = fixtures::people(db, 8).await;
    let roles = [
        CreditRole::Cast,
        CreditRole::Director,
        CreditRole::Writer,
        CreditRole::Producer,
        CreditRole::Crew,
        CreditRole::VisualEffects,
    ];
    for (i, film) in films.iter().enumerate() {
        for j in 0..(i % 5 + 1) {
            let billing = (j % 3 != 2).then_some(j as i32 + 1);
            fixtures::credit(db, film.id, people[(i + j) % people.len()].id, roles[(i + 2 * j) % roles.len()], billing)
                .await;
        }
    }
    fixtures::quotes(db, people[0].id, Some(films[0].id), 12, QuoteStatus::Published).await;
    fixtures::quotes(db, people[1].id, None, 7, QuoteStatus::Published).await;
    fixtures::quotes(db, people[2].id, Some(films[1].id), 5, QuoteStatus::Pending).await;
    fixtures::quotes(db, people[3].id, Some(films[2].id), 3, QuoteStatus::Rejected).await;

    let events = fixtures::events(db, 12, Some(films[0].id)).await;
    let now = Utc::now();
    for (i, event) in events.iter().enumerate() {
        let mut model: entity::event::ActiveModel = event.clone().into();
        match i {
            // Under way for the whole test, and one to come: `isLive`, `upcoming` and RSVPs.
            0 => {
                model.starts_at = Set(now - chrono::Duration::hours(1));
                model.ends_at = Set(Some(now + chrono::Duration::days(1)));
            }
            1 => {
                model.starts_at = Set(now + chrono::Duration::days(20));
                model.ends_at = Set(Some(now + chrono::Duration::days(20) + chrono::Duration::hours(3)));
            }
            _ => {}
        }
        if i % 3 == 1 {
            model.film_id = Set(None);
        } else if i % 3 == 2 {
            model.film_id = Set(Some(films[i % films.len()].id));
        }
        if i % 4 == 0 {
            model.hashtag = Set(Some("#AlitaSequel".to_owned()));
        }
        model.update(db).await.expect("move an event");
    }
    let petitions = fixtures::petitions(db, 9).await;
    for (i, petition) in petitions.iter().enumerate().filter(|(i, _)| i % 3 != 0) {
        let mut model: entity::petition::ActiveModel = petition.clone().into();
        model.film_id = Set(Some(films[i % 4].id));
        model.update(db).await.expect("link a petition");
    }
    for n in 0..6 {
        let signer = fixtures::user(db, &format!("Differential Signer {n}")).await;
        for petition in petitions.iter().skip(n % 3).step_by(2) {
            let country = [Some("NZ"), Some("GB"), None][n % 3];
            fixtures::signature(db, petition.id, signer.id, n % 2 == 0, country).await;
        }
    }

    let pending = app
        .data_as(
            &fan.access_token,
            "mutation($input: SubmitQuoteInput!) { submitQuote(input: $input) { id } }",
            json!({ "input": { "text": "A quote only its fan and the moderators see", "personId": fixtures::gid("Person", people[4].id),
                               "filmId": fixtures::gid("Film", films[3].id), "source": "Fan mail", "saidOn": "2021-05-06" } }),
        )
        .await;
    let sign = "mutation($p: ID!, $input: SignPetitionInput) { signPetition(petitionId: $p, input: $input) { id } }";
    let mut signatures = Vec::new();
    for (petition, public) in [(&petitions[1], true), (&petitions[3], false)] {
        let signed = app
            .data_as(
                &fan.access_token,
                sign,
                json!({ "p": fixtures::gid("Petition", petition.id), "input": { "public": public, "country": "NZ", "comment": "For Alita" } }),
            )
            .await;
        signatures.push(signed["signPetition"]["id"].clone());
    }
    let rsvp = "mutation($e: ID!, $s: RsvpStatus) { rsvpEvent(eventId: $e, status: $s) { id } }";
    let mut rsvps = Vec::new();
    for (token, event, status) in [
        (&fan.access_token, &events[0], "GOING"),
        (&fan.access_token, &events[1], "INTERESTED"),
        (&moderator.access_token, &events[1], "GOING"),
    ] {
        let answered = app.data_as(token, rsvp, json!({ "e": fixtures::gid("Event", event.id), "s": status })).await;
        rsvps.push(answered["rsvpEvent"]["id"].clone());
    }

    // Every id and slug, as a moderator sees them (pending and rejected quotes too).
    let mut pool = Pool::default();
    let everything = app
        .data_as(
            &moderator.access_token,
            "{ films(first: 100) { nodes { id slug } }
               credited: films(first: 20) { nodes { credits(first: 10) { nodes { id } } } }
               people(first: 100) { nodes { id slug } }
               quotes(first: 100) { nodes { id } }
               events(first: 100) { nodes { id slug } }
               petitions(first: 100) { nodes { id slug } } }",
            json!({}),
        )
        .await;
    for (list, type_name) in [
        ("films", "Film"),
        ("credited", "Film"),
        ("people", "Person"),
        ("quotes", "Quote"),
        ("events", "Event"),
        ("petitions", "Petition"),
    ] {
        for node in everything[list]["nodes"].as_array().expect("a list") {
            pool.add_id(type_name, &node["id"]);
            pool.add_slug(type_name, &node["slug"]);
            for credit in node["credits"]["nodes"].as_array().into_iter().flatten() {
                pool.add_id("Credit", &credit["id"]);
            }
        }
    }
    pool.add_id("Quote", &pending["submitQuote"]["id"]);
    for signature in &signatures {
        pool.add_id("Signature", signature);
    }
    for rsvp in &rsvps {
        pool.add_id("Rsvp", rsvp);
    }
    pool.add_id("User", &json!(fan.global_id));
    pool.add_id("User", &json!(moderator.global_id));
    assert!(pool.ids["Quote"].len() >= 30, "{:?}", pool.ids["Quote"].len());
    World { pool, fan_token: fan.access_token, moderator_token: moderator.access_token }
}

/// SplitMix64: small, fast and the same everywhere.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Self(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n` > 0).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    fn between(&mut self, low: i64, high: i64) -> i64 {
        low + self.below((high - low + 1) as usize) as i64
    }
}

/// An argument value, written as a GraphQL literal or sent as a variable.
#[derive(Clone)]
enum Arg {
    Int(i64),
    Str(String),
    Enum(&'static str),
    Bool(bool),
    Object(Vec<(&'static str, Arg)>),
    List(Vec<Arg>),
}

impl Arg {
    fn literal(&self) -> String {
        match self {
            Arg::Int(n) => n.to_string(),
            Arg::Str(text) => serde_json::to_string(text).expect("a JSON string"),
            Arg::Enum(name) => (*name).to_owned(),
            Arg::Bool(b) => b.to_string(),
            Arg::Object(fields) => format!(
                "{{ {} }}",
                fields
                    .iter()
                    .map(|(name, value)| format!("{name}: {}", value.literal()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Arg::List(items) => format!("[{}]", items.iter().map(Arg::literal).collect::<Vec<_>>().join(", ")),
        }
    }

    fn json(&self) -> Value {
        match self {
            Arg::Int(n) => json!(n),
            Arg::Str(text) => json!(text),
            Arg::Enum(name) => json!(name),
            Arg::Bool(b) => json!(b),
            Arg::Object(fields) => {
                Value::Object(fields.iter().map(|(name, value)| ((*name).to_owned(), value.json())).collect())
            }
            Arg::List(items) => Value::Array(items.iter().map(Arg::json).collect()),
        }
    }
}

/// The object types the walk visits.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Ty {
    Film,
    Person,
    Credit,
    Quote,
    Event,
    Petition,
    Signature,
    User,
    Rsvp,
}

impl Ty {
    fn name(self) -> &'static str {
        match self {
            Ty::Film => "Film",
            Ty::Person => "Person",
            Ty::Credit => "Credit",
            Ty::Quote => "Quote",
            Ty::Event => "Event",
            Ty::Petition => "Petition",
            Ty::Signature => "Signature",
            Ty::User => "User",
            Ty::Rsvp => "Rsvp",
        }
    }

    /// Leaf fields and their types (the type keeps fields of one response key mergeable).
    fn scalars(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Ty::Film => &[
                ("id", "ID!"),
                ("slug", "String!"),
                ("title", "String!"),
                ("tagline", "String"),
                ("synopsis", "String"),
                ("releaseDate", "Date"),
                ("runtimeMinutes", "Int"),
                ("status", "FilmStatus!"),
                ("budgetUsd", "Money"),
                ("boxOfficeUsd", "Money"),
                ("distributor", "String"),
                ("createdAt", "DateTime!"),
                ("updatedAt", "DateTime!"),
            ],
            Ty::Person => {
                &[("id", "ID!"), ("slug", "String!"), ("name", "String!"), ("bio", "String"), ("birthDate", "Date")]
            }
            Ty::Credit => &[("id", "ID!"), ("role", "CreditRole!"), ("character", "String"), ("billingOrder", "Int")],
            Ty::Quote => &[
                ("id", "ID!"),
                ("text", "String!"),
                ("source", "String!"),
                ("sourceUrl", "String"),
                ("saidOn", "Date"),
                ("context", "String"),
                ("status", "QuoteStatus!"),
                ("createdAt", "DateTime!"),
            ],
            Ty::Event => &[
                ("id", "ID!"),
                ("slug", "String!"),
                ("kind", "EventKind!"),
                ("title", "String!"),
                ("description", "String"),
                ("startsAt", "DateTime!"),
                ("endsAt", "DateTime"),
                ("timeZone", "String!"),
                ("venue", "String"),
                ("city", "String"),
                ("country", "String"),
                ("onlineUrl", "String"),
                ("hashtag", "String"),
                ("capacity", "Int"),
                ("rsvpCount", "Int!"),
                ("icsUrl", "String!"),
                ("isLive", "Boolean!"),
            ],
            Ty::Petition => &[
                ("id", "ID!"),
                ("slug", "String!"),
                ("title", "String!"),
                ("body", "String!"),
                ("target", "String!"),
                ("goal", "Int!"),
                ("status", "PetitionStatus!"),
                ("closesAt", "DateTime"),
                ("createdAt", "DateTime!"),
                ("signatureCount", "Int!"),
                ("progress", "Float!"),
                ("viewerHasSigned", "Boolean!"),
            ],
            Ty::Signature => &[
                ("id", "ID!"),
                ("displayName", "String"),
                ("country", "String"),
                ("comment", "String"),
                ("createdAt", "DateTime!"),
            ],
            Ty::User => &[
                ("id", "ID!"),
                ("displayName", "String!"),
                ("email", "String"),
                ("emailVerified", "Boolean"),
                ("role", "Role!"),
                ("createdAt", "DateTime!"),
            ],
            Ty::Rsvp => &[("id", "ID!"), ("status", "RsvpStatus!"), ("createdAt", "DateTime!")],
        }
    }

    /// Fields with a selection of their own, or with arguments.
    fn relations(self) -> &'static [(&'static str, Rel)] {
        const ARTICLES: (&str, Rel) = ("sourceArticles", Rel::Leaf("{ publication headline }"));
        match self {
            Ty::Film => &[
                ("sequelOf", Rel::One(Ty::Film)),
                ("sequels", Rel::Many(Ty::Film)),
                ("credits", Rel::Many(Ty::Credit)),
                ("quotes", Rel::Many(Ty::Quote)),
                ("events", Rel::Many(Ty::Event)),
                ("petitions", Rel::Many(Ty::Petition)),
                ARTICLES,
            ],
            Ty::Person => &[("credits", Rel::Many(Ty::Credit)), ("quotes", Rel::Many(Ty::Quote)), ARTICLES],
            Ty::Credit => &[("film", Rel::One(Ty::Film)), ("person", Rel::One(Ty::Person))],
            Ty::Quote => &[("person", Rel::One(Ty::Person)), ("film", Rel::One(Ty::Film)), ARTICLES],
            Ty::Event => &[
                ("film", Rel::One(Ty::Film)),
                ("viewerRsvp", Rel::One(Ty::Rsvp)),
                ("rsvpsByStatus", Rel::Leaf("{ status count }")),
                ("startsAtLocal", Rel::Special),
                ARTICLES,
            ],
            Ty::Petition => &[
                ("film", Rel::One(Ty::Film)),
                ("signatures", Rel::Many(Ty::Signature)),
                ("signaturesByCountry", Rel::Leaf("{ country count }")),
                ("signaturesOverTime", Rel::Special),
                ARTICLES,
            ],
            Ty::Signature => &[("petition", Rel::One(Ty::Petition))],
            Ty::User => &[
                ("signatures", Rel::Many(Ty::Signature)),
                ("rsvps", Rel::Many(Ty::Rsvp)),
                ("submittedQuotes", Rel::Many(Ty::Quote)),
            ],
            Ty::Rsvp => &[("event", Rel::One(Ty::Event))],
        }
    }
}

#[derive(Clone, Copy)]
enum Rel {
    /// An object.
    One(Ty),
    /// A connection of these (paged; credits also by role).
    Many(Ty),
    /// A fixed selection.
    Leaf(&'static str),
    /// A leaf with arguments of its own.
    Special,
}

/// One generated document: its text grows as the walk goes, with the variables and fragments it
/// needs and the response keys whose cursors are worth keeping.
struct Generator<'a> {
    rng: &'a mut Rng,
    pool: &'a Pool,
    variables: Vec<(String, String, Value)>,
    fragments: Vec<String>,
    /// Named fragments that may be spread again: type, name, and the deepest level they fit.
    reusable: Vec<(Ty, String, usize)>,
    /// Each unaliased response key and what it stands for: another field under the same key is
    /// aliased, so no two fields that could merge conflict.
    response_keys: HashMap<String, String>,
    aliases: usize,
    directives: usize,
    names: usize,
    /// Response key -> the list its cursors belong to.
    harvest: HashMap<String, String>,
    /// How many variables there were when the current root field began.
    root_mark: usize,
}

impl<'a> Generator<'a> {
    fn new(rng: &'a mut Rng, pool: &'a Pool) -> Self {
        Self {
            rng,
            pool,
            variables: Vec::new(),
            fragments: Vec::new(),
            reusable: Vec::new(),
            response_keys: HashMap::new(),
            aliases: 0,
            directives: 0,
            names: 0,
            harvest: HashMap::new(),
            root_mark: 0,
        }
    }

    fn fresh(&mut self, prefix: &str) -> String {
        self.names += 1;
        format!("{prefix}{}", self.names)
    }

    /// The whole document and its variables.
    fn document(&mut self) -> (String, Value) {
        let mut roots = Vec::new();
        for _ in 0..1 + self.rng.below(3) {
            roots.push(self.root_field());
        }
        if self.rng.chance(5) {
            roots.push("__typename".to_owned());
        }
        let body = roots.join("\n  ");
        let operation = if self.variables.is_empty() && self.rng.chance(50) {
            format!("{{\n  {body}\n}}")
        } else {
            let definitions =
                self.variables.iter().map(|(name, ty, _)| format!("${name}: {ty}")).collect::<Vec<_>>().join(", ");
            let name = self.fresh("Differential");
            if definitions.is_empty() {
                format!("query {name} {{\n  {body}\n}}")
            } else {
                format!("query {name}({definitions}) {{\n  {body}\n}}")
            }
        };
        let fragments = self.fragments.join("\n");
        let document = if fragments.is_empty() {
            operation
        } else if self.rng.chance(30) {
            format!("{fragments}\n{operation}")
        } else {
            format!("{operation}\n{fragments}")
        };
        let variables =
            Value::Object(self.variables.iter().map(|(name, _, value)| (name.clone(), value.clone())).collect());
        (document, variables)
    }

    /// An argument: a literal or, now and then, a variable of type `ty`.
    fn arg(&mut self, ty: &str, value: Arg) -> String {
        if self.rng.chance(30) {
            let name = self.fresh("v");
            self.variables.push((name.clone(), ty.to_owned(), value.json()));
            format!("${name}")
        } else {
            value.literal()
        }
    }

    fn args(arguments: &[String]) -> String {
        if arguments.is_empty() { String::new() } else { format!("({})", arguments.join(", ")) }
    }

    /// The response key prefix for a field (`""` or `"aN: "`), or `None` when it would need an
    /// alias and none is left.
    fn key(&mut self, name: &str, meaning: &str, want_alias: bool) -> Option<String> {
        if !want_alias {
            match self.response_keys.get(name) {
                None => {
                    self.response_keys.insert(name.to_owned(), meaning.to_owned());
                    return Some(String::new());
                }
                Some(known) if known == meaning => return Some(String::new()),
                Some(_) => {}
            }
        }
        if self.aliases >= MAX_ALIASES {
            return None;
        }
        self.aliases += 1;
        let alias = self.fresh("a");
        Some(format!("{alias}: "))
    }

    /// `key`, and when there is none, the variables made since `mark` are dropped with the field
    /// (an unused variable is an error).
    fn keyed(&mut self, name: &str, meaning: &str, want_alias: bool, mark: usize) -> Option<String> {
        let key = self.key(name, meaning, want_alias);
        if key.is_none() {
            self.variables.truncate(mark);
        }
        key
    }

    /// `""`, or now and then `@skip`/`@include` with a literal or a variable.
    fn directive(&mut self) -> String {
        if self.directives >= MAX_DIRECTIVES || !self.rng.chance(7) {
            return String::new();
        }
        self.directives += 1;
        let name = if self.rng.chance(50) { "skip" } else { "include" };
        let condition = self.rng.chance(50);
        let condition = if self.rng.chance(50) {
            let variable = self.fresh("b");
            self.variables.push((variable.clone(), "Boolean!".to_owned(), json!(condition)));
            format!("${variable}")
        } else {
            condition.to_string()
        };
        format!(" @{name}(if: {condition})")
    }

    fn id_of(&mut self, type_name: &str) -> String {
        if self.rng.chance(8) {
            // Unknown, of another type, or not an id at all.
            return match self.rng.below(4) {
                0 => fixtures::gid(type_name, 987_654),
                1 => "not an id".to_owned(),
                2 => fixtures::gid("Nothing", 1),
                _ => String::new(),
            };
        }
        let types = if self.rng.chance(8) {
            vec!["Film", "Person", "Credit", "Quote", "Event", "Petition", "Signature", "Rsvp", "User"]
        } else {
            vec![type_name]
        };
        let chosen = *self.rng.pick(&types);
        match self.pool.ids.get(chosen).filter(|ids| !ids.is_empty()) {
            Some(ids) => self.rng.pick(ids).clone(),
            None => fixtures::gid(chosen, 1),
        }
    }

    fn slug_of(&mut self, type_name: &str) -> String {
        if self.rng.chance(8) {
            return "no-such-slug".to_owned();
        }
        match self.pool.slugs.get(type_name).filter(|slugs| !slugs.is_empty()) {
            Some(slugs) => self.rng.pick(slugs).clone(),
            None => "no-such-slug".to_owned(),
        }
    }

    fn cursor_of(&mut self, list: &str) -> Option<String> {
        let cursors = self.pool.cursors.get(list).filter(|cursors| !cursors.is_empty())?;
        Some(self.rng.pick(cursors).clone())
    }

    /// Paging arguments for `list`, both ways, now and then invalid. Nested lists always get a
    /// small page, so the complexity stays within the budget.
    fn paging(&mut self, list: &str, nested: bool) -> Vec<String> {
        let mut arguments = Vec::new();
        let n = self.rng.between(1, 5);
        let roll = self.rng.below(100);
        let first = |generator: &mut Self, n: i64| {
            let value = generator.arg("Int", Arg::Int(n));
            format!("first: {value}")
        };
        match roll {
            0..=19 if !nested => {}
            0..=34 => arguments.push(first(self, n)),
            35..=49 => {
                arguments.push(first(self, n));
                if let Some(cursor) = self.cursor_of(list) {
                    arguments.push(format!("after: {}", self.arg("String", Arg::Str(cursor))));
                }
            }
            50..=59 => arguments.push(format!("last: {}", self.arg("Int", Arg::Int(n)))),
            60..=74 => {
                arguments.push(format!("last: {}", self.arg("Int", Arg::Int(n))));
                if let Some(cursor) = self.cursor_of(list) {
                    arguments.push(format!("before: {}", self.arg("String", Arg::Str(cursor))));
                }
            }
            75..=77 => arguments.push(format!("first: {}", self.arg("Int", Arg::Int(-1)))),
            78..=80 => {
                arguments.push(first(self, n));
                let bad = if self.rng.chance(50) { "bm90IGEgY3Vyc29y" } else { "%%% not base64" };
                arguments.push(format!("after: {}", self.arg("String", Arg::Str(bad.to_owned()))));
            }
            81..=82 => arguments.push(format!("first: {}", self.arg("Int", Arg::Int(101)))),
            83..=84 => arguments.push(format!("last: {}", self.arg("Int", Arg::Int(-3)))),
            85..=87 => {
                // Relay allows `first` with `before`: the page is cut from the other end too.
                arguments.push(first(self, n));
                if let Some(cursor) = self.cursor_of(list) {
                    arguments.push(format!("before: {}", self.arg("String", Arg::Str(cursor))));
                }
            }
            88..=92 => {
                // A cursor of another list (another order, or another kind of row), at the root
                // and on nested lists alike: each page checks its cursors before it joins a batch.
                let lists: Vec<String> = self.pool.cursors.keys().cloned().collect();
                arguments.push(first(self, n));
                if !lists.is_empty() {
                    let other = self.rng.pick(&lists).clone();
                    if let Some(cursor) = self.cursor_of(&other) {
                        let direction = if self.rng.chance(50) { "after" } else { "before" };
                        arguments.push(format!("{direction}: {}", self.arg("String", Arg::Str(cursor))));
                    }
                }
            }
            93..=95 => arguments.push(first(self, 0)),
            _ => {
                arguments.push(first(self, n));
                arguments.push(format!("last: {}", self.arg("Int", Arg::Int(n))));
            }
        }
        arguments
    }

    /// `{ … }` of an object of type `ty` whose fields sit at `level`.
    fn selection(&mut self, ty: Ty, level: usize) -> String {
        let mut items = Vec::new();
        for _ in 0..1 + self.rng.below(4) {
            let (name, meaning) = *self.rng.pick(ty.scalars());
            let want_alias = self.rng.chance(8);
            if let Some(key) = self.key(name, meaning, want_alias) {
                let directive = self.directive();
                items.push(format!("{key}{name}{directive}"));
            }
        }
        if self.rng.chance(12) {
            items.push("__typename".to_owned());
        }
        let relations = match level {
            0..=2 => self.rng.below(3),
            3..=4 => self.rng.below(2),
            _ => usize::from(self.rng.chance(25)),
        };
        for _ in 0..relations {
            let (name, relation) = *self.rng.pick(ty.relations());
            if let Some(item) = self.relation(ty, name, relation, level) {
                items.push(item);
            }
        }
        if self.rng.chance(10) {
            items.push(self.named_fragment(ty, level));
        }
        if self.rng.chance(8) && level < MAX_LEVEL {
            let inner = self.selection(ty, level);
            let condition = if self.rng.chance(60) { format!(" on {}", ty.name()) } else { String::new() };
            let directive = self.directive();
            items.push(format!("...{condition}{directive} {inner}"));
        }
        if items.is_empty() {
            items.push("__typename".to_owned());
        }
        format!("{{ {} }}", items.join(" "))
    }

    /// `...fN`: a new named fragment on `ty`, or one made earlier that fits this level.
    fn named_fragment(&mut self, ty: Ty, level: usize) -> String {
        let fitting: Vec<String> = self
            .reusable
            .iter()
            .filter(|(fragment_ty, _, deepest)| *fragment_ty == ty && *deepest >= level)
            .map(|(_, name, _)| name.clone())
            .collect();
        let name = if !fitting.is_empty() && self.rng.chance(50) {
            self.rng.pick(&fitting).clone()
        } else {
            let name = self.fresh("F");
            let body = self.selection(ty, level);
            self.fragments.push(format!("fragment {name} on {} {body}", ty.name()));
            self.reusable.push((ty, name.clone(), level));
            name
        };
        let directive = self.directive();
        format!("...{name}{directive}")
    }

    /// One field of `parent` with a selection or arguments, at `level`; `None` when it would go
    /// too deep or needs an alias that is not left.
    fn relation(&mut self, parent: Ty, name: &str, relation: Rel, level: usize) -> Option<String> {
        match relation {
            Rel::One(ty) => {
                if level + 1 > MAX_LEVEL {
                    return None;
                }
                let want_alias = self.rng.chance(10);
                let key = self.key(name, &format!("{}.{name}", parent.name()), want_alias)?;
                let directive = self.directive();
                let selection = self.selection(ty, level + 1);
                Some(format!("{key}{name}{directive} {selection}"))
            }
            Rel::Many(ty) => {
                if level + 2 > MAX_LEVEL {
                    return None;
                }
                let list = format!("{}.{name}", parent.name());
                let mark = self.variables.len();
                let mut arguments = Vec::new();
                if ty == Ty::Credit && self.rng.chance(25) {
                    let role = *self.rng.pick(&["CAST", "DIRECTOR", "WRITER", "PRODUCER", "CREW", "VISUAL_EFFECTS"]);
                    arguments.push(format!("role: {}", self.arg("CreditRole", Arg::Enum(role))));
                }
                if parent != Ty::User && self.rng.chance(30) {
                    let given = self.where_value(ty, 0);
                    arguments.push(format!("where: {}", self.arg(&format!("{}Where", ty.name()), given)));
                }
                arguments.extend(self.paging(&list, true));
                let arguments = Self::args(&arguments);
                let want_alias = self.rng.chance(30);
                let key = self.keyed(name, &format!("{list}{arguments}"), want_alias, mark)?;
                self.harvest.insert(response_key(&key, name), list);
                let directive = self.directive();
                let selection = self.connection(ty, level + 1);
                Some(format!("{key}{name}{arguments}{directive} {selection}"))
            }
            Rel::Leaf(selection) => {
                let key = self.key(name, &format!("{}.{name}", parent.name()), false)?;
                Some(format!("{key}{name} {selection}"))
            }
            Rel::Special => {
                let mark = self.variables.len();
                let (arguments, selection) = match name {
                    "startsAtLocal" => {
                        let zone = *self.rng.pick(&["Asia/Tokyo", "America/Los_Angeles", "UTC", "Not/AZone"]);
                        (format!("(timeZone: {})", self.arg("String!", Arg::Str(zone.to_owned()))), "")
                    }
                    _ => {
                        let bucket = *self.rng.pick(&["HOUR", "DAY", "WEEK"]);
                        (format!("(bucket: {})", self.arg("TimeBucket!", Arg::Enum(bucket))), " { start count }")
                    }
                };
                let want_alias = self.rng.chance(20);
                let key = self.keyed(name, &format!("{}.{name}{arguments}", parent.name()), want_alias, mark)?;
                Some(format!("{key}{name}{arguments}{selection}"))
            }
        }
    }

    /// `{ … }` of a connection of `ty` whose fields sit at `level`.
    fn connection(&mut self, ty: Ty, level: usize) -> String {
        let mut items = Vec::new();
        if self.rng.chance(40) {
            items.push("totalCount".to_owned());
        }
        if self.rng.chance(35) {
            let mut fields: Vec<&str> = ["hasNextPage", "hasPreviousPage", "startCursor", "endCursor"]
                .into_iter()
                .filter(|_| self.rng.chance(60))
                .collect();
            if fields.is_empty() {
                fields.push("endCursor");
            }
            items.push(format!("pageInfo {{ {} }}", fields.join(" ")));
        }
        if self.rng.chance(55) && level + 2 <= MAX_LEVEL {
            let cursor = if self.rng.chance(80) { "cursor " } else { "" };
            let node = self.selection(ty, level + 2);
            items.push(format!("edges {{ {cursor}node {node} }}"));
        }
        if self.rng.chance(40) && level < MAX_LEVEL {
            let node = self.selection(ty, level + 1);
            items.push(format!("nodes {node}"));
        }
        if self.rng.chance(5) {
            items.push("__typename".to_owned());
        }
        if items.is_empty() {
            items.push("totalCount".to_owned());
        }
        format!("{{ {} }}", items.join(" "))
    }

    /// `{ … }` of an abstract type (`Node`, or the `SearchResult` union) whose fields sit at
    /// `level`: type conditions on some of `types`.
    fn abstract_selection(&mut self, types: &[Ty], node: bool, level: usize) -> String {
        let mut items = Vec::new();
        if self.rng.chance(50) {
            items.push("__typename".to_owned());
        }
        if node && self.rng.chance(40) {
            items.push("id".to_owned());
            self.response_keys.entry("id".to_owned()).or_insert_with(|| "ID!".to_owned());
        }
        for _ in 0..1 + self.rng.below(3) {
            let ty = *self.rng.pick(types);
            if self.rng.chance(25) {
                items.push(self.named_fragment(ty, level));
            } else {
                let selection = self.selection(ty, level);
                let directive = self.directive();
                items.push(format!("... on {}{directive} {selection}", ty.name()));
            }
        }
        if node && self.rng.chance(10) {
            let name = self.fresh("F");
            self.fragments.push(format!("fragment {name} on Node {{ id __typename }}"));
            items.push(format!("...{name}"));
        }
        format!("{{ {} }}", items.join(" "))
    }

    fn order(&mut self, fields: &[&'static str]) -> Option<Arg> {
        self.rng.chance(45).then(|| {
            let field = *self.rng.pick(fields);
            let direction = if self.rng.chance(50) { "ASC" } else { "DESC" };
            Arg::Object(vec![("field", Arg::Enum(field)), ("direction", Arg::Enum(direction))])
        })
    }

    /// A filter of some of `conditions`, each a name and how to make its value.
    fn filter(&mut self, conditions: &[(&'static str, Condition)]) -> Option<Arg> {
        if !self.rng.chance(50) {
            return None;
        }
        let mut fields = Vec::new();
        for (name, condition) in conditions {
            if self.rng.chance(35) {
                let value = match condition {
                    Condition::Text(choices) => Arg::Str(self.rng.pick(choices).to_string()),
                    Condition::Enum(choices) => Arg::Enum(choices[self.rng.below(choices.len())]),
                    Condition::Id(type_name) => Arg::Str(self.id_of(type_name)),
                    Condition::Bool => Arg::Bool(self.rng.chance(50)),
                };
                fields.push((*name, value));
            }
        }
        Some(Arg::Object(fields))
    }

    /// An `XWhere` of `ty` at nesting `depth`: a few of its fields, each with one or two
    /// operators, and now and then `and`, `or`, `not` or a relation, nested at most three deep.
    fn where_value(&mut self, ty: Ty, depth: usize) -> Arg {
        let mut fields: Vec<(&'static str, Arg)> = Vec::new();
        for _ in 0..1 + self.rng.below(2) {
            let roll = self.rng.below(100);
            let (name, value) = if depth < 3 && roll < 8 {
                let items = (0..self.rng.below(3)).map(|_| self.where_value(ty, depth + 1)).collect();
                (if self.rng.chance(50) { "and" } else { "or" }, Arg::List(items))
            } else if depth < 3 && roll < 18 {
                ("not", self.where_value(ty, depth + 1))
            } else {
                let (name, kind) = self.rng.pick(where_fields(ty));
                let value = match kind {
                    WhereField::Scalar(operand) => self.operators(operand),
                    WhereField::One(_) | WhereField::Many(_) if depth >= 3 => continue,
                    WhereField::One(related) => self.where_value(*related, depth + 1),
                    WhereField::Many(related) => {
                        let mut quantifiers = Vec::new();
                        for quantifier in ["some", "none", "every"] {
                            if self.rng.chance(45) || (quantifier == "every" && quantifiers.is_empty()) {
                                quantifiers.push((quantifier, self.where_value(*related, depth + 1)));
                            }
                        }
                        Arg::Object(quantifiers)
                    }
                };
                (*name, value)
            };
            if !fields.iter().any(|(given, _)| *given == name) {
                fields.push((name, value));
            }
        }
        Arg::Object(fields)
    }

    /// One or two operators of an operator input over `operand`.
    fn operators(&mut self, operand: &Operand) -> Arg {
        let (operators, values): (&[&'static str], Vec<Arg>) = match operand {
            Operand::Text(choices) => (
                &["eq", "ne", "in", "notIn", "contains", "startsWith", "isNull"],
                choices.iter().map(|choice| Arg::Str((*choice).to_owned())).collect(),
            ),
            Operand::Int(choices) => (
                &["eq", "ne", "in", "notIn", "lt", "lte", "gt", "gte", "isNull"],
                choices.iter().map(|choice| Arg::Int(*choice)).collect(),
            ),
            Operand::Ordered(choices) => (
                &["eq", "ne", "in", "notIn", "lt", "lte", "gt", "gte", "isNull"],
                choices.iter().map(|choice| Arg::Str((*choice).to_owned())).collect(),
            ),
            Operand::Enum(choices) => {
                (&["eq", "ne", "in", "notIn"], choices.iter().map(|choice| Arg::Enum(choice)).collect())
            }
            Operand::Id(type_name) => {
                let ids = (0..3).map(|_| Arg::Str(self.id_of(type_name))).collect();
                (&["eq", "in", "notIn"], ids)
            }
        };
        let mut fields: Vec<(&'static str, Arg)> = Vec::new();
        for _ in 0..1 + self.rng.below(2) {
            let operator = *self.rng.pick(operators);
            let value = match operator {
                "isNull" => Arg::Bool(self.rng.chance(50)),
                "in" | "notIn" => Arg::List((0..self.rng.below(4)).map(|_| self.rng.pick(&values).clone()).collect()),
                _ => self.rng.pick(&values).clone(),
            };
            if !fields.iter().any(|(given, _)| *given == operator) {
                fields.push((operator, value));
            }
        }
        Arg::Object(fields)
    }

    /// One root field with its selection.
    fn root_field(&mut self) -> String {
        self.root_mark = self.variables.len();
        let roll = self.rng.below(100);
        match roll {
            0..=9 => self.lookup("film", Ty::Film, true),
            10..=21 => self.list("films", Ty::Film),
            22..=27 => self.lookup("person", Ty::Person, true),
            28..=37 => self.list("people", Ty::Person),
            38..=43 => self.lookup("quote", Ty::Quote, false),
            44..=55 => self.list("quotes", Ty::Quote),
            56..=60 => self.lookup("event", Ty::Event, true),
            61..=69 => self.list("events", Ty::Event),
            70..=74 => self.lookup("petition", Ty::Petition, true),
            75..=82 => self.list("petitions", Ty::Petition),
            83..=88 => {
                let id = self.id_of("Film");
                let id = self.arg("ID!", Arg::Str(id));
                self.root("node", &format!("(id: {id})"), |generator| generator.abstract_selection(&ALL_NODES, true, 2))
            }
            89..=90 => {
                let ids: Vec<Arg> = (0..1 + self.rng.below(4)).map(|_| Arg::Str(self.id_of("Quote"))).collect();
                let ids = self.arg("[ID!]!", Arg::List(ids));
                self.root("nodes", &format!("(ids: {ids})"), |generator| {
                    generator.abstract_selection(&ALL_NODES, true, 2)
                })
            }
            91..=93 => {
                let text = *self.rng.pick(&["alita", "Fixture", "rosa salaz", "film 0", "zzzz", "!!", "quote number"]);
                let text = self.arg("String!", Arg::Str(text.to_owned()));
                let first = self.rng.between(1, 8);
                let first = self.arg("Int", Arg::Int(first));
                let results = [Ty::Film, Ty::Person, Ty::Quote, Ty::Event, Ty::Petition];
                if self.rng.chance(50) {
                    self.root("search", &format!("(query: {text}, first: {first})"), |generator| {
                        generator.abstract_selection(&results, false, 2)
                    })
                } else {
                    self.root("searchHits", &format!("(query: {text}, first: {first})"), |generator| {
                        let node = generator.abstract_selection(&results, false, 3);
                        format!("{{ snippet rank node {node} }}")
                    })
                }
            }
            94..=96 => self.root("me", "", |generator| generator.selection(Ty::User, 2)),
            _ => {
                let petitions = self.rng.between(1, 4);
                let events = self.rng.between(1, 4);
                self.root("campaign", "", |generator| {
                    let mut items = vec![
                        "totals { films people publishedQuotes events upcomingEvents petitions openPetitions signatures fans }"
                            .to_owned(),
                    ];
                    // Keyed like any field with arguments: two `campaign`s in one query merge.
                    for (name, first, ty) in
                        [("topPetitions", petitions, Ty::Petition), ("upcomingEvents", events, Ty::Event)]
                    {
                        let arguments = format!("(first: {first})");
                        let want_alias = generator.rng.chance(10);
                        if let Some(key) = generator.key(name, &format!("Campaign.{name}{arguments}"), want_alias) {
                            let selection = generator.selection(ty, 3);
                            items.push(format!("{key}{name}{arguments} {selection}"));
                        }
                    }
                    format!("{{ {} }}", items.join(" "))
                })
            }
        }
    }

    /// `name(arguments) selection` at the root, aliased when its response key is taken.
    fn root(&mut self, name: &str, arguments: &str, selection: impl FnOnce(&mut Self) -> String) -> String {
        let want_alias = self.rng.chance(15);
        let Some(key) = self.keyed(name, &format!("Query.{name}{arguments}"), want_alias, self.root_mark) else {
            return "__typename".to_owned();
        };
        let directive = self.directive();
        let selection = selection(self);
        format!("{key}{name}{arguments}{directive} {selection}")
    }

    /// `film(id: …)`, `film(slug: …)`, now and then both or neither (errors).
    fn lookup(&mut self, name: &str, ty: Ty, by_slug: bool) -> String {
        let roll = self.rng.below(100);
        let mut arguments = Vec::new();
        let id_type = if by_slug { "ID" } else { "ID!" };
        if !by_slug || !(45..95).contains(&roll) {
            let id = self.id_of(ty.name());
            arguments.push(format!("id: {}", self.arg(id_type, Arg::Str(id))));
        }
        if by_slug && (45..=96).contains(&roll) {
            let slug = self.slug_of(ty.name());
            arguments.push(format!("slug: {}", self.arg("String", Arg::Str(slug))));
        }
        let arguments = Self::args(&arguments);
        self.root(name, &arguments, |generator| generator.selection(ty, 2))
    }

    /// A root list with a filter, an order and paging.
    fn list(&mut self, name: &'static str, ty: Ty) -> String {
        let (filter_type, order_type, orders, conditions): (&str, &str, &[&'static str], &[(&'static str, Condition)]) =
            match ty {
                Ty::Film => ("FilmFilter", "FilmOrder", &["TITLE", "RELEASE_DATE", "CREATED_AT"], FILM_FILTER),
                Ty::Person => ("PersonFilter", "PersonOrder", &["NAME", "BIRTH_DATE", "CREATED_AT"], PERSON_FILTER),
                Ty::Quote => ("QuoteFilter", "QuoteOrder", &["CREATED_AT", "SAID_ON"], QUOTE_FILTER),
                Ty::Event => ("EventFilter", "EventOrder", &["STARTS_AT", "TITLE", "CREATED_AT"], EVENT_FILTER),
                _ => {
                    ("PetitionFilter", "PetitionOrder", &["CREATED_AT", "TITLE", "CLOSES_AT", "GOAL"], PETITION_FILTER)
                }
            };
        let mut arguments = Vec::new();
        if let Some(filter) = self.filter(conditions) {
            arguments.push(format!("filter: {}", self.arg(filter_type, filter)));
        }
        if self.rng.chance(40) {
            let given = self.where_value(ty, 0);
            arguments.push(format!("where: {}", self.arg(&format!("{}Where", ty.name()), given)));
        }
        let order = self.order(orders);
        let list = match &order {
            Some(order) => format!("{name} {}", order.literal()),
            None => name.to_owned(),
        };
        if let Some(order) = order {
            arguments.push(format!("orderBy: {}", self.arg(order_type, order)));
        }
        arguments.extend(self.paging(&list, false));
        let arguments = Self::args(&arguments);
        let want_alias = self.rng.chance(25);
        let Some(key) = self.keyed(name, &format!("Query.{name}{arguments}"), want_alias, self.root_mark) else {
            return "__typename".to_owned();
        };
        self.harvest.insert(response_key(&key, name), list);
        let directive = self.directive();
        let selection = self.connection(ty, 2);
        format!("{key}{name}{arguments}{directive} {selection}")
    }
}

/// The key a field answers under: its alias (`"aN: "`), or its name.
fn response_key(key: &str, name: &str) -> String {
    key.strip_suffix(": ").unwrap_or(name).to_owned()
}

const ALL_NODES: [Ty; 9] =
    [Ty::Film, Ty::Person, Ty::Credit, Ty::Quote, Ty::Event, Ty::Petition, Ty::Signature, Ty::Rsvp, Ty::User];

/// How to make the value of one filter condition.
enum Condition {
    Text(&'static [&'static str]),
    Enum(&'static [&'static str]),
    Id(&'static str),
    Bool,
}

const FILM_FILTER: &[(&str, Condition)] = &[
    ("titleContains", Condition::Text(&["Fixture", "film 0", "ALITA", "zzz", "é", "%"])),
    ("status", Condition::Enum(&["RELEASED", "ANNOUNCED", "IN_PRODUCTION", "REQUESTED_BY_FANS"])),
    ("releasedAfter", Condition::Text(&["2000-01-10", "2019-01-01", "1999-12-31", "2020-02-30"])),
    ("releasedBefore", Condition::Text(&["2000-02-01", "2030-01-01", "2000-01-20"])),
];
const PERSON_FILTER: &[(&str, Condition)] = &[
    ("nameContains", Condition::Text(&["Fixture", "person 0", "ROSA", "cameron", "q", "_"])),
    ("filmId", Condition::Id("Film")),
];
const QUOTE_FILTER: &[(&str, Condition)] = &[
    ("personId", Condition::Id("Person")),
    ("filmId", Condition::Id("Film")),
    ("textContains", Condition::Text(&["number 1", "Alita", "QUOTE", "xyz", "(pending)"])),
    ("status", Condition::Enum(&["PENDING", "PUBLISHED", "REJECTED"])),
];
const EVENT_FILTER: &[(&str, Condition)] = &[
    ("kind", Condition::Enum(&["MEETUP", "WATCH_PARTY", "SCREENING", "HASHTAG_CAMPAIGN", "PANEL"])),
    ("filmId", Condition::Id("Film")),
    ("city", Condition::Text(&["london", "TOKYO", "Paris"])),
    ("country", Condition::Text(&["gb", "JP", "NZ", "gbr"])),
    ("hashtag", Condition::Text(&["#alitasequel", "AlitaSequel", "x"])),
    ("startsAfter", Condition::Text(&["2020-01-03T00:00:00Z", "2019-01-01T00:00:00+02:00", "yesterday"])),
    ("startsBefore", Condition::Text(&["2020-01-05T12:00:00Z", "2100-01-01T00:00:00Z"])),
    ("upcoming", Condition::Bool),
];
const PETITION_FILTER: &[(&str, Condition)] =
    &[("status", Condition::Enum(&["OPEN", "CLOSED", "VICTORY"])), ("filmId", Condition::Id("Film"))];

/// How to make the operand of one `XWhere` scalar field.
enum Operand {
    Text(&'static [&'static str]),
    Int(&'static [i64]),
    /// Dates and instants, written as text.
    Ordered(&'static [&'static str]),
    Enum(&'static [&'static str]),
    Id(&'static str),
}

/// One field of an `XWhere`: an operator input, or a relation.
enum WhereField {
    Scalar(Operand),
    One(Ty),
    Many(Ty),
}

const DATES: &[&str] = &["2000-01-10", "2019-01-01", "1970-01-03", "2000-02-01"];
const INSTANTS: &[&str] =
    &["2020-01-03T00:00:00Z", "2020-01-01T12:00:00Z", "2019-06-01T00:00:00+02:00", "2100-01-01T00:00:00Z"];

/// The fields of `ty`'s `XWhere` the walk writes.
fn where_fields(ty: Ty) -> &'static [(&'static str, WhereField)] {
    use Operand::*;
    use WhereField::*;
    match ty {
        Ty::Film => &[
            ("id", Scalar(Id("Film"))),
            ("title", Scalar(Text(&["Fixture Film 01", "film 0", "ALITA", "é", "%"]))),
            ("tagline", Scalar(Text(&["The sequel to film 0", "sequel", "x"]))),
            ("releaseDate", Scalar(Ordered(DATES))),
            ("status", Scalar(Enum(&["RELEASED", "ANNOUNCED", "REQUESTED_BY_FANS"]))),
            ("runtimeMinutes", Scalar(Int(&[0, 120]))),
            ("createdAt", Scalar(Ordered(INSTANTS))),
            ("sequelOf", One(Ty::Film)),
            ("sequels", Many(Ty::Film)),
            ("credits", Many(Ty::Credit)),
            ("quotes", Many(Ty::Quote)),
            ("petitions", Many(Ty::Petition)),
        ],
        Ty::Person => &[
            ("id", Scalar(Id("Person"))),
            ("slug", Scalar(Text(&["fixture-person-1", "rosa-salazar", "fixture"]))),
            ("name", Scalar(Text(&["Fixture Person 01", "person 0", "ROSA"]))),
            ("birthDate", Scalar(Ordered(DATES))),
            ("credits", Many(Ty::Credit)),
            ("quotes", Many(Ty::Quote)),
        ],
        Ty::Credit => &[
            ("role", Scalar(Enum(&["CAST", "DIRECTOR", "WRITER", "VISUAL_EFFECTS"]))),
            ("billingOrder", Scalar(Int(&[1, 2, 3]))),
            ("character", Scalar(Text(&["Alita", "x"]))),
            ("film", One(Ty::Film)),
            ("person", One(Ty::Person)),
        ],
        Ty::Quote => &[
            ("id", Scalar(Id("Quote"))),
            ("text", Scalar(Text(&["number 1", "Alita", "(pending)"]))),
            ("saidOn", Scalar(Ordered(&["2019-01-01", "2019-01-02", "2020-01-01"]))),
            ("status", Scalar(Enum(&["PENDING", "PUBLISHED", "REJECTED"]))),
            ("person", One(Ty::Person)),
            ("film", One(Ty::Film)),
        ],
        Ty::Event => &[
            ("kind", Scalar(Enum(&["MEETUP", "WATCH_PARTY", "HASHTAG_CAMPAIGN"]))),
            ("city", Scalar(Text(&["London", "tokyo", "Paris"]))),
            ("hashtag", Scalar(Text(&["#AlitaSequel", "alita"]))),
            ("capacity", Scalar(Int(&[5, 10]))),
            ("rsvpCount", Scalar(Int(&[0, 1, 2]))),
            ("startsAt", Scalar(Ordered(INSTANTS))),
            ("endsAt", Scalar(Ordered(INSTANTS))),
            ("film", One(Ty::Film)),
        ],
        Ty::Petition => &[
            ("status", Scalar(Enum(&["OPEN", "CLOSED", "VICTORY"]))),
            ("goal", Scalar(Int(&[100, 101, 102]))),
            ("closesAt", Scalar(Ordered(INSTANTS))),
            ("signatureCount", Scalar(Int(&[0, 1, 2]))),
            ("film", One(Ty::Film)),
            ("signatures", Many(Ty::Signature)),
        ],
        Ty::Signature => &[
            ("country", Scalar(Text(&["NZ", "GB", "nz"]))),
            ("createdAt", Scalar(Ordered(INSTANTS))),
            ("petition", One(Ty::Petition)),
        ],
        Ty::User | Ty::Rsvp => &[("createdAt", Scalar(Ordered(INSTANTS)))],
    }
}

/// Which documents `TestApp::graphql` sends through both read paths.
#[test]
fn only_documents_of_queries_are_compared_on_both_read_paths() {
    use crate::support::app::is_read;
    for read in [
        "{ films { totalCount } }",
        "  # a comment\n query Q($n: Int) { films(first: $n) { totalCount } }",
        "query { a: film(slug: \"mutation { x }\") { title } }",
        "query { film(slug: \"\"\"\nsubscription \\\"\"\" { }\n\"\"\") { title } }",
        "fragment F on Film { title } query { film(slug: \"alita\") { ...F } }",
        "{ films { totalCount }",
        ",\u{feff}{ __typename }",
    ] {
        assert!(is_read(read), "a read: {read}");
    }
    for not_read in [
        "mutation { logout(refreshToken: \"x\") }",
        "subscription { petitionSignatureCount(petitionId: \"x\") { goal } }",
        "query A { __typename } mutation B { logout(refreshToken: \"x\") }",
        "# { films }\nmutation { logout(refreshToken: \"{\") }",
        "fragment F on Film { title }",
        "",
        "   ",
    ] {
        assert!(!is_read(not_read), "not a read: {not_read}");
    }
}
