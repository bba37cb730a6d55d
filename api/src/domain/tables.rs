//! The tables a read names and a change touches, as bit masks: the response cache keeps, with each
//! answer, the tables its statements named, and drops on a change only the answers that named a
//! table the change touched (`http::response_cache`).

use super::counters::Counter;

/// Tables as bits; a table not listed here is covered by `ALL` only.
const TABLES: [&str; 14] = [
    "films",
    "people",
    "credits",
    "quotes",
    "events",
    "petitions",
    "petition_updates",
    "signatures",
    "rsvps",
    "users",
    "petition_count_slots",
    "event_count_slots",
    "audit_events",
    "search_index",
];

/// Every table: what a read the cache cannot see into, or a change of unknown reach, stands for.
pub(crate) const ALL: u64 = u64::MAX;

fn bit(table: &str) -> u64 {
    TABLES.iter().position(|known| *known == table).map_or(ALL, |index| 1 << index)
}

/// The known tables `sql` names (as a whole word, quoted or not). A statement may name a table
/// without reading it (a string constant spelling its name), which only drops an answer more often.
pub(crate) fn named_in(sql: &str) -> u64 {
    TABLES.iter().filter(|table| names_word(sql, table)).fold(0, |mask, table| mask | bit(table))
}

fn names_word(sql: &str, word: &str) -> bool {
    let is_word_char = |c: char| c.is_ascii_alphanumeric() || c == '_';
    sql.match_indices(word).any(|(at, _)| {
        let before = sql[..at].chars().next_back();
        let after = sql[at + word.len()..].chars().next();
        !before.is_some_and(is_word_char) && !after.is_some_and(is_word_char)
    })
}

/// The tables a notice of `counter` says changed. A count: the slots, the rows counted and the row
/// that holds the folded count. Updates: every table, since a new publication time also moves the
/// next moment the response cache must drop everything. Records: the notice's own mask (`id`,
/// `notify::ALL_RECORDS` for every table).
pub(crate) fn changed_by(counter: Counter, id: i64) -> u64 {
    match counter {
        Counter::Petition => bit("petitions") | bit("petition_count_slots") | bit("signatures"),
        Counter::Event => bit("events") | bit("event_count_slots") | bit("rsvps"),
        Counter::PetitionUpdates => ALL,
        Counter::Records => u64::from_ne_bytes(id.to_ne_bytes()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_table_counts_only_as_a_whole_word() {
        let sql =
            r#"SELECT "petitions"."signature_count" + (SELECT SUM(delta) FROM petition_count_slots) FROM "petitions""#;
        assert_eq!(named_in(sql), bit("petitions") | bit("petition_count_slots"));
        assert_eq!(named_in(r#"SELECT "p1"."signatures_visible" FROM "films" AS "p1""#), bit("films"));
        assert_eq!(named_in("SELECT 1"), 0);
    }

    #[test]
    fn every_listed_table_has_its_own_bit() {
        let all = TABLES.iter().fold(0, |mask, table| mask | bit(table));
        assert_eq!(all.count_ones() as usize, TABLES.len());
    }
}
