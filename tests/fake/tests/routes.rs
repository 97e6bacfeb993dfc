//! Resource Manager pagination, metadata, echo/status helpers, faults and control routes.

mod common;

use common::*;
use serde_json::{Value, json};
use std::collections::HashSet;
use std::io::ErrorKind;
use std::time::{Duration, Instant};
use yciam_fake::{DEFAULT_AUDIENCE, DEFAULT_METADATA_SA, FakeConfig, FakeServer, Fault, Route};

const META: &str = "/computeMetadata/v1/instance/service-accounts/default/token";

fn clouds_url(f: &FakeServer, q: &str) -> String {
    format!("{}/resource-manager/v1/clouds{q}", f.https_url())
}

#[test]
fn clouds_pagination_250_in_three_pages() {
    let f = FakeServer::start();
    let a = agent(&f.ca_pem());
    let token = iam_token(&a, &f);
    let mut ids = HashSet::new();
    let mut sizes = Vec::new();
    let mut page_token: Option<String> = None;
    loop {
        let q = match &page_token {
            Some(t) => format!("?pageToken={t}"),
            None => String::new(),
        };
        let r = get_bearer(&a, &clouds_url(&f, &q), &token);
        assert_eq!(r.status, 200, "{}", r.text());
        let v = r.json();
        let clouds = v["clouds"].as_array().unwrap();
        sizes.push(clouds.len());
        for c in clouds {
            let id = c["id"].as_str().unwrap();
            assert!(id.starts_with("b1g") && id.len() == 20, "{id}");
            assert!(c["createdAt"].as_str().unwrap().ends_with('Z'));
            assert!(c["name"].is_string() && c["description"].is_string());
            assert!(c["organizationId"].is_string());
            assert_eq!(c["labels"], json!({}));
            assert!(ids.insert(id.to_string()), "duplicate {id}");
        }
        match v.get("nextPageToken") {
            Some(t) => page_token = Some(t.as_str().unwrap().to_string()),
            None => break,
        }
    }
    assert_eq!(sizes, vec![100, 100, 50]);
    assert_eq!(f.count(Route::ListClouds), 3);

    // pageSize bounds.
    let r = get_bearer(&a, &clouds_url(&f, "?pageSize=1000"), &token);
    assert_eq!(r.json()["clouds"].as_array().unwrap().len(), 250);
    assert!(r.json().get("nextPageToken").is_none());
    let r = get_bearer(&a, &clouds_url(&f, "?pageSize=7&pageToken="), &token);
    assert_eq!(r.json()["clouds"].as_array().unwrap().len(), 7);
    for q in [
        "?pageSize=1001",
        "?pageSize=-1",
        "?pageSize=ten",
        "?pageToken=bogus",
    ] {
        get_bearer(&a, &clouds_url(&f, q), &token).assert_status(400, 3);
    }
}

#[test]
fn clouds_require_a_valid_bearer() {
    let f = FakeServer::start_with(FakeConfig {
        clouds: FakeConfig::generated_clouds(3),
        ..FakeConfig::default()
    });
    let a = agent(&f.ca_pem());
    let url = clouds_url(&f, "");
    send(&a, "GET", &url, &[], None)
        .unwrap()
        .assert_status(401, 16);
    for auth in [
        "Bearer",
        "Basic abc",
        "Bearer t1.unknown.token",
        &f.oauth_token(),
    ] {
        send(&a, "GET", &url, &[("authorization", auth)], None)
            .unwrap()
            .assert_status(401, 16);
    }
    // The OAuth token is not an IAM token.
    get_bearer(&a, &url, &f.oauth_token()).assert_status(401, 16);
    let r = get_bearer(&a, &url, &iam_token(&a, &f));
    assert_eq!(r.json()["clouds"].as_array().unwrap().len(), 3);
    // Empty list.
    let f = FakeServer::start_with(FakeConfig {
        clouds: vec![],
        ..FakeConfig::default()
    });
    let a = agent(&f.ca_pem());
    let r = get_bearer(&a, &clouds_url(&f, ""), &iam_token(&a, &f));
    assert_eq!(r.json(), json!({"clouds": []}));
}

