//! GraphiQL, pointed at `/graphql`, and the redirect from `/` to it.

use actix_web::HttpResponse;
use actix_web::http::header;

const PAGE: &str = r#"<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>fandb · GraphiQL</title>
  <link rel="stylesheet" href="https://unpkg.com/graphiql@3.8.3/graphiql.min.css">
  <style>html, body, #graphiql { height: 100%; margin: 0; }</style>
</head>
<body>
  <div id="graphiql">Loading GraphiQL… (it needs unpkg.com; the API itself is at <code>/graphql</code>)</div>
  <script crossorigin src="https://unpkg.com/react@18.3.1/umd/react.production.min.js"></script>
  <script crossorigin src="https://unpkg.com/react-dom@18.3.1/umd/react-dom.production.min.js"></script>
  <script crossorigin src="https://unpkg.com/graphiql@3.8.3/graphiql.min.js"></script>
  <script>
    const fetcher = GraphiQL.createFetcher({ url: new URL('/graphql', window.location.href).toString() });
    const defaultQuery = `# Welcome to fandb, the #AlitaArmy fan database.
{
  film(slug: "alita-battle-angel") {
    title
    releaseDate
    boxOfficeUsd
    credits {
      nodes { role character person { name } }
    }
    sequels { nodes { title status } }
  }
}
`;
    ReactDOM.createRoot(document.getElementById('graphiql')).render(
      React.createElement(GraphiQL, { fetcher, defaultQuery, defaultEditorToolsVisibility: true })
    );
  </script>
</body>
</html>
"#;

/// `GET /graphiql`.
pub async fn page() -> HttpResponse {
    HttpResponse::Ok().content_type("text/html; charset=utf-8").body(PAGE)
}

/// `GET /`: to GraphiQL.
pub async fn redirect() -> HttpResponse {
    HttpResponse::TemporaryRedirect().insert_header((header::LOCATION, "/graphiql")).finish()
}
