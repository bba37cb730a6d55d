//! Campaign statistics: signatures over time, RSVPs by status and the campaign totals, computed
//! by the database the same way on both engines, with a fixed number of statements.

use chrono::{TimeZone, Utc};
use entity::enums::{QuoteStatus, Role, RsvpStatus};
use entity::{petition, rsvp, signature, user};
use sea_orm::{ActiveModelTrait, ConnectionTrait, DatabaseBackend, EntityTrait, Set, Statement};
use serde_json::{Value, json};

use crate::support::TestApp;
use crate::support::fixtures;

db_tests!(
    signatures_fall_into_hour_day_and_week_buckets,
    rsvps_are_counted_by_status_and_the_campaign_adds_up,
    statistics_of_many_records_cost_the_same_statements_as_of_few,
    signature_statistics_equal_their_grouped_aggregates,
    rsvps_by_status_equal_the_fans_grouped_rsvps,
    campaign_totals_equal_the_lists_aggregates,
    a_series_keeps_its_latest_thousand_buckets,
    each_statistic_of_a_page_is_one_statement
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

/// A signature on `petition` by a new fan, at `at`, with the petition's counter left alone (the
/// statistics count rows, the counter counts for `signatureCount`).
async fn sign_at(app: &TestApp, petition: i64, name: &str, country: Option<&str>, public: bool, at: (u32, u32, u32)) {
    let (user, _) = fixtures::fan(&app.db, name).await;
    let (day, hour, minute) = at;
    signature::ActiveModel {
        petition_id: Set(petition),
        user_id: Set(user.id),
        country: Set(country.map(str::to_owned)),
        public: Set(public),
        created_at: Set(Utc.with_ymd_and_hms(2026, 3, day, hour, minute, 0).unwrap()),
        ..Default::default()
    }
    .insert(&app.db)
    .await
    .unwrap();
}

/// `groupedAggregates(groupBy: [COUNTRY])` as `signaturesByCountry` lists it: no null country,
/// most first, then by country.
fn as_by_country(groups: &Value) -> Value {
    let mut rows: Vec<(String, i64)> = groups
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|group| Some((group["keys"][0].as_str()?.to_owned(), group["count"].as_i64().unwrap())))
        .collect();
    rows.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    Value::Array(rows.into_iter().map(|(country, count)| json!({ "country": country, "count": count })).collect())
}

/// `groupedAggregates(groupBy: [DAY])` (or `WEEK`) as `signaturesOverTime` lists it: each day's
/// start as an instant, oldest first.
fn as_series(groups: &Value) -> Value {
    Value::Array(
        groups
            .as_array()
            .unwrap()
            .iter()
            .map(|group| {
                let day = group["keys"][0].as_str().unwrap();
                json!({ "start": format!("{day}T00:00:00Z"), "count": group["count"] })
            })
            .collect(),
    )
}

const SIGNATURE_STATISTICS: &str = "query($slug: String!) { petition(slug: $slug) {
    signaturesByCountry { country count }
    day: signaturesOverTime(bucket: DAY) { start count }
    week: signaturesOverTime(bucket: WEEK) { start count }
    signatures { totalCount nodes { country }
      byCountry: groupedAggregates(groupBy: [COUNTRY]) { keys count }
      byDay: groupedAggregates(groupBy: [DAY]) { keys count }
      byWeek: groupedAggregates(groupBy: [WEEK]) { keys count } } } }";

