//! Token exchange over real TLS: OAuth, JWT (PS256), revocation, validation errors.

mod common;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::*;
use ring::signature::{self, RsaKeyPair};
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use yciam_fake::{DEFAULT_AUDIENCE, FakeConfig, FakeServer, Route, SaKey};

fn tokens_url(f: &FakeServer) -> String {
    format!("{}/iam/v1/tokens", f.https_url())
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Checks `t1.<base64url 20-40>.<86 base64url>`.
fn assert_token_shape(t: &str) {
    let parts: Vec<&str> = t.split('.').collect();
    assert_eq!(parts.len(), 3, "{t}");
    assert_eq!(parts[0], "t1");
    assert!((20..=40).contains(&parts[1].len()), "{t}");
    assert_eq!(parts[2].len(), 86, "{t}");
    let b64 = |s: &str| {
        s.bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
    };
    assert!(b64(parts[1]) && b64(parts[2]), "{t}");
}

/// Checks `YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ` and returns its Unix seconds (roughly).
fn assert_expires_at(s: &str) -> i64 {
    assert_eq!(s.len(), 30, "{s}");
    assert!(
        s.ends_with('Z') && &s[10..11] == "T" && &s[19..20] == ".",
        "{s}"
    );
    assert!(s[20..29].bytes().all(|c| c.is_ascii_digit()), "{s}");
    let f = time::format_description::well_known::Rfc3339;
    time::OffsetDateTime::parse(s, &f)
        .expect("RFC 3339")
        .unix_timestamp()
}

/// Signs header/claims with ring's RsaKeyPair + RSA_PSS_SHA256, independently of SaKey.
fn ring_sign(key: &SaKey, header: &Value, claims: &Value) -> String {
    let pem = &key.private_key_pem;
    let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap();
    let pair = RsaKeyPair::from_pkcs8(&der).expect("PKCS#8 accepted by ring");
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let mut sig = vec![0; pair.public().modulus_len()];
    pair.sign(
        &signature::RSA_PSS_SHA256,
        &ring::rand::SystemRandom::new(),
        input.as_bytes(),
        &mut sig,
    )
    .unwrap();
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig))
}

fn std_header(key: &SaKey) -> Value {
    json!({"typ": "JWT", "alg": "PS256", "kid": key.key_id})
}

fn std_claims(key: &SaKey) -> Value {
    let n = now();
    json!({"iss": key.service_account_id, "aud": DEFAULT_AUDIENCE, "iat": n, "exp": n + 3600})
}

fn exchange_jwt(f: &FakeServer, agent: &ureq::Agent, jwt: &str) -> Reply {
    post_json(agent, &tokens_url(f), &json!({ "jwt": jwt }))
}

