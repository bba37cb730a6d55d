//! The `/campaign` page's facts: its header counts in words ("1 open petition · 1 fan") and moves
//! when the counts do, and it offers only petitions that read open (not one past its closing
//! time). Over HTTP (the served page, script and manifest, whose documents run as the page runs
//! them) and in a real browser (headless Chromium).

use std::time::Duration;

use chrono::Utc;
use entity::enums::{PetitionStatus, Role};
use entity::petition;
use sea_orm::{ActiveModelTrait, Set};
use serde_json::{Value, json};

use crate::support::TestApp;
use crate::support::browser::Browser;
use crate::support::fixtures;

const PETITION: &str = "open-letter-to-disney-alita-sequel";
const CLOSED: &str = "closed-by-the-clock";
const TOTALS: &str = "{ campaign { totals { signatures openPetitions upcomingEvents fans } } }";
const SIGN: &str = "mutation($id: ID!) { signPetition(petitionId: $id) { id } }";

db_tests!(
    the_served_page_fetches_its_header_totals_again_from_its_manifest,
    the_campaign_header_counts_in_words_and_moves_with_the_counts
);

/// A petition stored open whose closing time passed an hour ago (no job has closed it); the page
/// lists up to six petitions, so it would show this one if it took it for open.
async fn closed_by_the_clock(app: &TestApp) {
    let now = Utc::now();
    petition::ActiveModel {
        slug: Set(CLOSED.to_owned()),
        title: Set("Closed by the clock".to_owned()),
        body: Set("Please.".to_owned()),
        target: Set("A studio".to_owned()),
        goal: Set(2_000),
        status: Set(PetitionStatus::Open),
        closes_at: Set(Some(now - chrono::Duration::hours(1))),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&app.db)
    .await
    .unwrap();
}

/// The `id` of the open letter.
async fn open_letter(app: &TestApp) -> Value {
    app.data(&format!("{{ petition(slug: \"{PETITION}\") {{ id }} }}"), json!({})).await["petition"]["id"].clone()
}

/// The header the page should show for `totals`, in English words.
fn header(totals: &Value) -> String {
    let counted = |field: &str, one: &str| {
        let count = totals[field].as_u64().unwrap();
        format!("{count} {one}{}", if count == 1 { "" } else { "s" })
    };
    format!(
        "{} · {} · {} · {}",
        counted("signatures", "signature"),
        counted("openPetitions", "open petition"),
        counted("upcomingEvents", "upcoming event"),
        counted("fans", "fan")
    )
}

fn slugs(petitions: &Value) -> Vec<&str> {
    petitions.as_array().unwrap().iter().map(|petition| petition["slug"].as_str().unwrap()).collect()
}

async fn the_served_page_fetches_its_header_totals_again_from_its_manifest(app: TestApp) {
    closed_by_the_clock(&app).await;
    let (_, token) = fixtures::fan(&app.db, "Header Fan").await;

    // The page has the header's live region; its script fetches the totals again and words them.
    let page = app.get("/campaign").await;
    assert!(page.body.contains(r#"<p id="totals" class="totals" aria-live="polite">"#), "{}", page.body);
    let script = app.get("/campaign/campaign.js").await.body;
    assert!(script.contains("graphql('CampaignTotals')"), "the header's totals are fetched again");
    for words in
        ["'signature', 'signatures'", "'open petition', 'open petitions'", "'upcoming event', 'upcoming events'"]
    {
        assert!(script.contains(words), "the header says {words}");
    }
    assert!(script.contains("'fan', 'fans'"));

    // The served manifest runs the page's query and the header's, both of the same fields.
    let manifest = app.get("/campaign/operations.json").await.json();
    let document = |name: &str| -> String {
        let documents = manifest.as_object().unwrap().values();
        let mut found = documents.filter_map(Value::as_str).filter(|text| text.contains(&format!("query {name} ")));
        found.next().unwrap_or_else(|| panic!("no query {name} in {manifest}")).to_owned()
    };
    let (page_query, totals_query) = (document("CampaignPage"), document("CampaignTotals"));
    assert!(page_query.contains("...HeaderTotals") && totals_query.contains("...HeaderTotals"));

    // What the page shows on load: the open letter, not the petition past its closing time.
    let loaded = app.data(&page_query, json!({})).await;
    let offered = slugs(&loaded["campaign"]["topPetitions"]);
    assert!(offered.contains(&PETITION) && !offered.contains(&CLOSED), "{offered:?}");
    let before = app.data(&totals_query, json!({})).await["campaign"]["totals"].clone();
    assert_eq!(before, loaded["campaign"]["totals"]);
    assert_eq!((&before["openPetitions"], &before["fans"]), (&json!(1), &json!(1)), "{before}");

    // A signature moves the totals the page fetches again.
    app.data_as(&token, SIGN, json!({ "id": open_letter(&app).await })).await;
    let after = app.data(&totals_query, json!({})).await["campaign"]["totals"].clone();
    assert_eq!(after["signatures"], before["signatures"].as_u64().unwrap() + 1);
}

async fn the_campaign_header_counts_in_words_and_moves_with_the_counts(app: TestApp) {
    closed_by_the_clock(&app).await;
    let (_, token) = fixtures::fan(&app.db, "Header Fan").await;
    let Some(mut browser) = Browser::open(&format!("{}/campaign", app.address)).await else { return };
    browser
        .wait_for(
            "document.body.dataset.loaded === 'true' && document.body.dataset.live === 'true'",
            Duration::from_secs(20),
        )
        .await;
    let totals = app.data(TOTALS, json!({})).await["campaign"]["totals"].clone();
    let shown = browser.eval("document.getElementById('totals').textContent").await;
    let shown = shown.as_str().unwrap();
    assert_eq!(shown, header(&totals));
    assert!(shown.starts_with("0 signatures · 1 open petition · ") && shown.ends_with(" · 1 fan"), "{shown}");
    // The petition past its closing time has no card, so no button to sign it.
    let cards =
        browser.eval("[...document.querySelectorAll('#petitions [data-slug]')].map(card => card.dataset.slug)").await;
    let cards: Vec<&str> = cards.as_array().unwrap().iter().map(|slug| slug.as_str().unwrap()).collect();
    assert!(cards.contains(&PETITION) && !cards.contains(&CLOSED), "{cards:?}");

    // A second fan joins and the first signs: the count moving makes the page fetch its totals
    // again, so the header moves without a reload, with the new fan too.
    app.sign_in_as(Role::Fan).await;
    app.data_as(&token, SIGN, json!({ "id": open_letter(&app).await })).await;
    let expected = header(&app.data(TOTALS, json!({})).await["campaign"]["totals"]);
    assert!(expected.starts_with("1 signature · 1 open petition · ") && expected.ends_with(" · 2 fans"), "{expected}");
    browser
        .wait_for(
            &format!("document.getElementById('totals').textContent === {}", json!(expected)),
            Duration::from_secs(10),
        )
        .await;
}
