//! One search box over films, people, published quotes, events, petitions and published petition
//! updates, matched by the database's full-text engine (PostgreSQL `tsvector`/GIN, SQLite FTS5), accent- and
//! case-insensitive, with the last word matched as a prefix for as-you-type. The query is reduced
//! to its words before it reaches SQL, so punctuation or operators can never make a database
//! error; a query with no words finds nothing.
//!
//! Both databases rank by one rule (see `Hit::rank`): mostly how much of a record's title the query
//! is, so the record a query names comes first, and a little the engine's own text score. The
//! engines' scores alone do not do: FTS5's bm25 floors the weight of a word found in more than half
//! the rows at 1e-6 (in the Alita data set, "alita" is), leaving every rank near zero and the order
//! to document lengths, and `ts_rank` does not weigh a title's length at all.

use sea_orm::{ConnectionTrait, DatabaseBackend, DatabaseConnection, Statement};

use super::{DomainError, DomainResult};

/// The longest query accepted, in characters.
pub(crate) const MAX_QUERY_CHARS: usize = 200;
/// Results when `first` is not given, and the most it may ask for.
pub(crate) const DEFAULT_RESULTS: u64 = 10;
pub(crate) const MAX_RESULTS: u64 = 50;
/// Words of a query that count (the rest are ignored).
const MAX_WORDS: usize = 8;

/// What kind of record matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Film,
    Person,
    Quote,
    Event,
    Petition,
    /// News posted to a petition (only once published).
    PetitionUpdate,
}

impl Kind {
    fn from_name(name: &str) -> Option<Self> {
        match name {
            "film" => Some(Self::Film),
            "person" => Some(Self::Person),
            "quote" => Some(Self::Quote),
            "event" => Some(Self::Event),
            "petition" => Some(Self::Petition),
            "petition_update" => Some(Self::PetitionUpdate),
            _ => None,
        }
    }
}

/// One match, best first.
#[derive(Debug, Clone)]
pub(crate) struct Hit {
    pub(crate) kind: Kind,
    pub(crate) id: i64,
    /// Higher is better, from 0 to `1 + BODY_SHARE`: the share of the record's title the query
    /// makes up (the query's length over the title's, in characters; 0 unless every word is in the
    /// title), plus `BODY_SHARE` times the engine's score relative to the best match's.
    pub(crate) rank: f64,
    /// The matching text with the matched words between « and ».
    pub(crate) snippet: String,
}

/// How much the engine's text score (over title and body) counts beside the title's share.
const BODY_SHARE: f64 = 0.1;

/// The words of a query: letters and digits only, at most `MAX_WORDS` of at most 40 characters.
fn words(query: &str) -> Vec<String> {
    query
        .split(|character: char| !character.is_alphanumeric())
        .filter(|word| !word.is_empty())
        .take(MAX_WORDS)
        .map(|word| word.chars().take(40).collect())
        .collect()
}

/// The best `first` matches of `query`.
pub(crate) async fn search(db: &DatabaseConnection, query: &str, first: Option<i32>) -> DomainResult<Vec<Hit>> {
    if query.chars().count() > MAX_QUERY_CHARS {
        return Err(DomainError::invalid("query", format!("must be at most {MAX_QUERY_CHARS} characters")));
    }
    let limit = match first {
        None => DEFAULT_RESULTS,
        Some(value) if value < 0 => return Err(DomainError::invalid("first", "must not be negative")),
        Some(value) if value as u64 > MAX_RESULTS => {
            return Err(DomainError::invalid("first", format!("must be at most {MAX_RESULTS}")));
        }
        Some(value) => value as u64,
    };
    let words = words(query);
    if words.is_empty() || limit == 0 {
        return Ok(Vec::new());
    }
    let backend = db.get_database_backend();
    // The query as the words it was reduced to, the measure of a title's share.
    let length = words.join(" ").chars().count() as i64;
    let statement = match backend {
        DatabaseBackend::Postgres => postgres_statement(&words, length, limit),
        _ => sqlite_statement(&words, length, limit),
    };
    let rows = db.query_all_raw(statement).await?;
    rows.iter()
        .map(|row| {
            let column = |error: sea_orm::DbErr| DomainError::Internal(format!("search row: {error}"));
            let kind: String = row.try_get("", "kind").map_err(column)?;
            let id: i64 = row.try_get("", "id").map_err(column)?;
            let rank: f64 = row.try_get("", "rank").map_err(column)?;
            let snippet: String = row.try_get("", "snippet").map_err(column)?;
            let kind = Kind::from_name(&kind).ok_or_else(|| DomainError::Internal(format!("search kind {kind}")))?;
            // Fields are joined with spaces to be indexed; an empty one leaves a space at an end.
            let snippet = snippet.trim().to_owned();
            Ok(Hit { kind, id, rank, snippet })
        })
        .collect()
}

