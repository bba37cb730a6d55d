//! Campaign statistics: signatures over time, RSVPs by status and the campaign totals, computed
//! by the database the same way on both engines, with a fixed number of statements.

use chrono::{TimeZone, Utc};
use entity::enums::RsvpStatus;
use entity::{petition, rsvp, signature};
use sea_orm::{ActiveModelTrait, EntityTrait, Set};
use serde_json::json;

use crate::support::TestApp;
use crate::support::fixtures;

db_tests!(
    signatures_fall_into_hour_day_and_week_buckets,
    rsvps_are_counted_by_status_and_the_campaign_adds_up,
    statistics_of_many_records_cost_the_same_statements_as_of_few
);

async fn signatures_fall_into_hour_day_and_week_buckets(app: TestApp) {
    let petition = fixtures::petitions(&app.db, 1).await.remove(0);
    // Monday 2026-03-02 10:15, 10:45 and 11:05; Wednesday 2026-03-04 09:00; Monday 2026-03-09 00:30 (UTC).
    let times = [(2, 10, 15), (2, 10, 45), (2, 11, 5), (4, 9, 0), (9, 0, 30)];
    for (index, (day, hour, minute)) in times.into_iter().enumerate() {
        let (user, _) = fixtures::fan(&app.db, &format!("Bucket Fan {index}")).await;
        signature::ActiveModel {
            petition_id: Set(petition.id),
            user_id: Set(user.id),
            country: Set(Some("US".to_owned())),
            public: Set(index % 2 == 0),
            created_at: Set(Utc.with_ymd_and_hms(2026, 3, day, hour, minute, 0).unwrap()),
            ..Default::default()
        }
        .insert(&app.db)
        .await
        .unwrap();
    }
    let query = "query($slug: String!, $bucket: TimeBucket!) { petition(slug: $slug) { signaturesOverTime(bucket: $bucket) { start count } } }";
    let series = |bucket: &'static str| {
        let app = &app;
        let slug = petition.slug.clone();
        async move {
            app.data(query, json!({ "slug": slug, "bucket": bucket })).await["petition"]["signaturesOverTime"].clone()
        }
    };
    assert_eq!(
        series("HOUR").await,
        json!([
            { "start": "2026-03-02T10:00:00Z", "count": 2 },
            { "start": "2026-03-02T11:00:00Z", "count": 1 },
            { "start": "2026-03-04T09:00:00Z", "count": 1 },
            { "start": "2026-03-09T00:00:00Z", "count": 1 },
        ])
    );
    assert_eq!(
        series("DAY").await,
        json!([
            { "start": "2026-03-02T00:00:00Z", "count": 3 },
            { "start": "2026-03-04T00:00:00Z", "count": 1 },
            { "start": "2026-03-09T00:00:00Z", "count": 1 },
        ])
    );
    assert_eq!(
        series("WEEK").await,
        json!([
            { "start": "2026-03-02T00:00:00Z", "count": 4 },
            { "start": "2026-03-09T00:00:00Z", "count": 1 },
        ]),
        "weeks start on Monday, private signers count too"
    );
}

async fn rsvps_are_counted_by_status_and_the_campaign_adds_up(app: TestApp) {
    let event = fixtures::events(&app.db, 1, None).await.remove(0);
    for (index, status) in [RsvpStatus::Going, RsvpStatus::Going, RsvpStatus::Interested].into_iter().enumerate() {
        let (user, _) = fixtures::fan(&app.db, &format!("Rsvp Fan {index}")).await;
        rsvp::ActiveModel {
            event_id: Set(event.id),
            user_id: Set(user.id),
            status: Set(status),
            created_at: Set(Utc::now()),
            updated_at: Set(Utc::now()),
            ..Default::default()
        }
        .insert(&app.db)
        .await
        .unwrap();
    }
    let data = app
        .data(
            "query($slug: String!) { event(slug: $slug) { rsvpsByStatus { status count } } }",
            json!({ "slug": event.slug }),
        )
        .await;
    assert_eq!(
        data["event"]["rsvpsByStatus"],
        json!([{ "status": "GOING", "count": 2 }, { "status": "INTERESTED", "count": 1 }])
    );

    let campaign = app.data("{ campaign { totals { films people publishedQuotes events upcomingEvents petitions openPetitions signatures fans }
        topPetitions(first: 3) { slug signatureCount } upcomingEvents(first: 2) { slug startsAt endsAt } }
        films { totalCount } people { totalCount } quotes { totalCount } events { totalCount } petitions { totalCount } }", json!({})).await;
    let totals = &campaign["campaign"]["totals"];
    assert_eq!(totals["films"], campaign["films"]["totalCount"]);
    assert_eq!(totals["people"], campaign["people"]["totalCount"]);
    assert_eq!(totals["publishedQuotes"], campaign["quotes"]["totalCount"]);
    assert_eq!(totals["events"], campaign["events"]["totalCount"]);
    assert_eq!(totals["petitions"], campaign["petitions"]["totalCount"]);
    assert_eq!(totals["fans"], 3);
    let rows = petition::Entity::find().all(&app.db).await.unwrap();
    let mut signatures = 0;
    for row in &rows {
        signatures += crate::support::fixtures::stored_count(&app.db, "petitions", row.id).await;
    }
    assert_eq!(totals["signatures"], signatures);
    let top = campaign["campaign"]["topPetitions"].as_array().unwrap();
    assert!(!top.is_empty() && top.len() <= 3);
    let counts: Vec<i64> = top.iter().map(|row| row["signatureCount"].as_i64().unwrap()).collect();
    assert!(counts.windows(2).all(|pair| pair[0] >= pair[1]), "{counts:?}");
    let upcoming = campaign["campaign"]["upcomingEvents"].as_array().unwrap();
    assert!(upcoming.len() <= 2);
    for event in upcoming {
        let starts = chrono::DateTime::parse_from_rfc3339(event["startsAt"].as_str().unwrap()).unwrap();
        let ends = event["endsAt"]
            .as_str()
            .map_or(starts + chrono::Duration::hours(1), |ends| chrono::DateTime::parse_from_rfc3339(ends).unwrap());
        assert!(ends > Utc::now(), "only events not over yet");
    }
    let error = app.error("{ campaign { topPetitions(first: 21) { slug } } }", json!({})).await;
    assert_eq!(error["extensions"]["field"], "first");
}

async fn statistics_of_many_records_cost_the_same_statements_as_of_few(app: TestApp) {
    fixtures::petitions(&app.db, 12).await;
    fixtures::events(&app.db, 12, None).await;
    let query = "query($n: Int) { petitions(first: $n) { nodes { signaturesOverTime(bucket: DAY) { count } byWeek: signaturesOverTime(bucket: WEEK) { count } signaturesByCountry { count } } }
                 events(first: $n) { nodes { rsvpsByStatus { count } } } }";
    let mut costs = Vec::new();
    for n in [2, 12] {
        let before = app.statements();
        app.data(query, json!({ "n": n })).await;
        costs.push(app.statements() - before);
    }
    assert_eq!(costs[0], costs[1], "statements grew with the page size: {costs:?}");
}
