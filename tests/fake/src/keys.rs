//! Service-account keys: RSA generation (the `rsa` crate), the `yc iam key create`
//! JSON shape, PS256 JWT signing for tests, and JWT verification with `ring`.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ring::signature::{self, RsaKeyPair, UnparsedPublicKey};
use rsa::RsaPrivateKey;
use rsa::pkcs1::EncodeRsaPublicKey;
use rsa::pkcs8::{DecodePublicKey, EncodePrivateKey, EncodePublicKey, LineEnding};
use serde::Serialize;
use serde_json::Value;

use crate::util;

/// A service-account authorized key, as `yc iam key create` would hand out.
///
/// Made by [`crate::FakeServer::new_sa_key`] (generated and registered) or by
/// [`SaKey::generate`] (generated only; register it with
/// [`crate::FakeServer::register_sa_key`], or keep it unknown to test rejection).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SaKey {
    /// Key id (`id` in the key file, `kid` in the JWT header), e.g. `ajexxxxxxxxxxxxxxxxx`.
    pub key_id: String,
    /// The service account the key belongs to (`iss` of the JWT).
    pub service_account_id: String,
    /// PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`), without the "PLEASE DO NOT REMOVE" line.
    pub private_key_pem: String,
    /// SubjectPublicKeyInfo PEM (`-----BEGIN PUBLIC KEY-----`).
    pub public_key_pem: String,
    /// RSA modulus size in bits: 2048 or 4096.
    pub bits: usize,
    /// Creation time, RFC 3339 UTC with exactly 6 fractional digits.
    pub created_at: String,
}

#[derive(Serialize)]
struct YcKeyFile<'a> {
    id: &'a str,
    service_account_id: &'a str,
    created_at: &'a str,
    key_algorithm: String,
    public_key: &'a str,
    private_key: String,
}

impl SaKey {
    /// Generates a new RSA key of `bits` bits (2048 or 4096) with fresh random key and
    /// service-account ids. Does not register it with any server.
    ///
    /// # Panics
    /// If `bits` is neither 2048 nor 4096 (those are the only sizes Yandex Cloud issues).
    pub fn generate(bits: usize) -> SaKey {
        assert!(
            bits == 2048 || bits == 4096,
            "SaKey::generate: bits must be 2048 or 4096, got {bits}"
        );
        Self::generate_for(bits, util::random_id("aje"))
    }

    /// Like [`SaKey::generate`], for a given service account id.
    pub fn generate_for(bits: usize, service_account_id: String) -> SaKey {
        let key = RsaPrivateKey::new(&mut rand_core::OsRng, bits).expect("RSA key generation");
        let private_key_pem = key
            .to_pkcs8_pem(LineEnding::LF)
            .expect("PKCS#8 encoding")
            .to_string();
        let public_key_pem = key
            .to_public_key()
            .to_public_key_pem(LineEnding::LF)
            .expect("SPKI encoding");
        SaKey {
            key_id: util::random_id("aje"),
            service_account_id,
            private_key_pem,
            public_key_pem,
            bits,
            created_at: util::rfc3339_micros(time::OffsetDateTime::now_utc()),
        }
    }

    /// The key as `yc iam key create --output key.json` writes it:
    /// `id`, `service_account_id`, `created_at` (6 fractional digits), `key_algorithm`
    /// (`RSA_2048`/`RSA_4096`), `public_key`, `private_key` (PKCS#8 PEM), pretty-printed.
    /// With `with_header_line`, `private_key` starts with
    /// `PLEASE DO NOT REMOVE THIS LINE! Yandex.Cloud SA Key ID <id>\n` as newer keys do.
    pub fn to_yc_json(&self, with_header_line: bool) -> String {
        let private_key = if with_header_line {
            format!(
                "PLEASE DO NOT REMOVE THIS LINE! Yandex.Cloud SA Key ID {}\n{}",
                self.key_id, self.private_key_pem
            )
        } else {
            self.private_key_pem.clone()
        };
        let file = YcKeyFile {
            id: &self.key_id,
            service_account_id: &self.service_account_id,
            created_at: &self.created_at,
            key_algorithm: format!("RSA_{}", self.bits),
            public_key: &self.public_key_pem,
            private_key,
        };
        serde_json::to_string_pretty(&file).expect("serialize key file")
    }

    /// Signs arbitrary header and claims JSON as a compact JWS with RSASSA-PSS SHA-256
    /// (salt length 32), i.e. `base64url(header).base64url(claims).base64url(sig)`.
    /// The JSON is used verbatim, so tests can build wrong headers on purpose.
    pub fn sign_jwt(&self, header_json: &str, claims_json: &str) -> String {
        let der = pem_to_der(&self.private_key_pem, "PRIVATE KEY").expect("private key PEM");
        let pair = RsaKeyPair::from_pkcs8(&der).expect("ring accepts the PKCS#8 key");
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header_json),
            URL_SAFE_NO_PAD.encode(claims_json)
        );
        let mut sig = vec![0u8; pair.public().modulus_len()];
        pair.sign(
            &signature::RSA_PSS_SHA256,
            &ring::rand::SystemRandom::new(),
            signing_input.as_bytes(),
            &mut sig,
        )
        .expect("RSA-PSS signing");
        format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(sig))
    }

    /// A valid JWT for this key: header `{"typ":"JWT","alg":"PS256","kid":<key_id>}`,
    /// claims `iss` = service account, `aud` = `audience`, `iat` = now, `exp` = now + 3600.
    pub fn jwt(&self, audience: &str) -> String {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let header = serde_json::json!({"typ": "JWT", "alg": "PS256", "kid": self.key_id});
        let claims = serde_json::json!({
            "iss": self.service_account_id, "aud": audience, "iat": now, "exp": now + 3600,
        });
        self.sign_jwt(&header.to_string(), &claims.to_string())
    }

    /// DER `RSAPublicKey` (PKCS#1), the form ring verifies with.
    pub(crate) fn public_pkcs1_der(&self) -> Result<Vec<u8>, String> {
        let pk = rsa::RsaPublicKey::from_public_key_pem(&self.public_key_pem)
            .map_err(|e| format!("bad public key PEM: {e}"))?;
        pk.to_pkcs1_der()
            .map(|d| d.as_bytes().to_vec())
            .map_err(|e| format!("PKCS#1 encoding: {e}"))
    }
}