async fn signature_statistics_equal_their_grouped_aggregates(app: TestApp) {
    let mut petitions = fixtures::petitions(&app.db, 2).await;
    let (petition, empty) = (petitions.remove(0), petitions.remove(0));
    // Public signers over two weeks, some without a country; two countries tie on count.
    let signers = [
        (Some("US"), (2, 10, 15)),
        (Some("US"), (2, 23, 59)),
        (Some("JP"), (3, 0, 0)),
        (None, (4, 9, 0)),
        (Some("FR"), (8, 12, 0)),
        (Some("JP"), (9, 0, 30)),
        (Some("US"), (10, 18, 0)),
    ];
    for (index, (country, at)) in signers.into_iter().enumerate() {
        sign_at(&app, petition.id, &format!("Public Signer {index}"), country, true, at).await;
    }
    let data = app.data(SIGNATURE_STATISTICS, json!({ "slug": petition.slug })).await;
    let petition_data = &data["petition"];
    let signatures = &petition_data["signatures"];
    assert_eq!(signatures["totalCount"], 7, "every signer is public so far");
    assert_eq!(petition_data["signaturesByCountry"], as_by_country(&signatures["byCountry"]));
    assert_eq!(
        petition_data["signaturesByCountry"],
        json!([{ "country": "US", "count": 3 }, { "country": "JP", "count": 2 }, { "country": "FR", "count": 1 }]),
        "most first, a tie by country, no one without a country"
    );
    assert_eq!(petition_data["day"], as_series(&signatures["byDay"]));
    assert_eq!(petition_data["week"], as_series(&signatures["byWeek"]));
    assert_eq!(
        petition_data["week"],
        json!([
            { "start": "2026-03-02T00:00:00Z", "count": 5 },
            { "start": "2026-03-09T00:00:00Z", "count": 2 },
        ]),
        "Sunday 8 March belongs to the week of Monday 2 March"
    );

    // Private signers are counted by the statistics but never listed, nor grouped in the list.
    sign_at(&app, petition.id, "Private Signer JP", Some("JP"), false, (9, 1, 0)).await;
    sign_at(&app, petition.id, "Private Signer DE", Some("DE"), false, (11, 7, 0)).await;
    let after = app.data(SIGNATURE_STATISTICS, json!({ "slug": petition.slug })).await;
    let after_petition = &after["petition"];
    assert_eq!(after_petition["signatures"], *signatures, "the list and its groups show public signers only");
    assert_eq!(
        after_petition["signaturesByCountry"],
        json!([
            { "country": "JP", "count": 3 },
            { "country": "US", "count": 3 },
            { "country": "DE", "count": 1 },
            { "country": "FR", "count": 1 },
        ])
    );
    assert_eq!(
        after_petition["week"],
        json!([
            { "start": "2026-03-02T00:00:00Z", "count": 5 },
            { "start": "2026-03-09T00:00:00Z", "count": 4 },
        ])
    );

    // A petition nobody signed has empty statistics, as its groups are empty.
    let data = app.data(SIGNATURE_STATISTICS, json!({ "slug": empty.slug })).await;
    let empty_data = &data["petition"];
    assert_eq!(empty_data["signaturesByCountry"], json!([]));
    assert_eq!(empty_data["day"], json!([]));
    assert_eq!(empty_data["week"], json!([]));
    assert_eq!(empty_data["signatures"]["byCountry"], json!([]));
    assert_eq!(empty_data["signatures"]["byDay"], json!([]));
}

async fn rsvps_by_status_equal_the_fans_grouped_rsvps(app: TestApp) {
    let mut events = fixtures::events(&app.db, 2, None).await;
    let (event, quiet) = (events.remove(0), events.remove(0));
    let answers =
        [RsvpStatus::Interested, RsvpStatus::Going, RsvpStatus::Interested, RsvpStatus::Going, RsvpStatus::Going];
    let mut summed: std::collections::BTreeMap<String, i64> = Default::default();
    for (index, status) in answers.into_iter().enumerate() {
        let (user, token) = fixtures::fan(&app.db, &format!("Status Fan {index}")).await;
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
        // Each fan answered this event only, so their RSVPs grouped by status add up to the event's.
        let data = app
            .data_as(&token, "{ me { rsvps { groupedAggregates(groupBy: [STATUS]) { keys count } } } }", json!({}))
            .await;
        for group in data["me"]["rsvps"]["groupedAggregates"].as_array().unwrap() {
            *summed.entry(group["keys"][0].as_str().unwrap().to_owned()).or_default() +=
                group["count"].as_i64().unwrap();
        }
    }
    let query = "query($slug: String!) { event(slug: $slug) { rsvpsByStatus { status count } } }";
    let data = app.data(query, json!({ "slug": event.slug })).await;
    let expected: Vec<Value> =
        summed.into_iter().map(|(status, count)| json!({ "status": status, "count": count })).collect();
    assert_eq!(data["event"]["rsvpsByStatus"], Value::Array(expected));
    assert_eq!(
        data["event"]["rsvpsByStatus"],
        json!([
            { "status": "GOING", "count": 3 },
            { "status": "INTERESTED", "count": 2 },
        ])
    );
    let data = app.data(query, json!({ "slug": quiet.slug })).await;
    assert_eq!(data["event"]["rsvpsByStatus"], json!([]), "an event nobody answered");
}

