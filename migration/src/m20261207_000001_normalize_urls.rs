//! Every URL column holds only what the API now accepts, in the form it stores: an absolute URL
//! of an allowed scheme (http or https for links, https for images) with a host, no credentials,
//! no whitespace, control characters or backslashes, written as the URL standard's parser writes
//! it. A stored value that cannot be mended so (`javascript:…`, `http://user:pw@…`, a line break
//! that would start a new line in a calendar file) is cleared. The rule is copied here as it
//! stands today, since a landed migration never changes with the code.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, Statement};

/// Normalizes or clears stored URLs.
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261207_000001_normalize_urls"
    }
}

const LINK: &[&str] = &["http", "https"];
const IMAGE: &[&str] = &["https"];

/// Each URL column, and the schemes it may hold.
const COLUMNS: [(&str, &str, &[&str]); 6] = [
    ("events", "online_url", LINK),
    ("quotes", "source_url", LINK),
    ("events", "image_url", IMAGE),
    ("films", "poster_url", IMAGE),
    ("people", "photo_url", IMAGE),
    ("petitions", "image_url", IMAGE),
];

/// The longest URL kept.
const MAX_CHARS: usize = 2048;

/// The stored form of `value`, or `None` when it is not an acceptable URL.
fn normalized(value: &str, schemes: &[&str]) -> Option<String> {
    let value = value.trim();
    if value.chars().any(|c| c.is_whitespace() || c.is_control() || c == '\\') {
        return None;
    }
    let parsed = url::Url::parse(value).ok()?;
    let acceptable = schemes.contains(&parsed.scheme())
        && parsed.host_str().is_some_and(|host| !host.is_empty())
        && parsed.username().is_empty()
        && parsed.password().is_none();
    let normalized = parsed.as_str();
    (acceptable && normalized.chars().count() <= MAX_CHARS).then(|| normalized.to_owned())
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let backend = manager.get_database_backend();
        for (table, column, schemes) in COLUMNS {
            let select = format!("SELECT id, {column} FROM {table} WHERE {column} IS NOT NULL");
            for row in db.query_all_raw(Statement::from_string(backend, select)).await? {
                let id: i64 = row.try_get("", "id")?;
                let stored: String = row.try_get("", column)?;
                let cleaned = normalized(&stored, schemes);
                if cleaned.as_deref() == Some(stored.as_str()) {
                    continue;
                }
                let update = Query::update()
                    .table(Alias::new(table))
                    .value(Alias::new(column), cleaned)
                    .and_where(Expr::col(Alias::new("id")).eq(id))
                    .to_owned();
                manager.exec_stmt(update).await?;
            }
        }
        Ok(())
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        // What was cleared is gone; the mended values are as good as the old ones.
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_urls_are_mended_or_cleared() {
        assert_eq!(normalized("https://Example.com/a b", LINK), None);
        assert_eq!(
            normalized("HTTPS://Example.COM/poster.jpg", IMAGE).as_deref(),
            Some("https://example.com/poster.jpg")
        );
        assert_eq!(normalized("http://user:pw@127.0.0.1/", LINK), None);
        assert_eq!(normalized("https://example.com/\r\nX-Injected: 1", LINK), None);
        assert_eq!(normalized("javascript:alert(1)", LINK), None);
        assert_eq!(normalized("http://x.example/\"><img src=x>", LINK).as_deref(), None);
        assert_eq!(
            normalized("http://example.com/path?q=\"x\"", LINK).as_deref(),
            Some("http://example.com/path?q=%22x%22")
        );
        assert_eq!(normalized("http://example.com/", IMAGE), None);
    }
}
