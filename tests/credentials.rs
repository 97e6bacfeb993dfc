//! Every credential source through the real binary against the fake (issue 5): service
//! account keys, the metadata service, yc profiles, the yc CLI, the default chain's order.

mod common;

use std::os::unix::fs::PermissionsExt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::*;

fn jwt_parts(jwt: &str) -> (serde_json::Value, serde_json::Value) {
    let mut parts = jwt.split('.');
    let mut next =
        || serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts.next().unwrap()).unwrap()).unwrap();
    (next(), next())
}

fn last_jwt(w: &World) -> String {
    let req = w
        .fake
        .requests()
        .into_iter()
        .rfind(|r| r.route == Route::CreateToken)
        .expect("a token request");
    let body: serde_json::Value = serde_json::from_slice(&req.body).unwrap();
    body["jwt"].as_str().expect("a jwt body").to_string()
}

#[test]
fn service_account_key_file_with_and_without_the_header_line() {
    let w = World::new();
    for (bits, header_line) in [(2048, true), (2048, false)] {
        let key = w.fake.new_sa_key(bits);
        let file = w.path(&format!("key-{bits}-{header_line}.json"));
        write(&file, key.to_yc_json(header_line).as_bytes());
        let r = w.run(&[
            "token",
            "--no-cache",
            "--sa-key-file",
            file.to_str().unwrap(),
        ]);
        assert_eq!(r.code, 0, "{r:?}");
        assert_eq!(
            w.fake.token_subject(r.stdout.trim()).as_deref(),
            Some(key.service_account_id.as_str())
        );
        let (header, claims) = jwt_parts(&last_jwt(&w));
        assert_eq!(
            header,
            serde_json::json!({"typ":"JWT","alg":"PS256","kid": key.key_id})
        );
        assert_eq!(claims["iss"], key.service_account_id.as_str());
        assert_eq!(
            claims["aud"],
            "https://iam.api.cloud.yandex.net/iam/v1/tokens"
        );
        let (iat, exp) = (
            claims["iat"].as_u64().unwrap(),
            claims["exp"].as_u64().unwrap(),
        );
        assert!(exp > iat && exp - iat <= 3600, "{claims}");
    }
}

