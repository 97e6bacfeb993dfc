//! Entry points for the fuzz targets in `fuzz/`: every parser of untrusted input, reachable
//! without a network. Not part of the supported API.

use std::time::SystemTime;

/// A service account key file (`yc iam key create` JSON).
pub fn key_file(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = crate::sa_key::ServiceAccountKey::from_json("fuzz", text);
    }
}

/// A `POST /iam/v1/tokens` answer.
pub fn token_response(data: &[u8]) {
    if let Ok(created) = serde_json::from_slice::<crate::api::Created>(data)
        && let Ok(token) = created.into_token(&|| "fuzz".to_string(), SystemTime::now())
    {
        exercise(&token);
    }
}

/// An error body (google.rpc.Status JSON, or anything a proxy sends).
pub fn status_body(data: &[u8]) {
    let _ = crate::http::status_fields(data);
}

/// A yc CLI `config.yaml`.
pub fn yc_config(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = crate::profile::parse("fuzz", text, crate::profile::Pick::Current);
    }
}

/// A token cache file.
pub fn cache_file(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data)
        && let Some(token) = crate::disk_cache::parse_entry(text)
    {
        exercise(&token);
    }
}

/// An RFC 3339 timestamp.
pub fn timestamp(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = crate::token::parse_rfc3339(text);
    }
}

/// The arithmetic done on every parsed token: renewal time, freshness, formatting.
fn exercise(token: &crate::IamToken) {
    let now = SystemTime::now();
    let _ = (token.renew_at(), token.is_fresh(now), token.is_usable(now));
    let _ = token.expires_at_rfc3339();
}
