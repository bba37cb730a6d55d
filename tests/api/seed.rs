//! The Alita data set: loading it again adds nothing, and a bad data file names the record at fault.

use api::seed::{self, DataSet};
use serde_json::json;

db_tests! {
    async fn loading_the_data_set_twice_adds_nothing(app) {
        let query = "{ films { totalCount } people { totalCount } quotes { totalCount } events { totalCount } petitions { totalCount } }";
        let before = app.data(query, json!({})).await;
        let report = seed::load(&app.db, &DataSet::parse(seed::ALITA).unwrap()).await.unwrap();
        assert_eq!(report.inserted, 0);
        assert_eq!(app.data(query, json!({})).await, before);
        assert_eq!(before, json!({
            "films": { "totalCount": 2 }, "people": { "totalCount": 6 }, "quotes": { "totalCount": 3 },
            "events": { "totalCount": 2 }, "petitions": { "totalCount": 1 }
        }));
    }

    async fn a_data_file_with_a_dangling_reference_loads_nothing(app) {
        let bad = r#"{ "people": [{ "slug": "new-person", "name": "New Person" }],
                       "films": [{ "slug": "new-film", "title": "New", "status": "ANNOUNCED",
                                   "credits": [{ "person": "nobody", "role": "CAST" }] }] }"#;
        let error = seed::load(&app.db, &DataSet::parse(bad).unwrap()).await.unwrap_err();
        assert!(format!("{error:?}").contains("films[0].credits[0].person"), "{error:?}");
        let data = app.data(r#"{ person(slug: "new-person") { id } film(slug: "new-film") { id } }"#, json!({})).await;
        assert_eq!(data, json!({ "person": null, "film": null }));
    }
}
