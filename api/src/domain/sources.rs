//! Where a record comes from: the articles it draws on, each named by its publication and its
//! headline as the article gives them (either may be missing when the article does not say; no
//! URL is ever made up). Stored as a JSON list in each table's `source_articles` column.

use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use serde::{Deserialize, Serialize};

use super::{DomainError, DomainResult, validate};

/// One article a record draws on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct SourceArticle {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) publication: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) headline: Option<String>,
}

/// The most articles one record names.
const MAX_ARTICLES: usize = 20;

/// Checks `articles` (`field` names them in errors) and returns the column's value: `None` for
/// none.
pub(crate) fn encode(field: &str, articles: &[SourceArticle]) -> DomainResult<Option<String>> {
    if articles.is_empty() {
        return Ok(None);
    }
    if articles.len() > MAX_ARTICLES {
        return Err(DomainError::invalid(field, format!("must name at most {MAX_ARTICLES} articles")));
    }
    let mut checked = Vec::with_capacity(articles.len());
    for (index, article) in articles.iter().enumerate() {
        let publication =
            validate::optional_text(&format!("{field}[{index}].publication"), article.publication.as_deref(), 200)?;
        let headline =
            validate::optional_text(&format!("{field}[{index}].headline"), article.headline.as_deref(), 500)?;
        if publication.is_none() && headline.is_none() {
            return Err(DomainError::invalid(format!("{field}[{index}]"), "must give a publication or a headline"));
        }
        checked.push(SourceArticle { publication, headline });
    }
    serde_json::to_string(&checked)
        .map(Some)
        .map_err(|error| DomainError::Internal(format!("source articles: {error}")))
}

/// The articles stored in a `source_articles` column (none when empty or unreadable).
pub(crate) fn decode(column: Option<&str>) -> Vec<SourceArticle> {
    column.and_then(|text| serde_json::from_str(text).ok()).unwrap_or_default()
}

/// Stores `articles` as the sources of row `id` of `E` (an import's records name theirs).
pub(crate) async fn store<E, C>(
    db: &C,
    id_column: E::Column,
    column: E::Column,
    id: i64,
    articles: &[SourceArticle],
) -> DomainResult<()>
where
    E: EntityTrait,
    C: ConnectionTrait,
{
    let value = encode("sources", articles)?;
    E::update_many().col_expr(column, Expr::value(value)).filter(id_column.eq(id)).exec(db).await?;
    Ok(())
}