#[test]
fn metadata_route() {
    let f = FakeServer::start_with(FakeConfig {
        token_lifetime: Duration::from_secs(7200),
        ..FakeConfig::default()
    });
    assert_eq!(f.http_url(), format!("http://{}", f.metadata_addr()));
    let a = agent(&f.ca_pem());
    let url = format!("{}{META}", f.http_url());
    // Without the header.
    let r = send(&a, "GET", &url, &[], None).unwrap();
    assert_eq!(r.status, 403);
    assert!(r.text().contains("Metadata-Flavor"), "{}", r.text());
    assert!(r.header("x-request-id").is_some());
    let r = send(&a, "GET", &url, &[("Metadata-Flavor", "google")], None).unwrap();
    assert_eq!(r.status, 403);
    // With it.
    let r = send(&a, "GET", &url, &[("Metadata-Flavor", "Google")], None).unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(v["token_type"], "Bearer");
    let token = v["access_token"].as_str().unwrap().to_string();
    assert!(token.starts_with("t1."));
    let left = v["expires_in"].as_i64().unwrap();
    assert!((7190..=7200).contains(&left), "{left}");
    assert_eq!(
        f.token_subject(&token).as_deref(),
        Some(DEFAULT_METADATA_SA)
    );
    // Repeated calls get the same token; it works for the resource manager.
    let r = send(&a, "GET", &url, &[("Metadata-Flavor", "Google")], None).unwrap();
    assert_eq!(r.json()["access_token"].as_str(), Some(token.as_str()));
    assert_eq!(
        get_bearer(&a, &clouds_url(&f, "?pageSize=1"), &token).status,
        200
    );
    // Also served on the HTTPS listener.
    let r = send(
        &a,
        "GET",
        &format!("{}{META}", f.https_url()),
        &[("Metadata-Flavor", "Google")],
        None,
    )
    .unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(f.count(Route::Metadata), 5);
    // No service account attached.
    f.set_metadata_service_account(None);
    let r = send(&a, "GET", &url, &[("Metadata-Flavor", "Google")], None).unwrap();
    assert_eq!(r.status, 404);
    f.set_metadata_service_account(Some("ajeother0000000000000"));
    let r = send(&a, "GET", &url, &[("Metadata-Flavor", "Google")], None).unwrap();
    let t2 = r.json()["access_token"].as_str().unwrap().to_string();
    assert_ne!(t2, token);
    assert_eq!(
        f.token_subject(&t2).as_deref(),
        Some("ajeother0000000000000")
    );
    // Config: none attached from the start.
    let f = FakeServer::start_with(FakeConfig {
        metadata_service_account: None,
        ..FakeConfig::default()
    });
    let r = send(
        &a,
        "GET",
        &format!("{}{META}", f.http_url()),
        &[("Metadata-Flavor", "Google")],
        None,
    )
    .unwrap();
    assert_eq!(r.status, 404);
}

