//! Service-account authorized keys (`yc iam key create` files) and the PS256 JWT they sign.

use std::fmt;
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::rand::SystemRandom;
use ring::signature::{RSA_PSS_SHA256, RsaKeyPair};
use rustls_pki_types::PrivateKeyDer;
use rustls_pki_types::pem::PemObject;

use crate::error::{Error, Result};
use crate::secret::Secret;

/// How long a JWT is valid (Yandex allows at most an hour).
const JWT_LIFETIME: Duration = Duration::from_secs(3600);

/// A parsed authorized key. `Debug` shows the ids, never the private key.
pub struct ServiceAccountKey {
    key_id: String,
    service_account_id: String,
    key_pair: RsaKeyPair,
}

impl fmt::Debug for ServiceAccountKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceAccountKey")
            .field("key_id", &self.key_id)
            .field("service_account_id", &self.service_account_id)
            .field("private_key", &"<redacted>")
            .finish()
    }
}

impl ServiceAccountKey {
    /// Parses the JSON of a key file. `origin` names the file or variable for errors. Unknown
    /// fields are ignored; a wrong field is named, and key material is never echoed.
    pub fn from_json(origin: &str, json: &str) -> Result<Self> {
        let bad = |what: &str| {
            Error::Usage(format!(
                "the service account key from {origin} is not usable: {what}; \
                 create a new one with `yc iam key create --service-account-name NAME --output key.json`"
            ))
        };
        let value: serde_json::Value = serde_json::from_str(json.trim_start_matches('\u{feff}'))
            .map_err(|e| {
                bad(&format!(
                    "it is not JSON (line {}, column {})",
                    e.line(),
                    e.column()
                ))
            })?;
        let obj = value
            .as_object()
            .ok_or_else(|| bad("it is not a JSON object"))?;
        let field = |name: &str| -> Result<&str> {
            match obj.get(name) {
                Some(serde_json::Value::String(s)) if !s.trim().is_empty() => Ok(s.trim()),
                Some(serde_json::Value::String(_)) => {
                    Err(bad(&format!("the field `{name}` is empty")))
                }
                Some(_) => Err(bad(&format!("the field `{name}` is not a string"))),
                None => Err(bad(&format!("the field `{name}` is missing"))),
            }
        };
        let key_id = field("id")?.to_string();
        let service_account_id = field("service_account_id")?.to_string();
        if let Some(alg) = obj.get("key_algorithm").and_then(|v| v.as_str())
            && !alg.starts_with("RSA_")
        {
            return Err(bad(&format!(
                "the field `key_algorithm` is {alg:?}; only RSA keys (RSA_2048, RSA_4096) sign PS256"
            )));
        }
        let pem = field("private_key")?;
        let key_pair =
            parse_private_key(pem).map_err(|why| bad(&format!("the field `private_key` {why}")))?;
        Ok(ServiceAccountKey {
            key_id,
            service_account_id,
            key_pair,
        })
    }

    /// The key id (the JWT `kid`).
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// The service account id (the JWT `iss`).
    pub fn service_account_id(&self) -> &str {
        &self.service_account_id
    }

    /// A PS256 JWT for `audience`, valid from `now` for an hour.
    pub fn jwt(&self, audience: &str, now: SystemTime) -> Result<Secret> {
        let iat = now
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        let header = serde_json::json!({"typ": "JWT", "alg": "PS256", "kid": self.key_id});
        let claims = serde_json::json!({
            "iss": self.service_account_id,
            "aud": audience,
            "iat": iat,
            "exp": iat + JWT_LIFETIME.as_secs(),
        });
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let mut signature = vec![0u8; self.key_pair.public().modulus_len()];
        // ring's PSS uses MGF1-SHA-256 and a salt as long as the hash (32 bytes): what Yandex wants.
        self.key_pair
            .sign(
                &RSA_PSS_SHA256,
                &SystemRandom::new(),
                signing_input.as_bytes(),
                &mut signature,
            )
            .map_err(|_| {
                Error::Usage("signing the JWT with the service account key failed".into())
            })?;
        Ok(Secret::new(format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(signature)
        )))
    }
}

/// The RSA key in a PEM text that may have other lines before it (newer keys start with
/// "PLEASE DO NOT REMOVE THIS LINE! Yandex.Cloud SA Key ID <id>"). Errors never echo the text.
fn parse_private_key(pem: &str) -> std::result::Result<RsaKeyPair, &'static str> {
    // Keys pasted through some tools carry literal "\n" instead of newlines.
    let pem = if !pem.contains('\n') && pem.contains("\\n") {
        pem.replace("\\n", "\n")
    } else {
        pem.to_string()
    };
    let key = PrivateKeyDer::from_pem_slice(pem.as_bytes())
        .map_err(|_| "holds no PEM private key (-----BEGIN PRIVATE KEY-----)")?;
    let pair = match &key {
        PrivateKeyDer::Pkcs8(der) => RsaKeyPair::from_pkcs8(der.secret_pkcs8_der()),
        PrivateKeyDer::Pkcs1(der) => RsaKeyPair::from_der(der.secret_pkcs1_der()),
        _ => return Err("is not an RSA key"),
    };
    pair.map_err(|_| "is not a valid RSA private key of 2048 to 4096 bits")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_keys_name_the_field_and_never_echo_material() {
        let cases = [
            ("not json", "not JSON"),
            ("[]", "not a JSON object"),
            (
                r#"{"service_account_id":"a","private_key":"x"}"#,
                "`id` is missing",
            ),
            (
                r#"{"id":"k","service_account_id":7,"private_key":"x"}"#,
                "`service_account_id` is not a string",
            ),
            (
                r#"{"id":"k","service_account_id":"a","private_key":""}"#,
                "`private_key` is empty",
            ),
            (
                r#"{"id":"k","service_account_id":"a","private_key":"-----BEGIN PRIVATE KEY-----\nU0VDUkVUU0VDUkVU\n-----END PRIVATE KEY-----\n"}"#,
                "`private_key` is not a valid RSA",
            ),
            (
                r#"{"id":"k","service_account_id":"a","private_key":"SECRETSECRET"}"#,
                "`private_key` holds no PEM",
            ),
            (
                r#"{"id":"k","service_account_id":"a","key_algorithm":"ED25519","private_key":"x"}"#,
                "`key_algorithm`",
            ),
        ];
        for (json, expect) in cases {
            let e = ServiceAccountKey::from_json("the file k.json", json)
                .unwrap_err()
                .to_string();
            assert!(e.contains(expect), "{json}: {e}");
            assert!(e.contains("the file k.json"), "{e}");
            assert!(!e.contains("SECRET") && !e.contains("U0VDUkVU"), "{e}");
        }
    }
}
