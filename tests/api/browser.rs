//! In a real browser (headless Chromium): GraphiQL loads and runs a query, and the campaign page
//! shows the petitions, events and quotes from one query and moves a petition's counter live
//! when a fan signs, without a reload. Screenshots land in `target/test-artifacts/`.

use std::time::Duration;

use serde_json::json;

use crate::support::TestApp;
use crate::support::browser::Browser;
use crate::support::fixtures;

const PETITION: &str = "open-letter-to-disney-alita-sequel";

db_tests!(the_campaign_page_shows_live_counts_in_a_browser, graphiql_loads_and_runs_a_query_in_a_browser);

async fn the_campaign_page_shows_live_counts_in_a_browser(app: TestApp) {
    let Some(mut browser) = Browser::open(&format!("{}/campaign", app.address)).await else { return };
    browser
        .wait_for(
            "document.body.dataset.loaded === 'true' && document.body.dataset.live === 'true'",
            Duration::from_secs(20),
        )
        .await;
    let counter = format!("document.querySelector('[data-slug=\"{PETITION}\"] .count')");
    let before: i64 = browser.eval(&format!("Number({counter}.dataset.value)")).await.as_i64().unwrap();
    let page = browser.eval("({
        lang: document.documentElement.lang,
        petitions: document.querySelectorAll('#petitions [data-petition-id]').length,
        unlabelledBars: [...document.querySelectorAll('progress')].filter(bar => !bar.getAttribute('aria-labelledby')).length,
        events: document.querySelectorAll('#events [data-slug]').length,
        calendarLinks: [...document.querySelectorAll('#events a.calendar')].map(link => link.getAttribute('href')),
        times: [...document.querySelectorAll('#events time')].map(time => time.textContent),
        quotes: document.querySelectorAll('#quotes blockquote').length,
        totals: document.getElementById('totals').textContent,
    })").await;
    assert_eq!(page["lang"], "en");
    assert!(page["petitions"].as_i64().unwrap() >= 1, "{page}");
    assert_eq!(page["unlabelledBars"], 0, "every progress bar is labelled: {page}");
    assert!(page["quotes"].as_i64().unwrap() >= 1, "{page}");
    assert!(page["totals"].as_str().unwrap().contains("signatures"), "{page}");
    for link in page["calendarLinks"].as_array().unwrap() {
        assert!(link.as_str().unwrap().ends_with(".ics"), "{page}");
    }

    // A fan signs through the API; the page's counter moves by itself.
    let (_, token) = fixtures::fan(&app.db, "Browser Fan").await;
    let id =
        app.data(&format!("{{ petition(slug: \"{PETITION}\") {{ id }} }}"), json!({})).await["petition"]["id"].clone();
    app.data_as(
        &token,
        "mutation($id: ID!) { signPetition(petitionId: $id, input: { country: \"NZ\" }) { id } }",
        json!({ "id": id }),
    )
    .await;
    browser.wait_for(&format!("Number({counter}.dataset.value) === {}", before + 1), Duration::from_secs(10)).await;
    let shown = browser.eval(&format!("{counter}.textContent")).await;
    assert_eq!(shown.as_str().unwrap().replace(',', ""), (before + 1).to_string());
    let path = browser
        .screenshot(&format!(
            "campaign-{}",
            if app.database_url.starts_with("postgres") { "postgres" } else { "sqlite" }
        ))
        .await;
    assert!(std::fs::metadata(&path).unwrap().len() > 10_000, "a real screenshot at {}", path.display());
}

async fn graphiql_loads_and_runs_a_query_in_a_browser(app: TestApp) {
    let Some(mut browser) = Browser::open(&format!("{}/graphiql", app.address)).await else { return };
    browser.wait_for("document.querySelector('.graphiql-execute-button')", Duration::from_secs(30)).await;
    browser.eval("document.querySelector('.graphiql-execute-button').click()").await;
    browser
        .wait_for("document.querySelector('.result-window') && document.querySelector('.result-window').textContent.includes('Battle Angel')", Duration::from_secs(20))
        .await;
    let result = browser.eval("document.querySelector('.result-window').textContent").await;
    assert!(result.as_str().unwrap().contains("Robert Rodriguez"), "{result}");
    browser
        .screenshot(&format!(
            "graphiql-{}",
            if app.database_url.starts_with("postgres") { "postgres" } else { "sqlite" }
        ))
        .await;
}