#[test]
fn oauth_exchange_over_tls() {
    let f = FakeServer::start();
    assert!(f.https_url().starts_with("https://127.0.0.1:"));
    let a = agent(&f.ca_pem());
    let r = post_json(
        &a,
        &tokens_url(&f),
        &json!({"yandexPassportOauthToken": f.oauth_token()}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("application/json"));
    let rid = r.header("x-request-id").expect("x-request-id");
    assert_eq!(rid.len(), 36);
    let v = r.json();
    let token = v["iamToken"].as_str().unwrap();
    assert_token_shape(token);
    let exp = assert_expires_at(v["expiresAt"].as_str().unwrap());
    assert!((exp - now() - 12 * 3600).abs() < 60, "12 h lifetime");
    assert_eq!(f.issued_tokens(), vec![token.to_string()]);
    assert_eq!(f.token_subject(token), f.oauth_subject(&f.oauth_token()));
    assert!(f.is_token_valid(token));
    assert_eq!(f.count(Route::CreateToken), 1);
    let req = &f.requests()[0];
    assert_eq!(req.method, "POST");
    assert_eq!(req.path, "/iam/v1/tokens");
    assert!(req.tls);
    assert_eq!(req.header("Content-Type"), Some("application/json"));

    // Extra OAuth tokens; unknown ones are refused.
    f.add_oauth_token("y0_second");
    let r = post_json(
        &a,
        &tokens_url(&f),
        &json!({"yandexPassportOauthToken": "y0_second"}),
    );
    assert_eq!(r.status, 200);
    let r = post_json(
        &a,
        &tokens_url(&f),
        &json!({"yandexPassportOauthToken": "y0_unknown"}),
    );
    assert_eq!(
        r.assert_status(401, 16),
        "OAuth token is invalid or expired"
    );
}

#[test]
fn tls_with_wrong_ca_fails() {
    let f = FakeServer::start();
    assert_ne!(f.ca_pem(), f.wrong_ca_pem());
    let a = agent(&f.wrong_ca_pem());
    let e = send(&a, "GET", &format!("{}/x", f.https_url()), &[], None).unwrap_err();
    assert!(
        matches!(
            e,
            ureq::Error::Rustls(_) | ureq::Error::Tls(_) | ureq::Error::Io(_)
        ),
        "{e:?}"
    );
    // localhost is in the certificate too.
    let port = f.https_url().rsplit(':').next().unwrap().to_string();
    let r = send(
        &agent(&f.ca_pem()),
        "GET",
        &format!("https://localhost:{port}/nope"),
        &[],
        None,
    )
    .unwrap();
    assert_eq!(r.assert_status(404, 5), "Not found");
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("ca.pem");
    f.write_ca(&p);
    assert_eq!(std::fs::read_to_string(p).unwrap(), f.ca_pem());
}

#[test]
fn create_token_validation() {
    let f = FakeServer::start();
    let a = agent(&f.ca_pem());
    let identity = "Validation failed:\n  - identity: One of the options must be selected";
    for body in [
        json!({}),
        json!({"yandexPassportOauthToken": f.oauth_token(), "jwt": "a.b.c"}),
        json!([1, 2]),
        json!({"yandexPassportOauthToken": 5}),
    ] {
        let r = post_json(&a, &tokens_url(&f), &body);
        assert_eq!(r.assert_status(400, 3), identity, "{body}");
    }
    for raw in [&b"not json"[..], b"", b"\xff\xfe{", b"{\"jwt\":"] {
        let r = send(&a, "POST", &tokens_url(&f), &[], Some(raw)).unwrap();
        assert_eq!(r.assert_status(400, 3), identity);
    }
    let r = send(&a, "GET", &tokens_url(&f), &[], None).unwrap();
    r.assert_status(405, 12);
    assert!(f.issued_tokens().is_empty());
}

#[test]
fn jwt_signed_with_ring_is_accepted() {
    let f = FakeServer::start();
    let a = agent(&f.ca_pem());
    let key = f.new_sa_key(2048);
    assert!(
        key.private_key_pem
            .starts_with("-----BEGIN PRIVATE KEY-----")
    );
    assert!(key.public_key_pem.starts_with("-----BEGIN PUBLIC KEY-----"));
    let jwt = ring_sign(&key, &std_header(&key), &std_claims(&key));
    let r = exchange_jwt(&f, &a, &jwt);
    assert_eq!(r.status, 200, "{}", r.text());
    let token = r.json()["iamToken"].as_str().unwrap().to_string();
    assert_token_shape(&token);
    assert_eq!(
        f.token_subject(&token).as_deref(),
        Some(key.service_account_id.as_str())
    );
    // SaKey's own helper produces an equivalent JWT; aud may be an array.
    assert_eq!(exchange_jwt(&f, &a, &key.jwt(DEFAULT_AUDIENCE)).status, 200);
    let mut claims = std_claims(&key);
    claims["aud"] = json!(["https://other", DEFAULT_AUDIENCE]);
    assert_eq!(
        exchange_jwt(&f, &a, &ring_sign(&key, &std_header(&key), &claims)).status,
        200
    );
    let issued = f.issued();
    assert_eq!(issued.len(), 3);
    assert!(issued.iter().all(|t| t.source == "jwt"));
}

#[test]
fn jwt_with_4096_bit_key() {
    let started = Instant::now();
    let key = SaKey::generate(4096);
    let took = started.elapsed();
    eprintln!("4096-bit RSA key generation took {took:?}");
    let f = FakeServer::start();
    f.register_sa_key(&key);
    let r = exchange_jwt(&f, &agent(&f.ca_pem()), &key.jwt(DEFAULT_AUDIENCE));
    assert_eq!(r.status, 200, "{}", r.text());
    let v: Value = serde_json::from_str(&key.to_yc_json(false)).unwrap();
    assert_eq!(v["key_algorithm"], "RSA_4096");
}

#[test]
fn jwt_rejections() {
    let f = FakeServer::start_with(FakeConfig {
        clouds: vec![],
        ..FakeConfig::default()
    });
    let a = agent(&f.ca_pem());
    let key = f.new_sa_key(2048);
    let other = f.new_sa_key(2048);
    let unregistered = SaKey::generate(2048);
    let n = now();

    let refuse = |jwt: &str, want: &str| {
        let r = exchange_jwt(&f, &a, jwt);
        let msg = r.assert_status(401, 16);
        assert!(msg.contains(want), "{msg:?} should contain {want:?}");
    };

    // No kid.
    refuse(
        &ring_sign(
            &key,
            &json!({"typ": "JWT", "alg": "PS256"}),
            &std_claims(&key),
        ),
        "The required field 'kid' is missing from the JWT header",
    );
    let invalid = "The token is invalid";
    // Unknown kid.
    refuse(&unregistered.jwt(DEFAULT_AUDIENCE), "unknown key id");
    // Right kid, signed by another key.
    refuse(
        &ring_sign(&other, &std_header(&key), &std_claims(&key)),
        "signature verification failed",
    );
    // Wrong audience, including another installation's.
    let mut c = std_claims(&key);
    c["aud"] = json!("https://iam.api.yandexcloud.kz/iam/v1/tokens");
    refuse(&ring_sign(&key, &std_header(&key), &c), "'aud'");
    // Wrong issuer.
    let mut c = std_claims(&key);
    c["iss"] = json!(other.service_account_id);
    refuse(&ring_sign(&key, &std_header(&key), &c), "'iss'");
    // Expired, too long, from the future, non-numeric.
    for (iat, exp, why) in [
        (json!(n - 7200), json!(n - 3600), "expired"),
        (json!(n), json!(n + 3601), "lifetime"),
        (json!(n + 3600), json!(n + 3700), "future"),
        (json!("now"), json!(n + 60), "must be a number"),
        (json!(n), Value::Null, "'exp' must be a number"),
    ] {
        let mut c = std_claims(&key);
        c["iat"] = iat;
        c["exp"] = exp;
        refuse(&ring_sign(&key, &std_header(&key), &c), why);
    }
    // Header must be typ JWT, alg PS256.
    for (h, why) in [
        (json!({"alg": "PS256", "kid": key.key_id}), "'typ'"),
        (
            json!({"typ": "JWT", "alg": "RS256", "kid": key.key_id}),
            "RS256",
        ),
        (
            json!({"typ": "JWS", "alg": "PS256", "kid": key.key_id}),
            "'typ'",
        ),
    ] {
        refuse(&ring_sign(&key, &h, &std_claims(&key)), why);
    }
    // An RS256 (PKCS#1 v1.5) signature under a PS256 header.
    let b64: String = key
        .private_key_pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    let pair = RsaKeyPair::from_pkcs8(
        &base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap(),
    )
    .unwrap();
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(std_header(&key).to_string()),
        URL_SAFE_NO_PAD.encode(std_claims(&key).to_string())
    );
    let mut sig = vec![0; pair.public().modulus_len()];
    pair.sign(
        &signature::RSA_PKCS1_SHA256,
        &ring::rand::SystemRandom::new(),
        input.as_bytes(),
        &mut sig,
    )
    .unwrap();
    refuse(
        &format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig)),
        "signature verification failed",
    );
    // Malformed JWS strings never crash the fake.
    let good = key.jwt(DEFAULT_AUDIENCE);
    let tampered = format!("{}x", &good);
    for bad in [
        "",
        "abc",
        "a.b",
        "a.b.c",
        "....",
        "!!!.???.***",
        tampered.as_str(),
    ] {
        refuse(bad, invalid);
    }
    // A header without kid is reported as such even when the rest is junk.
    refuse("eyJ0eXAiOiJKV1QifQ.e30.", "'kid' is missing");
    assert!(f.issued_tokens().is_empty());
    // The good one still works afterwards.
    assert_eq!(exchange_jwt(&f, &a, &good).status, 200);
}