/// A searchable table: its kind (as the API names it) and the SQL of its title (weighted above the
/// rest, and quoted first in a snippet) and of the rest of its text, over a row alias. The runtime
/// keeps its own list: a migration is frozen history, and the two agree only while the migration
/// that made the index is the last word on it (a test searches every kind on both databases).
struct Searchable {
    table: &'static str,
    kind: &'static str,
    title: &'static [&'static str],
    body: &'static [&'static str],
}

impl Searchable {
    fn title(&self, row: &str) -> String {
        joined(row, self.title)
    }

    fn body(&self, row: &str) -> String {
        joined(row, self.body)
    }
}

fn joined(row: &str, columns: &[&str]) -> String {
    columns.iter().map(|column| format!("coalesce({row}.{column}, '')")).collect::<Vec<_>>().join(" || ' ' || ")
}

/// Every searchable table.
const SEARCHABLE: [Searchable; 6] = [
    Searchable { table: "films", kind: "film", title: &["title"], body: &["tagline", "synopsis", "distributor"] },
    Searchable { table: "people", kind: "person", title: &["name"], body: &["bio"] },
    Searchable { table: "quotes", kind: "quote", title: &["text"], body: &["source", "context"] },
    Searchable {
        table: "events",
        kind: "event",
        title: &["title"],
        body: &["description", "venue", "city", "hashtag"],
    },
    Searchable { table: "petitions", kind: "petition", title: &["title"], body: &["target", "body"] },
    Searchable { table: "petition_updates", kind: "petition_update", title: &["title"], body: &["body_markdown"] },
];

