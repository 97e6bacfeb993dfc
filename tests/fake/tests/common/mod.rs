//! Helpers shared by the integration tests: a ureq client trusting a given CA, small
//! request wrappers, and raw TCP for checks ureq cannot express (resets, stalls).
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use serde_json::Value;
use ureq::tls::{Certificate, RootCerts, TlsConfig};

/// A ureq agent trusting only `ca_pem`, not treating 4xx/5xx as errors, no proxy.
pub fn agent(ca_pem: &str) -> ureq::Agent {
    agent_with_timeout(ca_pem, Some(Duration::from_secs(20)))
}

pub fn agent_with_timeout(ca_pem: &str, timeout: Option<Duration>) -> ureq::Agent {
    let cert = Certificate::from_pem(ca_pem.as_bytes()).expect("CA PEM");
    ureq::Agent::config_builder()
        .tls_config(
            TlsConfig::builder()
                .root_certs(RootCerts::new_with_certs(&[cert]))
                .build(),
        )
        .http_status_as_error(false)
        .proxy(None)
        .timeout_global(timeout)
        .build()
        .new_agent()
}

/// A response reduced to what the tests look at.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", String::from_utf8_lossy(&self.body)))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Asserts a google.rpc.Status body with the given HTTP status and gRPC code, whose
    /// requestId matches the x-request-id header; returns the message.
    pub fn assert_status(&self, http: u16, grpc: i64) -> String {
        assert_eq!(self.status, http, "body: {}", self.text());
        let v = self.json();
        assert_eq!(v["code"].as_i64(), Some(grpc), "body: {v}");
        let rid = self.header("x-request-id").expect("x-request-id header");
        assert_eq!(
            v["details"][0]["@type"],
            "type.googleapis.com/google.rpc.RequestInfo"
        );
        assert_eq!(v["details"][0]["requestId"].as_str(), Some(rid));
        v["message"].as_str().expect("message").to_string()
    }
}

fn reply(mut r: ureq::http::Response<ureq::Body>) -> Reply {
    let headers = r
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let body = r
        .body_mut()
        .with_config()
        .limit(64 * 1024 * 1024)
        .read_to_vec()
        .expect("read body");
    Reply {
        status: r.status().as_u16(),
        headers,
        body,
    }
}

/// Sends any request; `headers` are extra headers.
pub fn send(
    agent: &ureq::Agent,
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> Result<Reply, ureq::Error> {
    let mut b = ureq::http::Request::builder().method(method).uri(url);
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    let req = b.body(body.unwrap_or_default().to_vec()).expect("request");
    agent.run(req).map(reply)
}

pub fn post_json(agent: &ureq::Agent, url: &str, body: &Value) -> Reply {
    send(
        agent,
        "POST",
        url,
        &[("content-type", "application/json")],
        Some(body.to_string().as_bytes()),
    )
    .expect("request")
}

pub fn get_bearer(agent: &ureq::Agent, url: &str, token: &str) -> Reply {
    let auth = format!("Bearer {token}");
    send(agent, "GET", url, &[("authorization", &auth)], None).expect("request")
}

/// Exchanges the fake's OAuth token for an IAM token.
pub fn iam_token(agent: &ureq::Agent, fake: &yciam_fake::FakeServer) -> String {
    let r = post_json(
        agent,
        &format!("{}/iam/v1/tokens", fake.https_url()),
        &serde_json::json!({"yandexPassportOauthToken": fake.oauth_token()}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()["iamToken"].as_str().unwrap().to_string()
}

/// Sends `request` over plain TCP to `addr` and reads until EOF or error.
pub fn raw_exchange(addr: &str, request: &[u8], timeout: Duration) -> std::io::Result<Vec<u8>> {
    let mut s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(timeout))?;
    s.write_all(request)?;
    let mut out = Vec::new();
    s.read_to_end(&mut out)?;
    Ok(out)
}