#[test]
fn audience_is_configurable() {
    let aud = "https://iam.api.yandexcloud.kz/iam/v1/tokens";
    let f = FakeServer::start_with(FakeConfig {
        audience: aud.to_string(),
        ..FakeConfig::default()
    });
    let a = agent(&f.ca_pem());
    let key = f.new_sa_key(2048);
    assert_eq!(exchange_jwt(&f, &a, &key.jwt(aud)).status, 200);
    exchange_jwt(&f, &a, &key.jwt(DEFAULT_AUDIENCE)).assert_status(401, 16);
}

#[test]
fn yc_key_json_shape() {
    let key = SaKey::generate(2048);
    for header in [false, true] {
        let text = key.to_yc_json(header);
        let v: Value = serde_json::from_str(&text).unwrap();
        let obj = v.as_object().unwrap();
        let names: Vec<&str> = obj.keys().map(String::as_str).collect();
        for n in [
            "id",
            "service_account_id",
            "created_at",
            "key_algorithm",
            "public_key",
            "private_key",
        ] {
            assert!(names.contains(&n), "{n} missing in {text}");
        }
        assert_eq!(obj.len(), 6);
        assert_eq!(v["id"], key.key_id.as_str());
        assert_eq!(v["id"].as_str().unwrap().len(), 20);
        assert_eq!(v["service_account_id"], key.service_account_id.as_str());
        assert_eq!(v["key_algorithm"], "RSA_2048");
        let created = v["created_at"].as_str().unwrap();
        assert_eq!(created.len(), 27, "{created}");
        assert!(created.ends_with('Z') && &created[19..20] == ".");
        assert_eq!(v["public_key"], key.public_key_pem.as_str());
        let private = v["private_key"].as_str().unwrap();
        if header {
            let want = format!(
                "PLEASE DO NOT REMOVE THIS LINE! Yandex.Cloud SA Key ID {}\n-----BEGIN PRIVATE KEY-----",
                key.key_id
            );
            assert!(private.starts_with(&want), "{private}");
        } else {
            assert_eq!(private, key.private_key_pem);
        }
    }
}

