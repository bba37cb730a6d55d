//! GraphiQL, pointed at `/graphql`, and the redirect from `/` to it. Its scripts and styles are
//! vendored (`api/static/graphiql`, unmodified npm releases) and served from the binary, so it
//! works offline and behind firewalls.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};

use super::AppState;
use crate::config::Environment;
use crate::domain::sessions::authenticate;

const PAGE: &str = r#"<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>fandb · GraphiQL</title>
  <link rel="stylesheet" href="/graphiql/assets/graphiql.min.css">
  <style>html, body, #graphiql { height: 100%; margin: 0; }</style>
</head>
<body>
  <div id="graphiql">Loading GraphiQL… (the API itself is at <code>/graphql</code>)</div>
  <script src="/graphiql/assets/react.production.min.js"></script>
  <script src="/graphiql/assets/react-dom.production.min.js"></script>
  <script src="/graphiql/assets/graphiql.min.js"></script>
  <script src="/graphiql/assets/graphql-ws.min.js"></script>
  <script>
    const url = new URL('/graphql', window.location.href);
    const socketUrl = url.toString().replace(/^http/, 'ws');
    // Subscriptions authenticate in connection_init with the Authorization header of the Headers pane.
    const wsClient = graphqlWs.createClient({
      url: socketUrl,
      lazy: true,
      connectionParams: () => {
        try {
          const headers = JSON.parse(localStorage.getItem('graphiql:headers') || '{}');
          const authorization = headers.Authorization || headers.authorization;
          return authorization ? { authorization } : {};
        } catch (error) {
          return {};
        }
      },
    });
    const fetcher = GraphiQL.createFetcher({ url: url.toString(), wsClient });
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
      React.createElement(GraphiQL, { fetcher, defaultQuery, defaultEditorToolsVisibility: true, shouldPersistHeaders: true })
    );
  </script>
</body>
</html>
"#;

/// `GET /graphiql`; in production only for a request with an admin's bearer token (anyone else
/// gets 404, as if there were no GraphiQL).
pub(crate) async fn page(state: web::Data<AppState>, request: HttpRequest) -> HttpResponse {
    if state.environment == Environment::Production {
        let admin = match super::bearer(&request) {
            Ok(Some(token)) => authenticate(&state.db, &state.auth, token).await.is_ok_and(|viewer| viewer.is_admin()),
            _ => false,
        };
        if !admin {
            return HttpResponse::NotFound().content_type("text/plain; charset=utf-8").body("not found");
        }
    }
    HttpResponse::Ok().content_type("text/html; charset=utf-8").body(PAGE)
}

/// `GET /`: to GraphiQL.
pub(crate) async fn redirect() -> HttpResponse {
    HttpResponse::TemporaryRedirect().insert_header((header::LOCATION, "/graphiql")).finish()
}

/// `GET /graphiql/assets/{file}`: the vendored GraphiQL bundles (not gated: they hold nothing of
/// this API).
pub(crate) async fn asset(file: web::Path<String>) -> HttpResponse {
    let (content_type, body): (&str, &'static [u8]) = match file.as_str() {
        "graphiql.min.js" => {
            ("text/javascript; charset=utf-8", include_bytes!("../../static/graphiql/graphiql.min.js"))
        }
        "graphiql.min.css" => ("text/css; charset=utf-8", include_bytes!("../../static/graphiql/graphiql.min.css")),
        "react.production.min.js" => {
            ("text/javascript; charset=utf-8", include_bytes!("../../static/graphiql/react.production.min.js"))
        }
        "react-dom.production.min.js" => {
            ("text/javascript; charset=utf-8", include_bytes!("../../static/graphiql/react-dom.production.min.js"))
        }
        "graphql-ws.min.js" => {
            ("text/javascript; charset=utf-8", include_bytes!("../../static/graphiql/graphql-ws.min.js"))
        }
        _ => return HttpResponse::NotFound().content_type("text/plain; charset=utf-8").body("not found"),
    };
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((header::CACHE_CONTROL, "public, max-age=86400"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .body(body)
}