#[test]
fn rsa_4096_keys_work() {
    let w = World::new();
    let key = w.fake.new_sa_key(4096);
    let file = w.path("key4096.json");
    write(&file, key.to_yc_json(true).as_bytes());
    let r = w.run(&["token", "--sa-key-file", file.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{r:?}");
}

#[test]
fn the_key_variable_takes_a_path_or_the_json_itself() {
    let w = World::new();
    let key = w.fake.new_sa_key(2048);
    let file = w.path("key.json");
    write(&file, key.to_yc_json(true).as_bytes());
    for value in [file.to_str().unwrap().to_string(), key.to_yc_json(true)] {
        let mut cmd = w.cmd(&["token", "--no-cache", "-v"]);
        cmd.env("YC_SERVICE_ACCOUNT_KEY_FILE", &value);
        let r = w.exec(cmd, None);
        assert_eq!(r.code, 0, "{r:?}");
        assert!(r.stderr.contains("service-account-key"), "{r:?}");
        assert!(!r.stderr.contains("PRIVATE KEY"), "{r:?}");
    }
}

#[test]
fn a_key_the_server_does_not_know_is_refused_with_the_server_message() {
    let w = World::new();
    let unknown = yciam_fake::SaKey::generate(2048);
    let file = w.path("unknown.json");
    write(&file, unknown.to_yc_json(true).as_bytes());
    let r = w.run(&["token", "-v", "--sa-key-file", file.to_str().unwrap()]);
    assert_eq!(r.code, 4, "{r:?}");
    assert!(
        r.stderr.contains("The token is invalid") && r.stderr.contains("request id"),
        "{r:?}"
    );
    assert!(r.stderr.contains(&unknown.key_id), "names the key: {r:?}");
    assert!(
        !r.stderr.contains("PRIVATE KEY") && !r.stderr.contains("MII"),
        "{r:?}"
    );
}

#[test]
fn a_malformed_key_names_the_field_and_prints_no_key_material() {
    let w = World::new();
    let key = w.fake.new_sa_key(2048);
    let mut json: serde_json::Value = serde_json::from_str(&key.to_yc_json(true)).unwrap();
    json.as_object_mut().unwrap().remove("service_account_id");
    let file = w.path("bad.json");
    write(&file, json.to_string().as_bytes());
    let r = w.run(&["token", "--sa-key-file", file.to_str().unwrap()]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr.contains("`service_account_id` is missing"),
        "{r:?}"
    );
    let body = key.private_key_pem.lines().nth(1).unwrap();
    assert!(!r.stderr.contains(body), "{r:?}");
    assert_eq!(w.fake.count(Route::CreateToken), 0);
}

#[test]
fn the_fake_accepts_only_real_ps256_with_salt_32() {
    // The fake's verifier is what makes the JWT tests above meaningful: prove it refuses
    // a PSS signature with another salt length, and a wrong kid, iss, aud or lifetime.
    use rsa::pkcs8::DecodePrivateKey;
    use rsa::signature::RandomizedSigner;
    use rsa::signature::SignatureEncoding;
    let w = World::new();
    let key = w.fake.new_sa_key(2048);
    let private = rsa::RsaPrivateKey::from_pkcs8_pem(&key.private_key_pem).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let aud = "https://iam.api.cloud.yandex.net/iam/v1/tokens";
    let header = |kid: &str| serde_json::json!({"typ":"JWT","alg":"PS256","kid":kid}).to_string();
    let claims = |iss: &str, aud: &str, exp: u64| {
        serde_json::json!({"iss":iss,"aud":aud,"iat":now,"exp":exp}).to_string()
    };
    let sign_with_salt = |salt: usize| {
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header(&key.key_id)),
            URL_SAFE_NO_PAD.encode(claims(&key.service_account_id, aud, now + 3600))
        );
        let signer = rsa::pss::SigningKey::<sha2::Sha256>::new_with_salt_len(private.clone(), salt);
        let sig = signer.sign_with_rng(&mut rand_core::OsRng, input.as_bytes());
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig.to_bytes()))
    };
    let exchange = |jwt: String| -> u16 {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .tls_config(
                ureq::tls::TlsConfig::builder()
                    .root_certs(ureq::tls::RootCerts::new_with_certs(&[
                        ureq::tls::Certificate::from_pem(w.fake.ca_pem().as_bytes()).unwrap(),
                    ]))
                    .build(),
            )
            .build()
            .new_agent();
        agent
            .post(w.url("/iam/v1/tokens"))
            .send(serde_json::json!({ "jwt": jwt }).to_string())
            .unwrap()
            .status()
            .as_u16()
    };
    assert_eq!(
        exchange(sign_with_salt(32)),
        200,
        "salt 32 from another signer is fine"
    );
    assert_eq!(exchange(sign_with_salt(20)), 401, "salt 20 is refused");
    assert_eq!(exchange(sign_with_salt(0)), 401, "salt 0 is refused");
    let signed = |h: String, c: String| key.sign_jwt(&h, &c);
    let sa = key.service_account_id.as_str();
    assert_eq!(
        exchange(signed(header(&key.key_id), claims(sa, aud, now + 3600))),
        200
    );
    assert_eq!(
        exchange(signed(header("ajeunknownkid"), claims(sa, aud, now + 3600))),
        401
    );
    assert_eq!(
        exchange(signed(
            header(&key.key_id),
            claims("ajeother", aud, now + 3600)
        )),
        401
    );
    assert_eq!(
        exchange(signed(
            header(&key.key_id),
            claims(sa, "https://example.com/", now + 3600)
        )),
        401
    );
    assert_eq!(
        exchange(signed(header(&key.key_id), claims(sa, aud, now + 7200))),
        401,
        "exp - iat > 1 h"
    );
    let no_kid = serde_json::json!({"typ":"JWT","alg":"PS256"}).to_string();
    assert_eq!(exchange(signed(no_kid, claims(sa, aud, now + 3600))), 401);
}

// ---- metadata -----------------------------------------------------------------------------

#[test]
fn metadata_service_with_the_flavor_header() {
    let w = World::new();
    let mut cmd = w.cmd(&["token", "--metadata", "-v"]);
    cmd.env("YC_METADATA_ADDR", w.fake.metadata_addr());
    let r = w.exec(cmd, None);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(w.fake.is_token_valid(r.stdout.trim()));
    let req = w
        .fake
        .requests()
        .into_iter()
        .find(|r| r.route == Route::Metadata)
        .unwrap();
    assert_eq!(req.header("Metadata-Flavor"), Some("Google"));
    assert!(!req.tls);
    w.assert_no_secret_in_stderr(&r);
    // Without the header the service refuses (so the header above is what made it work).
    let resp = ureq::get(format!(
        "{}/computeMetadata/v1/instance/service-accounts/default/token",
        w.fake.http_url()
    ))
    .config()
    .http_status_as_error(false)
    .build()
    .call()
    .unwrap();
    assert_eq!(resp.status(), 403);
}