async fn campaign_totals_equal_the_lists_aggregates(app: TestApp) {
    fixtures::films(&app.db, 2).await;
    let person = fixtures::people(&app.db, 1).await.remove(0);
    fixtures::quotes(&app.db, person.id, None, 2, QuoteStatus::Published).await;
    fixtures::quotes(&app.db, person.id, None, 1, QuoteStatus::Pending).await;
    let petitions = fixtures::petitions(&app.db, 3).await;
    fixtures::events(&app.db, 2, None).await;
    for (index, petition) in petitions.iter().enumerate() {
        for signer in 0..=index {
            let (user, _) = fixtures::fan(&app.db, &format!("Totals Fan {index} {signer}")).await;
            fixtures::signature(&app.db, petition.id, user.id, signer % 2 == 0, Some("US")).await;
        }
    }
    // The lists as anyone sees them: a pending quote is neither listed nor a published quote.
    let data = app
        .data(
            "{ campaign { totals { films people publishedQuotes events upcomingEvents petitions openPetitions signatures fans } }
               films { aggregate { count } } people { aggregate { count } } quotes { aggregate { count } }
               events { aggregate { count } } upcoming: events(filter: { upcoming: true }) { aggregate { count } }
               petitions(first: 100) { aggregate { count } nodes { signatureCount } }
               open: petitions(filter: { status: OPEN }) { aggregate { count } } }",
            json!({}),
        )
        .await;
    let totals = &data["campaign"]["totals"];
    assert_eq!(totals["films"], data["films"]["aggregate"]["count"]);
    assert_eq!(totals["people"], data["people"]["aggregate"]["count"]);
    assert_eq!(totals["publishedQuotes"], data["quotes"]["aggregate"]["count"]);
    assert_eq!(totals["events"], data["events"]["aggregate"]["count"]);
    assert_eq!(totals["upcomingEvents"], data["upcoming"]["aggregate"]["count"]);
    assert_eq!(totals["petitions"], data["petitions"]["aggregate"]["count"]);
    assert_eq!(totals["openPetitions"], data["open"]["aggregate"]["count"]);
    let listed: i64 =
        data["petitions"]["nodes"].as_array().unwrap().iter().map(|row| row["signatureCount"].as_i64().unwrap()).sum();
    assert_eq!(totals["signatures"], listed, "the petitions' counters, private signers included");

    // A signature counted in a slot row and not yet folded into its petition's column counts
    // (folded or not by the time of the next read, the total is the same).
    let backend = app.db.get_database_backend();
    let mark = if backend == DatabaseBackend::Postgres { "$1" } else { "?" };
    let slot = format!("INSERT INTO petition_count_slots (petition_id, slot, delta) VALUES ({mark}, 7, 5)");
    app.db.execute_raw(Statement::from_sql_and_values(backend, slot, [petitions[0].id.into()])).await.unwrap();
    let data = app
        .data("{ petitions(first: 100) { nodes { signatureCount } } campaign { totals { signatures } } }", json!({}))
        .await;
    let listed_after: i64 =
        data["petitions"]["nodes"].as_array().unwrap().iter().map(|row| row["signatureCount"].as_i64().unwrap()).sum();
    assert_eq!(listed_after, listed + 5);
    assert_eq!(data["campaign"]["totals"]["signatures"], listed_after);

    let admin = app.sign_in_as(Role::Admin).await;
    let data = app
        .data_as(&admin.access_token, "{ campaign { totals { fans } } users { aggregate { count } } }", json!({}))
        .await;
    assert_eq!(data["campaign"]["totals"]["fans"], data["users"]["aggregate"]["count"]);
    assert_eq!(data["campaign"]["totals"]["fans"], user::Entity::find().all(&app.db).await.unwrap().len());
}

