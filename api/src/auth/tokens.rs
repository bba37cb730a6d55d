//! Access tokens (JWT, HS256 pinned, 15 minutes, `iss` and `aud` checked, naming their session in
//! `sid`) and refresh tokens (256 random bits, stored only as a SHA-256 hash).

use argon2::password_hash::rand_core::{OsRng, RngCore};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use entity::enums::Role;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::error::{AuthError, AuthResult};
use crate::config::Secret;

/// Who issues the tokens.
pub(crate) const ISSUER: &str = "fandb";
/// Whom the tokens are for.
pub(crate) const AUDIENCE: &str = "fandb-api";
/// How long an access token lives.
pub(crate) const ACCESS_TTL: Duration = Duration::minutes(15);
/// How long a refresh token lives.
pub(crate) const REFRESH_TTL: Duration = Duration::days(30);

/// The claims of an access token.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Claims {
    pub(crate) sub: String,
    /// The session (refresh-token family) the token was issued in: it stops working when that ends.
    pub(crate) sid: String,
    pub(crate) role: Role,
    pub(crate) iat: i64,
    pub(crate) exp: i64,
    pub(crate) iss: String,
    pub(crate) aud: String,
}

/// What a verified access token says; whether its session still holds is for the database to say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AccessToken {
    pub(crate) user_id: i64,
    pub(crate) session_id: String,
}

/// The signing and verifying keys, and the one validation every token goes through.
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl TokenKeys {
    /// Keys from the shared secret.
    pub fn new(secret: &Secret) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = 5;
        Self {
            encoding: EncodingKey::from_secret(secret.expose().as_bytes()),
            decoding: DecodingKey::from_secret(secret.expose().as_bytes()),
            validation,
        }
    }

    /// A new access token for `user_id` in session `session_id`, and when it expires.
    pub fn issue_access(
        &self,
        user_id: i64,
        role: Role,
        session_id: &str,
        now: DateTime<Utc>,
    ) -> AuthResult<(String, DateTime<Utc>)> {
        let expires_at = now + ACCESS_TTL;
        let claims = Claims {
            sub: user_id.to_string(),
            sid: session_id.to_owned(),
            role,
            iat: now.timestamp(),
            exp: expires_at.timestamp(),
            iss: ISSUER.to_owned(),
            aud: AUDIENCE.to_owned(),
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|error| AuthError::Internal(format!("signing a token: {error}")))?;
        Ok((token, expires_at))
    }

    /// Whom a valid access token names, and in which session; anything else is `Unauthenticated`.
    pub(crate) fn verify_access(&self, token: &str) -> AuthResult<AccessToken> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|_| AuthError::Unauthenticated)?;
        let user_id = data.claims.sub.parse::<i64>().map_err(|_| AuthError::Unauthenticated)?;
        Ok(AccessToken { user_id, session_id: data.claims.sid })
    }
}

/// A new refresh token: 256 random bits, URL-safe.
pub fn new_refresh_token() -> String {
    let mut bytes = [0_u8; 32];
    OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A new random id for a session (a family of rotated refresh tokens).
pub fn new_family_id() -> String {
    let mut bytes = [0_u8; 16];
    OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The stored form of a refresh token: its SHA-256, hex.
pub fn hash_refresh_token(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    digest.iter().map(|byte| format!("{byte:02x}")).collect()
}