/// Extracts the DER of the first `-----BEGIN <label>-----` block (text before it is ignored).
pub(crate) fn pem_to_der(pem: &str, label: &str) -> Option<Vec<u8>> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = pem.find(&begin)? + begin.len();
    let stop = start + pem[start..].find(&end)?;
    let b64: String = pem[start..stop]
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    STANDARD.decode(b64).ok()
}

/// Why a JWT was refused.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum JwtError {
    /// The header has no `kid`.
    MissingKid,
    /// Anything else; the string is a short reason.
    Invalid(String),
}

/// What a registered key needs for verification.
pub(crate) struct KeyEntry {
    pub service_account_id: String,
    pub public_pkcs1_der: Vec<u8>,
}

/// Rules for accepting a JWT.
pub(crate) struct JwtRules<'a> {
    pub audience: &'a str,
    pub now: i64,
    pub max_lifetime: i64,
    pub max_iat_skew: i64,
}

fn invalid(reason: impl Into<String>) -> JwtError {
    JwtError::Invalid(reason.into())
}

fn decode_json_part(part: &str, what: &str) -> Result<serde_json::Map<String, Value>, JwtError> {
    let raw = URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| invalid(format!("{what} is not valid base64url")))?;
    match serde_json::from_slice::<Value>(&raw) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(invalid(format!("{what} is not a JSON object"))),
    }
}

fn number(claims: &serde_json::Map<String, Value>, name: &str) -> Result<i64, JwtError> {
    match claims.get(name) {
        Some(Value::Number(n)) => n
            .as_i64()
            .or_else(|| n.as_f64().map(|f| f as i64))
            .ok_or_else(|| invalid(format!("claim '{name}' is out of range"))),
        Some(_) => Err(invalid(format!("claim '{name}' must be a number"))),
        None => Err(invalid(format!("claim '{name}' is missing"))),
    }
}

/// Verifies a compact PS256 JWS; returns the service account id it authenticates.
/// `lookup` maps a key id to its registered key.
pub(crate) fn verify_jwt(
    jwt: &str,
    lookup: impl Fn(&str) -> Option<KeyEntry>,
    rules: &JwtRules<'_>,
) -> Result<String, JwtError> {
    let parts: Vec<&str> = jwt.split('.').collect();
    if parts.len() != 3 {
        return Err(invalid(
            "not a compact JWS (expected 3 dot-separated parts)",
        ));
    }
    let header = decode_json_part(parts[0], "JWT header")?;
    let kid = match header.get("kid") {
        None | Some(Value::Null) => return Err(JwtError::MissingKid),
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        Some(_) => return Err(JwtError::MissingKid),
    };
    if header.get("typ").and_then(Value::as_str) != Some("JWT") {
        return Err(invalid("header 'typ' must be \"JWT\""));
    }
    match header.get("alg").and_then(Value::as_str) {
        Some("PS256") => {}
        Some(other) => return Err(invalid(format!("unsupported algorithm '{other}'"))),
        None => return Err(invalid("header 'alg' is missing")),
    }
    let key = lookup(&kid).ok_or_else(|| invalid(format!("unknown key id '{kid}'")))?;
    let sig = URL_SAFE_NO_PAD
        .decode(parts[2])
        .map_err(|_| invalid("signature is not valid base64url"))?;
    let signing_input = &jwt[..parts[0].len() + 1 + parts[1].len()];
    UnparsedPublicKey::new(&signature::RSA_PSS_2048_8192_SHA256, &key.public_pkcs1_der)
        .verify(signing_input.as_bytes(), &sig)
        .map_err(|_| invalid("signature verification failed (PS256, salt length 32)"))?;
    let claims = decode_json_part(parts[1], "JWT claims")?;
    match claims.get("iss").and_then(Value::as_str) {
        Some(iss) if iss == key.service_account_id => {}
        Some(_) => return Err(invalid("'iss' does not match the key's service account")),
        None => return Err(invalid("claim 'iss' is missing")),
    }
    let aud_ok = match claims.get("aud") {
        Some(Value::String(a)) => a == rules.audience,
        Some(Value::Array(list)) => list.iter().any(|a| a.as_str() == Some(rules.audience)),
        _ => false,
    };
    if !aud_ok {
        return Err(invalid(format!("'aud' must be '{}'", rules.audience)));
    }
    let iat = number(&claims, "iat")?;
    let exp = number(&claims, "exp")?;
    if exp <= rules.now {
        return Err(invalid("the JWT has expired"));
    }
    if exp <= iat {
        return Err(invalid("'exp' must be after 'iat'"));
    }
    if exp - iat > rules.max_lifetime {
        return Err(invalid(format!(
            "JWT lifetime (exp - iat) exceeds {} seconds",
            rules.max_lifetime
        )));
    }
    if iat > rules.now + rules.max_iat_skew {
        return Err(invalid("'iat' is in the future"));
    }
    Ok(key.service_account_id)
}