async fn a_series_keeps_its_latest_thousand_buckets(app: TestApp) {
    let petition = fixtures::petitions(&app.db, 1).await.remove(0);
    // 1,002 signers, one an hour from 2026-01-01 00:00 UTC; hours 0 and 1 fall out of the series.
    let start = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    let users: Vec<user::ActiveModel> = (0..1002)
        .map(|index| user::ActiveModel {
            email: Set(format!("hourly{index}@example.com")),
            display_name: Set(format!("Hourly {index}")),
            password_hash: Set("$argon2id$v=19$m=19456,t=2,p=1$fixture$fixture".to_owned()),
            role: Set(Role::Fan),
            created_at: Set(start),
            updated_at: Set(start),
            ..Default::default()
        })
        .collect();
    user::Entity::insert_many(users).exec(&app.db).await.unwrap();
    let ids: Vec<i64> = user::Entity::find()
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .filter(|user| user.email.starts_with("hourly"))
        .map(|user| user.id)
        .collect();
    assert_eq!(ids.len(), 1002);
    let signatures: Vec<signature::ActiveModel> = ids
        .iter()
        .enumerate()
        .map(|(hour, user_id)| signature::ActiveModel {
            petition_id: Set(petition.id),
            user_id: Set(*user_id),
            country: Set(None),
            public: Set(true),
            created_at: Set(start + chrono::Duration::hours(hour as i64) + chrono::Duration::minutes(7)),
            ..Default::default()
        })
        .collect();
    signature::Entity::insert_many(signatures).exec(&app.db).await.unwrap();
    let data = app
        .data(
            "query($slug: String!) { petition(slug: $slug) { hours: signaturesOverTime(bucket: HOUR) { start count }
               days: signaturesOverTime(bucket: DAY) { start count } } }",
            json!({ "slug": petition.slug }),
        )
        .await;
    let hours = data["petition"]["hours"].as_array().unwrap();
    assert_eq!(hours.len(), 1000, "the latest 1,000 buckets");
    assert_eq!(hours[0], json!({ "start": "2026-01-01T02:00:00Z", "count": 1 }), "oldest first");
    let last = start + chrono::Duration::hours(1001);
    assert_eq!(hours[999]["start"], last.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
    let days = data["petition"]["days"].as_array().unwrap();
    assert_eq!(days.len(), 42, "1,002 hours span 41 full days and part of a 42nd");
    assert_eq!(days[0], json!({ "start": "2026-01-01T00:00:00Z", "count": 24 }));
    assert_eq!(days.iter().map(|day| day["count"].as_i64().unwrap()).sum::<i64>(), 1002);
}

async fn each_statistic_of_a_page_is_one_statement(app: TestApp) {
    let petitions = fixtures::petitions(&app.db, 4).await;
    fixtures::events(&app.db, 4, None).await;
    for (index, petition) in petitions.iter().enumerate() {
        sign_at(&app, petition.id, &format!("Page Signer {index}"), Some("JP"), index % 2 == 0, (3, 12, 0)).await;
    }
    let cost = |query: &'static str| {
        let app = &app;
        async move {
            let before = app.statements();
            app.data(query, json!({})).await;
            app.statements() - before
        }
    };
    // The same pages without their statistics, so the difference is the statistics' own.
    let pages =
        cost("{ petitions(first: 4) { nodes { viewerHasSigned } } events(first: 4) { nodes { isLive } } }").await;
    let with_statistics = cost(
        "{ petitions(first: 4) { nodes { viewerHasSigned signaturesOverTime(bucket: DAY) { count }
             byWeek: signaturesOverTime(bucket: WEEK) { count } signaturesByCountry { count } } }
           events(first: 4) { nodes { isLive rsvpsByStatus { count } } } }",
    )
    .await;
    assert_eq!(with_statistics - pages, 4, "one grouping per statistic (and bucket width) for the whole page");
    assert_eq!(cost("{ campaign { totals { films people publishedQuotes events upcomingEvents petitions openPetitions signatures fans } } }").await, 1);
}
