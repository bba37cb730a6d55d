//! `sourceArticles`: the articles a film, person, quote, event or petition draws on, as the
//! domain stores them (see `domain::sources`).

/// An article a record draws on, named as the article gives it: its publication and its headline
/// (either is null when the article does not say).
#[derive(async_graphql::SimpleObject)]
pub(crate) struct SourceArticle {
    publication: Option<String>,
    headline: Option<String>,
}

/// The `sourceArticles` of a record, from its stored column.
pub(crate) fn source_articles(column: Option<&str>) -> Vec<SourceArticle> {
    crate::domain::sources::decode(column)
        .into_iter()
        .map(|article| SourceArticle { publication: article.publication, headline: article.headline })
        .collect()
}

/// What the read planner builds for a field of `SourceArticle`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SourceArticleRead {
    Publication,
    Headline,
}

/// The read declaration of `SourceArticle` (the planner's test holds it to the schema).
pub(crate) const SOURCE_ARTICLE_READS: [(&str, SourceArticleRead); 2] =
    [("publication", SourceArticleRead::Publication), ("headline", SourceArticleRead::Headline)];