#[test]
fn metadata_token_renews_near_expiry() {
    let f = FakeServer::start_with(FakeConfig {
        token_lifetime: Duration::from_secs(2),
        ..FakeConfig::default()
    });
    let a = agent(&f.ca_pem());
    let url = format!("{}{META}", f.http_url());
    let get = || {
        send(&a, "GET", &url, &[("Metadata-Flavor", "Google")], None)
            .unwrap()
            .json()["access_token"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let t1 = get();
    std::thread::sleep(Duration::from_millis(1100));
    let t2 = get();
    assert_ne!(t1, t2, "renewed once less than half the lifetime was left");
}

#[test]
fn echo_status_and_unknown_routes() {
    let f = FakeServer::start();
    let a = agent(&f.ca_pem());
    let token = iam_token(&a, &f);
    let auth = format!("Bearer {token}");
    let url = format!("{}/test/v1/echo?x=1&y=%20", f.https_url());
    let r = send(
        &a,
        "PUT",
        &url,
        &[("authorization", &auth), ("X-Custom", "v")],
        Some(b"hello \xff"),
    )
    .unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(v["method"], "PUT");
    assert_eq!(v["path"], "/test/v1/echo");
    assert_eq!(v["query"], "x=1&y=%20");
    assert_eq!(v["headers"]["x-custom"], "v");
    assert_eq!(v["headers"]["authorization"], auth.as_str());
    assert_eq!(v["body"], "hello \u{fffd}");
    send(&a, "GET", &url, &[], None)
        .unwrap()
        .assert_status(401, 16);

    let st = |code: &str| {
        send(
            &a,
            "GET",
            &format!("{}/test/v1/status/{code}", f.https_url()),
            &[("authorization", &auth)],
            None,
        )
        .unwrap()
    };
    st("503").assert_status(503, 14);
    st("500").assert_status(500, 13);
    st("403").assert_status(403, 7);
    st("429").assert_status(429, 8);
    st("abc").assert_status(400, 3);
    st("700").assert_status(400, 3);
    send(
        &a,
        "GET",
        &format!("{}/test/v1/status/503", f.https_url()),
        &[],
        None,
    )
    .unwrap()
    .assert_status(401, 16);

    for p in [
        "/",
        "/iam/v1/nothing",
        "/resource-manager/v1/folders",
        "/_fake/nothing",
    ] {
        let r = send(&a, "GET", &format!("{}{p}", f.https_url()), &[], None).unwrap();
        assert_eq!(r.assert_status(404, 5), "Not found", "{p}");
    }
    // Over plain HTTP too.
    let r = send(&a, "GET", &format!("{}/nope", f.http_url()), &[], None).unwrap();
    r.assert_status(404, 5);
    assert_eq!(f.count(Route::Echo), 2);
    // 7 status calls + 3 unknown paths + 1 over HTTP; /_fake/ paths are not counted.
    assert_eq!(f.count(Route::Other), 11);
    assert!(!f.requests().last().unwrap().tls);
    f.reset_counts();
    assert_eq!(f.count(Route::Other), 0);
    assert!(f.requests().is_empty());
}

fn token_request(f: &FakeServer, a: &ureq::Agent) -> Result<Reply, ureq::Error> {
    send(
        a,
        "POST",
        &format!("{}/iam/v1/tokens", f.https_url()),
        &[("content-type", "application/json")],
        Some(
            json!({"yandexPassportOauthToken": f.oauth_token()})
                .to_string()
                .as_bytes(),
        ),
    )
}

fn raw_token_request(f: &FakeServer) -> Vec<u8> {
    let body = json!({"yandexPassportOauthToken": f.oauth_token()}).to_string();
    format!(
        "POST /iam/v1/tokens HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        f.metadata_addr(),
        body.len()
    )
    .into_bytes()
}

#[test]
fn status_and_retry_after_faults() {
    let f = FakeServer::start();
    let a = agent(&f.ca_pem());
    f.push_fault(
        Route::CreateToken,
        Fault::Status {
            http: 503,
            grpc: 14,
            message: "The service is unavailable".into(),
        },
    );
    f.push_fault(Route::CreateToken, Fault::RetryAfter { seconds: 7 });
    assert_eq!(f.pending_faults(Route::CreateToken), 2);
    let r = token_request(&f, &a).unwrap();
    assert_eq!(r.assert_status(503, 14), "The service is unavailable");
    let r = token_request(&f, &a).unwrap();
    r.assert_status(429, 8);
    assert_eq!(r.header("retry-after"), Some("7"));
    // Queue empty: normal again.
    assert_eq!(token_request(&f, &a).unwrap().status, 200);
    assert_eq!(f.count(Route::CreateToken), 3);
    assert_eq!(f.issued_tokens().len(), 1);
    // Faults are per route.
    f.push_fault(Route::ListClouds, Fault::Reset);
    assert_eq!(token_request(&f, &a).unwrap().status, 200);
    f.clear_faults();
    assert_eq!(f.pending_faults(Route::ListClouds), 0);
}

#[test]
fn stall_fault() {
    let f = FakeServer::start();
    f.push_fault(
        Route::CreateToken,
        Fault::Stall(Duration::from_millis(1200)),
    );
    let started = Instant::now();
    let out = raw_exchange(
        &f.metadata_addr(),
        &raw_token_request(&f),
        Duration::from_secs(10),
    )
    .expect("closed cleanly");
    let took = started.elapsed();
    assert!(out.is_empty(), "{}", String::from_utf8_lossy(&out));
    assert!(took >= Duration::from_millis(1150), "{took:?}");
    assert!(took < Duration::from_secs(5), "{took:?}");
    // A client with a short timeout gives up.
    f.push_fault(Route::CreateToken, Fault::Stall(Duration::from_secs(3)));
    let a = agent_with_timeout(&f.ca_pem(), Some(Duration::from_millis(300)));
    let e = token_request(&f, &a).unwrap_err();
    assert!(matches!(e, ureq::Error::Timeout(_)), "{e:?}");
    assert_eq!(f.count(Route::CreateToken), 2);
}

#[test]
fn reset_fault() {
    let f = FakeServer::start();
    f.push_fault(Route::CreateToken, Fault::Reset);
    let e = raw_exchange(
        &f.metadata_addr(),
        &raw_token_request(&f),
        Duration::from_secs(10),
    )
    .expect_err("reset");
    assert_eq!(e.kind(), ErrorKind::ConnectionReset, "{e:?}");
    // Over TLS as well.
    f.push_fault(Route::CreateToken, Fault::Reset);
    let a = agent(&f.ca_pem());
    let e = token_request(&f, &a).unwrap_err();
    assert!(matches!(e, ureq::Error::Io(_)), "{e:?}");
    assert_eq!(token_request(&f, &a).unwrap().status, 200);
}

#[test]
fn body_faults() {
    let f = FakeServer::start();
    let a = agent(&f.ca_pem());

    f.push_fault(Route::CreateToken, Fault::TruncatedJson);
    let r = token_request(&f, &a).unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.body, b"{\"iamToken\":\"t1.abc");
    assert_eq!(r.header("content-length"), Some("19"));
    assert!(serde_json::from_slice::<Value>(&r.body).is_err());

    f.push_fault(Route::CreateToken, Fault::Html { status: 502 });
    let r = token_request(&f, &a).unwrap();
    assert_eq!(r.status, 502);
    assert!(r.header("content-type").unwrap().starts_with("text/html"));
    assert!(r.text().contains("502 Bad Gateway") && r.text().contains("nginx"));
    f.push_fault(Route::Metadata, Fault::Html { status: 504 });
    let r = send(&a, "GET", &format!("{}{META}", f.http_url()), &[], None).unwrap();
    assert_eq!(r.status, 504);
    assert!(r.text().contains("504 Gateway Timeout"));

    f.push_fault(Route::CreateToken, Fault::Garbage);
    let r = token_request(&f, &a).unwrap();
    assert_eq!(r.status, 200);
    assert!(!r.body.is_empty());
    assert!(serde_json::from_slice::<Value>(&r.body).is_err());
    assert!(std::str::from_utf8(&r.body).is_err());

    const SIZE: usize = 20 * 1024 * 1024;
    f.push_fault(Route::CreateToken, Fault::Huge { bytes: SIZE });
    let mut resp = a
        .post(format!("{}/iam/v1/tokens", f.https_url()))
        .send("{}")
        .unwrap();
    assert_eq!(resp.status(), 200);
    let len = resp
        .headers()
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    assert_eq!(len, Some(SIZE.to_string()));
    let mut reader = resp.body_mut().as_reader();
    let mut first = [0u8; 12];
    std::io::Read::read_exact(&mut reader, &mut first).unwrap();
    assert_eq!(&first, b"{\"padding\":\"");
    let rest = std::io::copy(&mut reader, &mut std::io::sink()).unwrap();
    assert_eq!(rest as usize + 12, SIZE);
    assert_eq!(f.count(Route::CreateToken), 4);
    assert_eq!(token_request(&f, &a).unwrap().status, 200);
}

#[test]
fn bad_input_never_breaks_the_server() {
    let f = FakeServer::start();
    let a = agent(&f.ca_pem());
    let paths = [
        "/iam/v1/tokens",
        "/iam/v1/tokens:revoke",
        "/resource-manager/v1/clouds?pageSize=%ff%&pageToken=%",
        "/test/v1/echo",
        "/_fake/faults",
        "/_fake/oauth_token",
        "/_fake/metadata_sa",
        "/_fake/sa_key?bits=1024",
    ];
    let bodies: [&[u8]; 6] = [
        b"",
        b"\x00\xff\xfe",
        b"{\"jwt\": \"\xff\"}",
        b"{\"jwt\": {\"a\": 1}}",
        b"[[[[[[[[[[",
        b"{\"route\":\"nope\"}",
    ];
    for p in paths {
        for b in bodies {
            let r = send(&a, "POST", &format!("{}{p}", f.https_url()), &[], Some(b)).unwrap();
            assert!(
                matches!(r.status, 200 | 400 | 401 | 404 | 405),
                "{p}: {}",
                r.status
            );
        }
    }
    // Raw garbage on the wire.
    let _ = raw_exchange(
        &f.metadata_addr(),
        b"\x16\x03\x01garbage\r\n\r\n",
        Duration::from_secs(5),
    );
    let _ = raw_exchange(
        &f.metadata_addr(),
        b"GET / HTTP/1.1\r\nHost",
        Duration::from_millis(200),
    );
    assert_eq!(token_request(&f, &a).unwrap().status, 200);
}

#[test]
fn control_routes() {
    let f = FakeServer::start();
    let a = agent(&f.ca_pem());
    let base = f.https_url();
    let r = post_json(
        &a,
        &format!("{base}/_fake/faults"),
        &json!({"route": "create_token", "fault": {"kind": "status", "http": 503, "grpc": 14, "message": "busy"}}),
    );
    assert_eq!(r.json(), json!({"queued": 1}));
    let r = post_json(
        &a,
        &format!("{base}/_fake/faults"),
        &json!([
            {"route": "create_token", "fault": {"kind": "retry_after", "seconds": 2}},
            {"route": "list_clouds", "fault": {"kind": "stall", "ms": 10}},
            {"route": "metadata", "fault": {"kind": "reset"}},
            {"route": "echo", "fault": {"kind": "truncated_json"}},
            {"route": "revoke", "fault": {"kind": "huge", "bytes": 100}},
            {"route": "other", "fault": {"kind": "html", "status": 504}},
            {"route": "other", "fault": {"kind": "garbage"}},
        ]),
    );
    assert_eq!(r.json(), json!({"queued": 7}));
    assert_eq!(f.pending_faults(Route::Other), 2);
    // Bad fault specs are refused whole.
    for bad in [
        json!({"route": "nowhere", "fault": {"kind": "reset"}}),
        json!({"route": "echo", "fault": {"kind": "explode"}}),
        json!([{"route": "echo", "fault": {"kind": "reset"}}, {"route": "echo"}]),
        json!({"route": "echo", "fault": {"kind": "status", "http": 503}}),
    ] {
        post_json(&a, &format!("{base}/_fake/faults"), &bad).assert_status(400, 3);
    }
    assert_eq!(f.pending_faults(Route::Echo), 1);

    token_request(&f, &a).unwrap().assert_status(503, 14);
    let stats = send(&a, "GET", &format!("{base}/_fake/stats"), &[], None)
        .unwrap()
        .json();
    assert_eq!(stats["counts"]["create_token"], 1);
    assert_eq!(stats["counts"]["list_clouds"], 0);
    assert_eq!(stats["issued_tokens"], json!([]));
    assert_eq!(stats["pending_faults"]["create_token"], 1);

    let r = send(&a, "POST", &format!("{base}/_fake/reset"), &[], None).unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(f.count(Route::CreateToken), 0);
    assert_eq!(f.pending_faults(Route::Other), 0);
    let token = iam_token(&a, &f);
    let stats = send(&a, "GET", &format!("{base}/_fake/stats"), &[], None)
        .unwrap()
        .json();
    assert_eq!(stats["issued_tokens"], json!([token]));
    let reqs = send(&a, "GET", &format!("{base}/_fake/requests"), &[], None)
        .unwrap()
        .json();
    assert_eq!(reqs[0]["route"], "create_token");
    assert_eq!(reqs[0]["method"], "POST");

    // New OAuth token.
    assert_eq!(
        send(
            &a,
            "POST",
            &format!("{base}/_fake/oauth_token"),
            &[],
            Some(b"y0_ctl\n")
        )
        .unwrap()
        .status,
        200
    );
    let r = post_json(
        &a,
        &format!("{base}/iam/v1/tokens"),
        &json!({"yandexPassportOauthToken": "y0_ctl"}),
    );
    assert_eq!(r.status, 200);

    // New SA key, as yc writes it; its JWT is accepted.
    let r = send(
        &a,
        "POST",
        &format!("{base}/_fake/sa_key?bits=2048"),
        &[],
        None,
    )
    .unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(v["key_algorithm"], "RSA_2048");
    let private = v["private_key"].as_str().unwrap();
    assert!(private.starts_with("PLEASE DO NOT REMOVE THIS LINE!"));
    let key = yciam_fake::SaKey {
        key_id: v["id"].as_str().unwrap().into(),
        service_account_id: v["service_account_id"].as_str().unwrap().into(),
        private_key_pem: private[private.find("-----BEGIN").unwrap()..].into(),
        public_key_pem: v["public_key"].as_str().unwrap().into(),
        bits: 2048,
        created_at: v["created_at"].as_str().unwrap().into(),
    };
    let r = post_json(
        &a,
        &format!("{base}/iam/v1/tokens"),
        &json!({"jwt": key.jwt(DEFAULT_AUDIENCE)}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let r = send(
        &a,
        "POST",
        &format!("{base}/_fake/sa_key?header_line=false"),
        &[],
        None,
    )
    .unwrap();
    assert!(
        r.json()["private_key"]
            .as_str()
            .unwrap()
            .starts_with("-----BEGIN PRIVATE KEY-----")
    );

    // Metadata service account on/off.
    let meta = format!("{}{META}", f.http_url());
    let flavor = [("Metadata-Flavor", "Google")];
    post_json(
        &a,
        &format!("{base}/_fake/metadata_sa"),
        &json!({"service_account_id": null}),
    );
    assert_eq!(send(&a, "GET", &meta, &flavor, None).unwrap().status, 404);
    post_json(
        &a,
        &format!("{base}/_fake/metadata_sa"),
        &json!({"service_account_id": "ajex"}),
    );
    assert_eq!(send(&a, "GET", &meta, &flavor, None).unwrap().status, 200);

    // Revoke all.
    send(&a, "POST", &format!("{base}/_fake/revoke_all"), &[], None).unwrap();
    assert!(!f.is_token_valid(&token));
    // Wrong methods.
    send(&a, "GET", &format!("{base}/_fake/reset"), &[], None)
        .unwrap()
        .assert_status(405, 12);
    // Control routes are neither counted nor recorded.
    assert!(f.requests().iter().all(|r| !r.path.starts_with("/_fake")));
}

#[test]
fn drop_closes_the_listeners() {
    let f = FakeServer::start();
    let addr = f.metadata_addr();
    let https = f.https_url().trim_start_matches("https://").to_string();
    assert!(std::net::TcpStream::connect(&addr).is_ok());
    drop(f);
    assert!(std::net::TcpStream::connect(&addr).is_err());
    assert!(std::net::TcpStream::connect(&https).is_err());
}

#[test]
fn start_inside_a_tokio_runtime() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let f = FakeServer::start();
        assert!(f.https_url().starts_with("https://"));
        drop(f);
    });
}