/// `'still' & 'might' & 'happen':*`, built by the database from the unaccented words: unaccent can
/// turn a letter into punctuation (`ʼ` becomes `'`), so each word is quoted as a tsquery lexeme
/// only after unaccenting, and a word that unaccents to nothing is dropped. The title is what the
/// `search` column weighs `A`.
fn postgres_statement(words: &[String], length: i64, limit: u64) -> Statement {
    let last = words.len();
    let rows = (1..=last).map(|n| format!("(${n}::text, {n})")).collect::<Vec<_>>().join(", ");
    let lexeme = r"'''' || replace(replace(fandb_unaccent(word), '\', '\\'), '''', '''''') || ''''";
    let tsquery = format!(
        "SELECT to_tsquery('simple', string_agg({lexeme} || CASE WHEN n = {last} THEN ':*' ELSE '' END, \
         ' & ' ORDER BY n)) AS query FROM (VALUES {rows}) AS words(word, n) WHERE fandb_unaccent(word) <> ''"
    );
    let (length_parameter, limit_parameter) = (last + 1, last + 2);
    let matches = SEARCHABLE
        .iter()
        .map(|searchable| {
            let published = match searchable.kind {
                "quote" => " AND t.status = 'PUBLISHED'",
                "petition_update" => " AND t.published_at <= now()",
                _ => "",
            };
            format!(
                "SELECT '{kind}' AS kind, t.id, \
                 CASE WHEN ts_filter(t.search, '{{a}}') @@ q.query \
                 THEN LEAST(1.0, ${length_parameter}::float8 / GREATEST(length({title}), 1)) ELSE 0.0 END AS title_share, \
                 ts_rank(t.search, q.query)::float8 AS score FROM {table} t, q \
                 WHERE t.search @@ q.query{published}",
                kind = searchable.kind,
                table = searchable.table,
                title = searchable.title("t"),
            )
        })
        .collect::<Vec<_>>()
        .join(" UNION ALL ");
    // The snippet quotes one field as stored, as SQLite's does: the title when the whole query
    // matches it or the rest does not, else the rest. `fandb_headline` unaccents each word only to
    // compare it, so the words shown are the record's own.
    let headline = |text: &str| {
        format!(
            "ts_headline('fandb_headline', {text}, q.query, 'StartSel=«, StopSel=», MaxWords=18, MinWords=6, MaxFragments=1')"
        )
    };
    let snippets = SEARCHABLE
        .iter()
        .map(|searchable| {
            let (title, body) = (searchable.title("t"), searchable.body("t"));
            format!(
                "WHEN '{kind}' THEN (SELECT CASE WHEN to_tsvector('fandb_headline', {title}) @@ q.query \
                 OR NOT to_tsvector('fandb_headline', {body}) @@ q.query THEN {title_headline} ELSE {body_headline} END \
                 FROM {table} t WHERE t.id = top.id)",
                kind = searchable.kind,
                table = searchable.table,
                title_headline = headline(&title),
                body_headline = headline(&body),
            )
        })
        .collect::<Vec<_>>()
        .join(" ");
    let sql = format!(
        "WITH q AS ({tsquery}), hits AS ({matches}), \
         top AS (SELECT kind, id, title_share + {BODY_SHARE} * COALESCE(score / NULLIF(MAX(score) OVER (), 0), 0) AS rank \
                 FROM hits ORDER BY rank DESC, kind, id LIMIT ${limit_parameter}) \
         SELECT top.kind, top.id, top.rank::float8 AS rank, CASE top.kind {snippets} END AS snippet \
         FROM top, q ORDER BY top.rank DESC, top.kind, top.id"
    );
    let mut values: Vec<sea_orm::Value> = words.iter().map(|word| word.as_str().into()).collect();
    values.push(length.into());
    values.push((limit as i64).into());
    Statement::from_sql_and_values(DatabaseBackend::Postgres, sql, values)
}

/// `"still" "might" "happen"*` against FTS5; the same query within the `title` column tells a
/// title match. bm25's weights follow the table's columns: `kind` and `record_id` (not indexed,
/// 0), then `title` (10) and `body` (1); its score is negative, more negative better, so the best
/// match's is the least.
fn sqlite_statement(words: &[String], length: i64, limit: u64) -> Statement {
    let last = words.len() - 1;
    let fts_query = words
        .iter()
        .enumerate()
        .map(|(index, word)| if index == last { format!("\"{word}\"*") } else { format!("\"{word}\"") })
        .collect::<Vec<_>>()
        .join(" ");
    let title_query = format!("{{title}} : ({fts_query})");
    let sql = format!(
        "SELECT kind, id, rank, snippet FROM ( \
           SELECT kind, id, snippet, \
                  title_share + {BODY_SHARE} * COALESCE(score / NULLIF(MIN(score) OVER (), 0), 0) AS rank \
           FROM ( \
             SELECT kind, record_id AS id, \
                    CASE WHEN rowid IN (SELECT rowid FROM search_index WHERE search_index MATCH ?4) \
                    THEN min(1.0, CAST(?5 AS REAL) / max(length(title), 1)) ELSE 0.0 END AS title_share, \
                    bm25(search_index, 0.0, 0.0, 10.0, 1.0) AS score, \
                    snippet(search_index, -1, '«', '»', '…', 16) AS snippet \
             FROM search_index WHERE search_index MATCH ?1 \
             AND (kind <> 'quote' OR EXISTS (SELECT 1 FROM quotes WHERE quotes.id = search_index.record_id AND quotes.status = 'PUBLISHED')) \
             AND (kind <> 'petition_update' OR EXISTS (SELECT 1 FROM petition_updates u \
                  WHERE u.id = search_index.record_id AND u.published_at <= ?3)) \
           ) matches \
         ) ranked ORDER BY rank DESC, kind, id LIMIT ?2"
    );
    let now: sea_orm::Value = super::now().into();
    let values: [sea_orm::Value; 5] = [fts_query.into(), (limit as i64).into(), now, title_query.into(), length.into()];
    Statement::from_sql_and_values(DatabaseBackend::Sqlite, sql, values)
}