#[test]
fn revoke_flow() {
    let f = FakeServer::start();
    let a = agent(&f.ca_pem());
    let token = iam_token(&a, &f);
    let url = format!("{}/iam/v1/tokens:revoke", f.https_url());
    let clouds = format!("{}/resource-manager/v1/clouds?pageSize=1", f.https_url());
    assert_eq!(get_bearer(&a, &clouds, &token).status, 200);
    let r = post_json(&a, &url, &json!({ "iamToken": token }));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.json()["subjectId"].as_str(),
        f.oauth_subject(&f.oauth_token()).as_deref()
    );
    assert!(!f.is_token_valid(&token));
    get_bearer(&a, &clouds, &token).assert_status(401, 16);
    // Revoking again, or an unknown token.
    assert_eq!(
        post_json(&a, &url, &json!({ "iamToken": token })).assert_status(401, 16),
        "The token is invalid"
    );
    post_json(&a, &url, &json!({"iamToken": "t1.nope.nope"})).assert_status(401, 16);
    // Missing field.
    post_json(&a, &url, &json!({})).assert_status(400, 3);
    send(&a, "POST", &url, &[], Some(b"{{{"))
        .unwrap()
        .assert_status(400, 3);
    assert_eq!(f.count(Route::Revoke), 5);
    // revoke_all_tokens
    let t2 = iam_token(&a, &f);
    f.revoke_all_tokens();
    get_bearer(&a, &clouds, &t2).assert_status(401, 16);
}

#[test]
fn short_token_lifetime_expires() {
    let f = FakeServer::start_with(FakeConfig {
        token_lifetime: Duration::from_secs(1),
        ..FakeConfig::default()
    });
    let a = agent(&f.ca_pem());
    let r = post_json(
        &a,
        &tokens_url(&f),
        &json!({"yandexPassportOauthToken": f.oauth_token()}),
    );
    let v = r.json();
    let exp = assert_expires_at(v["expiresAt"].as_str().unwrap());
    assert!(exp - now() <= 2);
    let token = v["iamToken"].as_str().unwrap();
    let url = format!("{}/resource-manager/v1/clouds", f.https_url());
    assert_eq!(get_bearer(&a, &url, token).status, 200);
    std::thread::sleep(Duration::from_millis(1300));
    assert_eq!(
        get_bearer(&a, &url, token).assert_status(401, 16),
        "Token is invalid or has expired."
    );
    f.set_token_lifetime(Duration::from_secs(3600));
    let fresh = iam_token(&a, &f);
    assert_eq!(get_bearer(&a, &url, &fresh).status, 200);
}