#[test]
fn metadata_without_a_service_account_says_so() {
    let w = World::new();
    w.fake.set_metadata_service_account(None);
    let mut cmd = w.cmd(&["token", "--metadata"]);
    cmd.env("YC_METADATA_ADDR", w.fake.metadata_addr());
    let r = w.exec(cmd, None);
    assert_eq!(r.code, 3, "{r:?}");
    assert!(
        r.stderr
            .contains("no service account is attached to this VM"),
        "{r:?}"
    );
}

#[test]
fn the_metadata_service_is_never_reached_through_a_proxy() {
    let w = World::new();
    let mut cmd = w.cmd(&["token", "--metadata"]);
    cmd.env("YC_METADATA_ADDR", w.fake.metadata_addr())
        .env("HTTP_PROXY", "http://127.0.0.1:9")
        .env("ALL_PROXY", "http://127.0.0.1:9");
    let r = w.exec(cmd, None);
    assert_eq!(r.code, 0, "{r:?}");
}

// ---- yc profiles ----------------------------------------------------------------------------

fn write_yc_config(w: &World, yaml: &str) {
    let dir = w.dir.path().join(".config/yandex-cloud");
    std::fs::create_dir_all(&dir).unwrap();
    write(&dir.join("config.yaml"), yaml.as_bytes());
}

/// A `yc` on PATH that prints a token the fake knows and records its arguments.
fn fake_yc(w: &World) -> std::path::PathBuf {
    let bin = w.dir.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    // The token yc prints: a metadata token the fake issued, so it works at the API.
    let token = {
        let mut cmd = w.cmd(&["token", "--metadata", "--no-cache"]);
        cmd.env("YC_METADATA_ADDR", w.fake.metadata_addr());
        w.exec(cmd, None).stdout.trim().to_string()
    };
    let script = bin.join("yc");
    write(
        &script,
        format!(
            "#!/bin/sh\necho \"$@\" >> '{}'\necho 'yc: signing in (this goes to stderr)' >&2\nprintf '%s\\n' '{token}'\n",
            w.path("yc-args").display()
        )
        .as_bytes(),
    );
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    bin
}

#[test]
fn profiles_token_key_metadata_and_federated() {
    let w = World::new();
    let key = w.fake.new_sa_key(2048);
    let key_yaml: serde_json::Value = serde_json::from_str(&key.to_yc_json(true)).unwrap();
    let key_yaml =
        serde_yaml_ng::to_string(&serde_json::json!({"service-account-key": key_yaml})).unwrap();
    let indented: String = key_yaml.lines().map(|l| format!("    {l}\n")).collect();
    write_yc_config(
        &w,
        &format!(
            "current: oauth\nprofiles:\n  oauth:\n    token: {}\n    folder-id: b1gfolder\n  sa:\n{indented}    endpoint: api.cloud.yandex.net:443\n  vm:\n    instance-service-account: true\n  fed:\n    federation-id: bpf0000000000000000\n",
            w.fake.oauth_token()
        ),
    );
    let bin = fake_yc(&w);
    let path = format!("{}:/usr/bin:/bin", bin.display());
    let go = |args: &[&str], profile_env: Option<&str>| {
        let mut cmd = w.cmd(args);
        cmd.env("YC_METADATA_ADDR", w.fake.metadata_addr())
            .env("PATH", &path);
        if let Some(p) = profile_env {
            cmd.env("YC_PROFILE", p);
        }
        w.exec(cmd, None)
    };
    // current: → the OAuth token.
    let r = go(&["token", "-v", "--no-cache"], None);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stderr
            .contains("oauth-token from the yc profile \"oauth\""),
        "{r:?}"
    );
    // --profile and YC_PROFILE pick others.
    let r = go(&["token", "-v", "--no-cache", "--profile", "sa"], None);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(
        w.fake.token_subject(r.stdout.trim()).as_deref(),
        Some(key.service_account_id.as_str())
    );
    let r = go(&["token", "-v", "--no-cache"], Some("vm"));
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stderr.contains("metadata from the yc profile \"vm\""),
        "{r:?}"
    );
    // A federated profile goes through yc itself, with the profile's name.
    let r = go(&["token", "-v", "--no-cache", "--profile", "fed"], None);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(w.fake.is_token_valid(r.stdout.trim()), "{r:?}");
    assert!(
        r.stderr.contains("yc: signing in"),
        "yc's prompts reach the user: {r:?}"
    );
    let args = std::fs::read_to_string(w.path("yc-args")).unwrap();
    assert!(args.contains("iam create-token --profile fed"), "{args}");
    // Without yc on PATH the federated profile is an error that says so.
    let mut cmd = w.cmd(&["token", "--profile", "fed"]);
    cmd.env("PATH", "/usr/bin:/bin");
    let r = w.exec(cmd, None);
    assert_eq!(r.code, 3, "{r:?}");
    assert!(
        r.stderr.contains("is federated") && r.stderr.contains("yc is not on PATH"),
        "{r:?}"
    );
    // A missing profile lists the ones there are.
    let r = go(&["token", "--profile", "nope"], None);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("fed, oauth, sa, vm"), "{r:?}");
    w.assert_no_secret_in_stderr(&r);
}

