//! JWT attacks: every forged, expired, truncated or foreign token, and every token whose session
//! is not a live session of its user, is refused with `UNAUTHENTICATED`, and none is treated as
//! anonymous.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use crate::support::{TEST_JWT_SECRET, TestApp, fixtures};

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

fn claims(sub: i64, sid: &str) -> Value {
    json!({ "sub": sub.to_string(), "sid": sid, "role": "ADMIN", "iat": now(), "exp": now() + 600, "iss": "fandb", "aud": "fandb-api" })
}

fn sign(claims: &Value, secret: &str) -> String {
    jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &EncodingKey::from_secret(secret.as_bytes())).unwrap()
}

async fn me_with(app: &TestApp, authorization: &str) -> (u16, Value) {
    let response = app
        .request(
            "POST",
            "/graphql",
            &[("content-type", "application/json"), ("authorization", authorization)],
            Some(json!({ "query": "{ me { id role } }" }).to_string().into_bytes()),
        )
        .await;
    (response.status, response.json())
}

db_tests!(forged_expired_and_foreign_tokens_are_refused);

async fn forged_expired_and_foreign_tokens_are_refused(app: TestApp) {
    let admin = app.sign_in_as(entity::enums::Role::Admin).await;
    let sid = fixtures::session(&app.db, admin.id).await;
    // The control: a token signed with the right key and claims, in a live session, works.
    let (status, body) = me_with(&app, &format!("Bearer {}", sign(&claims(admin.id, &sid), TEST_JWT_SECRET))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["me"]["role"], "ADMIN");

    let header_none = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(claims(admin.id, &sid).to_string());
    let mut expired = claims(admin.id, &sid);
    expired["iat"] = json!(now() - 7200);
    expired["exp"] = json!(now() - 3600);
    let mut wrong_audience = claims(admin.id, &sid);
    wrong_audience["aud"] = json!("someone-else");
    let mut wrong_issuer = claims(admin.id, &sid);
    wrong_issuer["iss"] = json!("evil");
    let mut no_expiry = claims(admin.id, &sid);
    no_expiry.as_object_mut().unwrap().remove("exp");
    let mut no_session = claims(admin.id, &sid);
    no_session.as_object_mut().unwrap().remove("sid");
    // A session that exists, but is someone else's: a token cannot borrow it.
    let (other, _) = fixtures::fan(&app.db, "Token Other").await;
    let others_session = fixtures::session(&app.db, other.id).await;
    let valid = sign(&claims(admin.id, &sid), TEST_JWT_SECRET);

    let attacks = [
        ("alg none", format!("Bearer {header_none}.{payload}.")),
        (
            "another key",
            format!("Bearer {}", sign(&claims(admin.id, &sid), "another-secret-that-is-long-enough-0123456789")),
        ),
        ("no session", format!("Bearer {}", sign(&no_session, TEST_JWT_SECRET))),
        ("unknown session", format!("Bearer {}", sign(&claims(admin.id, "no-such-session"), TEST_JWT_SECRET))),
        ("another user's session", format!("Bearer {}", sign(&claims(admin.id, &others_session), TEST_JWT_SECRET))),
        ("expired", format!("Bearer {}", sign(&expired, TEST_JWT_SECRET))),
        ("wrong aud", format!("Bearer {}", sign(&wrong_audience, TEST_JWT_SECRET))),
        ("wrong iss", format!("Bearer {}", sign(&wrong_issuer, TEST_JWT_SECRET))),
        ("no exp", format!("Bearer {}", sign(&no_expiry, TEST_JWT_SECRET))),
        ("truncated", format!("Bearer {}", &valid[..valid.len() - 6])),
        ("garbage", "Bearer not.a.jwt".to_owned()),
        ("wrong scheme", format!("Basic {valid}")),
        ("empty bearer", "Bearer ".to_owned()),
    ];
    for (name, authorization) in attacks {
        let (status, body) = me_with(&app, &authorization).await;
        assert_eq!(status, 401, "{name}: {body}");
        assert_eq!(body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED", "{name}");
        assert!(body.get("data").is_none(), "{name}: nothing may run as anonymous: {body}");
    }
}