// ---- the default chain's order ----------------------------------------------------------------

#[test]
fn chain_order_is_as_documented() {
    let w = World::new();
    let key = w.fake.new_sa_key(2048);
    let key_file = w.path("key.json");
    write(&key_file, key.to_yc_json(true).as_bytes());
    write_yc_config(
        &w,
        &format!(
            "current: p\nprofiles:\n  p:\n    token: {}\n",
            w.fake.oauth_token()
        ),
    );
    let bin = fake_yc(&w);
    let iam_token = w
        .run(&[
            "token",
            "--oauth-token-file",
            w.oauth_file.to_str().unwrap(),
        ])
        .stdout;
    let all: Vec<(&str, String)> = vec![
        ("YC_IAM_TOKEN", iam_token.trim().to_string()),
        (
            "YC_SERVICE_ACCOUNT_KEY_FILE",
            key_file.display().to_string(),
        ),
        ("YC_OAUTH_TOKEN", w.fake.oauth_token()),
        ("YC_TOKEN", w.fake.oauth_token()),
    ];
    let expect = [
        "iam-token from YC_IAM_TOKEN",
        "service-account-key from the file",
        "oauth-token from YC_OAUTH_TOKEN",
        "oauth-token from YC_TOKEN",
        "oauth-token from the yc profile \"p\"",
        "metadata from the metadata service",
        "yc from the yc CLI",
    ];
    for (i, expected) in expect.iter().enumerate() {
        let mut cmd = w.cmd(&["token", "-v", "--no-cache"]);
        cmd.env("YC_METADATA_ADDR", w.fake.metadata_addr())
            .env("PATH", format!("{}:/usr/bin:/bin", bin.display()));
        for (name, value) in all.iter().skip(i) {
            cmd.env(name, value);
        }
        if i > 4 {
            cmd.env("HOME", w.path("empty-home"));
        }
        if i > 5 {
            cmd.env("YC_METADATA_ADDR", "127.0.0.1:9");
        }
        let r = w.exec(cmd, None);
        assert_eq!(r.code, 0, "{expected}: {r:?}");
        assert!(r.stderr.contains(expected), "{expected}: {r:?}");
    }
}

#[test]
fn the_jwt_audience_follows_the_installation() {
    let fake = FakeServer::start_with(FakeConfig {
        audience: "https://iam.api.yandexcloud.kz/iam/v1/tokens".into(),
        ..FakeConfig::default()
    });
    let w = World::with(fake);
    let key = w.fake.new_sa_key(2048);
    let file = w.path("key.json");
    write(&file, key.to_yc_json(true).as_bytes());
    let file = file.to_str().unwrap();
    let r = w.run(&[
        "token",
        "--sa-key-file",
        file,
        "--endpoint",
        "api.yandexcloud.kz",
    ]);
    assert_eq!(r.code, 0, "{r:?}");
    let (_, claims) = jwt_parts(&last_jwt(&w));
    assert_eq!(
        claims["aud"],
        "https://iam.api.yandexcloud.kz/iam/v1/tokens"
    );
    // The global installation's audience is refused by the Kazakhstan one.
    let r = w.run(&["token", "--no-cache", "--sa-key-file", file]);
    assert_eq!(r.code, 4, "{r:?}");
}
