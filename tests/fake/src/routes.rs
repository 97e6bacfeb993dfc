//! Request handling: fault injection, the IAM / Resource Manager / metadata routes,
//! the test helper routes and the `/_fake/` control routes.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderMap, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use serde_json::{Value, json};

use crate::faults::{self, Fault, HugeBody, Route};
use crate::keys::{self, JwtError, JwtRules, KeyEntry, SaKey};
use crate::server::ConnCtl;
use crate::state::{RecordedRequest, Shared};
use crate::util;

/// Path of the metadata token route.
pub(crate) const METADATA_TOKEN_PATH: &str =
    "/computeMetadata/v1/instance/service-accounts/default/token";

/// Largest request body the fake reads.
const MAX_REQUEST_BODY: usize = 16 * 1024 * 1024;

/// Default and maximum `pageSize` of list calls.
const DEFAULT_PAGE_SIZE: usize = 100;
const MAX_PAGE_SIZE: usize = 1000;

/// The identity validation message of `POST /iam/v1/tokens`.
pub(crate) const IDENTITY_MESSAGE: &str =
    "Validation failed:\n  - identity: One of the options must be selected";

pub(crate) type RespBody = BoxBody<Bytes, Infallible>;
type Resp = Response<RespBody>;

fn full(body: impl Into<Bytes>) -> RespBody {
    Full::new(body.into()).boxed()
}

fn with_type(status: u16, content_type: &'static str, body: impl Into<Bytes>) -> Resp {
    let body: Bytes = body.into();
    let mut r = Response::new(full(body.clone()));
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    r.headers_mut().insert(CONTENT_LENGTH, body.len().into());
    r
}

fn json_resp(status: u16, v: &Value) -> Resp {
    with_type(status, "application/json", v.to_string())
}

#[derive(serde::Serialize)]
struct RequestInfo<'a> {
    #[serde(rename = "@type")]
    type_url: &'static str,
    #[serde(rename = "requestId")]
    request_id: &'a str,
}

/// google.rpc.Status, fields in the order Yandex Cloud sends them.
#[derive(serde::Serialize)]
struct StatusBody<'a> {
    code: i32,
    message: &'a str,
    details: [RequestInfo<'a>; 1],
}

/// A google.rpc.Status error body carrying the request id.
fn status_resp(http: u16, grpc: i32, message: &str, rid: &str) -> Resp {
    let body = StatusBody {
        code: grpc,
        message,
        details: [RequestInfo {
            type_url: "type.googleapis.com/google.rpc.RequestInfo",
            request_id: rid,
        }],
    };
    with_type(
        http,
        "application/json",
        serde_json::to_string(&body).unwrap_or_default(),
    )
}

/// The gRPC code Yandex Cloud pairs with an HTTP status.
fn grpc_for_http(http: u16) -> i32 {
    match http {
        200..=299 => 0,
        400 => 3,
        401 => 16,
        403 => 7,
        404 => 5,
        409 => 6,
        412 => 9,
        429 => 8,
        499 => 1,
        501 => 12,
        503 => 14,
        504 => 4,
        500..=599 => 13,
        _ => 2,
    }
}

/// Per-request context handed to the route handlers.
struct Ctx<'a> {
    shared: &'a Arc<Shared>,
    rid: &'a str,
    method: &'a Method,
    path: &'a str,
    query: &'a str,
    headers: &'a HeaderMap,
    body: &'a [u8],
}

impl Ctx<'_> {
    fn status(&self, http: u16, grpc: i32, message: &str) -> Resp {
        status_resp(http, grpc, message, self.rid)
    }

    fn bad_request(&self, message: &str) -> Resp {
        self.status(400, 3, message)
    }

    fn unauthenticated(&self, message: &str) -> Resp {
        self.status(401, 16, message)
    }

    fn method_not_allowed(&self) -> Resp {
        self.status(405, 12, "Method Not Allowed")
    }

    fn query_param(&self, name: &str) -> Option<String> {
        util::parse_query(self.query)
            .into_iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }

    fn body_json(&self) -> Option<serde_json::Map<String, Value>> {
        match serde_json::from_slice::<Value>(self.body) {
            Ok(Value::Object(m)) => Some(m),
            _ => None,
        }
    }

    /// Checks `Authorization: Bearer <IAM token>`; `Some(401 response)` when it is not valid.
    fn refuse_unauthorized(&self) -> Option<Resp> {
        let header = self
            .headers
            .get(hyper::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let token = match header.split_once(' ') {
            Some((scheme, t)) if scheme.eq_ignore_ascii_case("bearer") && !t.trim().is_empty() => {
                t.trim()
            }
            _ => return Some(self.unauthenticated("The token is invalid")),
        };
        let valid = self.shared.lock().valid_token(token).is_ok();
        (!valid).then(|| self.unauthenticated("Token is invalid or has expired."))
    }
}

/// Entry point for every request on both listeners.
pub(crate) async fn handle(
    shared: Arc<Shared>,
    ctl: Arc<ConnCtl>,
    req: Request<Incoming>,
) -> Result<Resp, Infallible> {
    let rid = util::request_id();
    let (parts, body) = req.into_parts();
    let path_and_query = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "/".to_string());
    let path = parts.uri.path().to_string();
    let query = parts.uri.query().unwrap_or("").to_string();

    let body = match Limited::new(body, MAX_REQUEST_BODY).collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => {
            let mut r = status_resp(400, 3, "Request body is too large or unreadable", &rid);
            add_request_id(&mut r, &rid);
            return Ok(r);
        }
    };

    let route = Route::for_path(&path);
    let fault = route.and_then(|route| {
        let headers = parts
            .headers
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        shared.lock().record(RecordedRequest {
            method: parts.method.to_string(),
            path: path_and_query.clone(),
            headers,
            body: body.to_vec(),
            route,
            tls: ctl.tls,
        })
    });

    let ctx = Ctx {
        shared: &shared,
        rid: &rid,
        method: &parts.method,
        path: &path,
        query: &query,
        headers: &parts.headers,
        body: &body,
    };
    let mut resp = match (route, fault) {
        (_, Some(fault)) => apply_fault(&ctx, &ctl, fault).await,
        (Some(route), None) => dispatch(&ctx, route),
        (None, None) => control(&ctx).await,
    };
    add_request_id(&mut resp, &rid);
    Ok(resp)
}

fn add_request_id(resp: &mut Resp, rid: &str) {
    if let Ok(v) = HeaderValue::from_str(rid) {
        resp.headers_mut().insert("x-request-id", v);
    }
}

async fn apply_fault(ctx: &Ctx<'_>, ctl: &ConnCtl, fault: Fault) -> Resp {
    match fault {
        Fault::Status {
            http,
            grpc,
            message,
        } => ctx.status(http, grpc, &message),
        Fault::RetryAfter { seconds } => {
            let mut r = ctx.status(429, 8, "Too many requests, please retry later");
            r.headers_mut().insert("retry-after", seconds.into());
            r
        }
        Fault::Stall(d) => {
            tokio::time::sleep(d).await;
            ctl.close();
            std::future::pending().await
        }
        Fault::Reset => {
            ctl.reset();
            std::future::pending().await
        }
        Fault::TruncatedJson => with_type(200, "application/json", faults::TRUNCATED_JSON),
        Fault::Huge { bytes } => {
            let mut r = Response::new(HugeBody::new(bytes).boxed());
            r.headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            r.headers_mut().insert(CONTENT_LENGTH, bytes.into());
            r
        }
        Fault::Html { status } => {
            let mut r = with_type(status, "text/html", faults::html_page(status));
            r.headers_mut()
                .insert("server", HeaderValue::from_static("nginx"));
            r
        }
        Fault::Garbage => with_type(200, "application/json", faults::garbage()),
    }
}

fn dispatch(ctx: &Ctx<'_>, route: Route) -> Resp {
    match route {
        Route::CreateToken if ctx.method == Method::POST => create_token(ctx),
        Route::Revoke if ctx.method == Method::POST => revoke(ctx),
        Route::ListClouds if ctx.method == Method::GET => list_clouds(ctx),
        Route::Metadata if ctx.method == Method::GET => metadata(ctx),
        Route::Metadata => with_type(405, "text/plain; charset=utf-8", "Method not allowed\n"),
        Route::Echo => echo(ctx),
        Route::Other => match ctx.path.strip_prefix("/test/v1/status/") {
            Some(code) if ctx.method == Method::GET => test_status(ctx, code),
            Some(_) => ctx.method_not_allowed(),
            None => ctx.status(404, 5, "Not found"),
        },
        _ => ctx.method_not_allowed(),
    }
}

/// `POST /iam/v1/tokens`.
fn create_token(ctx: &Ctx<'_>) -> Resp {
    let Some(obj) = ctx.body_json() else {
        return ctx.bad_request(IDENTITY_MESSAGE);
    };
    let field = |name: &str| obj.get(name).filter(|v| !v.is_null());
    let (subject, source) = match (field("yandexPassportOauthToken"), field("jwt")) {
        (Some(Value::String(oauth)), None) => {
            let user = ctx.shared.lock().oauth.get(oauth).cloned();
            match user {
                Some(user) => (user, "oauth"),
                None => return ctx.unauthenticated("OAuth token is invalid or expired"),
            }
        }
        (None, Some(Value::String(jwt))) => {
            let rules = JwtRules {
                audience: &ctx.shared.audience,
                now: time::OffsetDateTime::now_utc().unix_timestamp(),
                max_lifetime: 3600,
                max_iat_skew: ctx.shared.max_iat_skew.as_secs() as i64,
            };
            let lookup = |kid: &str| {
                ctx.shared.lock().keys.get(kid).map(|k| KeyEntry {
                    service_account_id: k.service_account_id.clone(),
                    public_pkcs1_der: k.public_pkcs1_der.clone(),
                })
            };
            match keys::verify_jwt(jwt, lookup, &rules) {
                Ok(sa) => (sa, "jwt"),
                Err(JwtError::MissingKid) => {
                    return ctx.unauthenticated(
                        "The required field 'kid' is missing from the JWT header",
                    );
                }
                Err(JwtError::Invalid(reason)) => {
                    return ctx.unauthenticated(&format!("The token is invalid: {reason}"));
                }
            }
        }
        _ => return ctx.bad_request(IDENTITY_MESSAGE),
    };
    let token = ctx.shared.lock().issue(&subject, source);
    #[derive(serde::Serialize)]
    #[serde(rename_all = "camelCase")]
    struct CreateTokenResponse {
        iam_token: String,
        expires_at: String,
    }
    let body = CreateTokenResponse {
        iam_token: token.token,
        expires_at: util::rfc3339_nanos(token.expires_at),
    };
    with_type(
        200,
        "application/json",
        serde_json::to_string(&body).unwrap_or_default(),
    )
}

/// `POST /iam/v1/tokens:revoke`.
fn revoke(ctx: &Ctx<'_>) -> Resp {
    let token = ctx
        .body_json()
        .and_then(|o| {
            o.get("iamToken")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .filter(|t| !t.is_empty());
    let Some(token) = token else {
        return ctx.bad_request("Validation failed:\n  - iam_token: Field is required");
    };
    let revoked = ctx.shared.lock().revoke(&token);
    match revoked {
        Ok(subject) => json_resp(200, &json!({ "subjectId": subject })),
        Err(_) => ctx.unauthenticated("The token is invalid"),
    }
}

fn encode_page_token(offset: usize) -> String {
    URL_SAFE_NO_PAD.encode(format!("fake-page:{offset}"))
}

fn decode_page_token(token: &str, len: usize) -> Option<usize> {
    let raw = URL_SAFE_NO_PAD.decode(token).ok()?;
    let text = String::from_utf8(raw).ok()?;
    let offset: usize = text.strip_prefix("fake-page:")?.parse().ok()?;
    (offset <= len).then_some(offset)
}

/// `GET /resource-manager/v1/clouds?pageSize=&pageToken=`.
fn list_clouds(ctx: &Ctx<'_>) -> Resp {
    if let Some(r) = ctx.refuse_unauthorized() {
        return r;
    }
    let clouds = &ctx.shared.clouds;
    let page_size = match ctx.query_param("pageSize").as_deref() {
        None | Some("") => DEFAULT_PAGE_SIZE,
        Some(s) => match s.parse::<i64>() {
            Ok(0) => DEFAULT_PAGE_SIZE,
            Ok(n) if n > 0 && n as usize <= MAX_PAGE_SIZE => n as usize,
            _ => {
                return ctx.bad_request(&format!(
                    "Validation failed:\n  - page_size: Value must be between 0 and {MAX_PAGE_SIZE}"
                ));
            }
        },
    };
    let offset = match ctx.query_param("pageToken").as_deref() {
        None | Some("") => 0,
        Some(t) => match decode_page_token(t, clouds.len()) {
            Some(o) => o,
            None => return ctx.bad_request("Invalid page token"),
        },
    };
    let end = (offset + page_size).min(clouds.len());
    #[derive(serde::Serialize)]
    #[serde(rename_all = "camelCase")]
    struct ListCloudsResponse<'a> {
        clouds: &'a [crate::Cloud],
        #[serde(skip_serializing_if = "Option::is_none")]
        next_page_token: Option<String>,
    }
    let body = ListCloudsResponse {
        clouds: &clouds[offset..end],
        next_page_token: (end < clouds.len()).then(|| encode_page_token(end)),
    };
    with_type(
        200,
        "application/json",
        serde_json::to_string(&body).unwrap_or_default(),
    )
}

/// `GET /computeMetadata/v1/instance/service-accounts/default/token`.
fn metadata(ctx: &Ctx<'_>) -> Resp {
    let flavor = ctx
        .headers
        .get("metadata-flavor")
        .and_then(|v| v.to_str().ok());
    if flavor != Some("Google") {
        return with_type(
            403,
            "text/plain; charset=utf-8",
            "Missing Metadata-Flavor:Google header.\n",
        );
    }
    let mut inner = ctx.shared.lock();
    let Some(sa) = inner.metadata_sa.clone() else {
        return with_type(
            404,
            "text/plain; charset=utf-8",
            "Not Found: no service account is attached to this instance\n",
        );
    };
    let t = inner.metadata_token(&sa);
    let left = (t.expires_at - time::OffsetDateTime::now_utc())
        .whole_seconds()
        .max(0);
    json_resp(
        200,
        &json!({"access_token": t.token, "expires_in": left, "token_type": "Bearer"}),
    )
}

/// `ANY /test/v1/echo`: reflects the request back (after bearer authorization).
fn echo(ctx: &Ctx<'_>) -> Resp {
    if let Some(r) = ctx.refuse_unauthorized() {
        return r;
    }
    let mut headers: BTreeMap<String, String> = BTreeMap::new();
    for (k, v) in ctx.headers {
        let v = String::from_utf8_lossy(v.as_bytes()).into_owned();
        headers
            .entry(k.as_str().to_string())
            .and_modify(|old| {
                old.push_str(", ");
                old.push_str(&v);
            })
            .or_insert(v);
    }
    json_resp(
        200,
        &json!({
            "method": ctx.method.as_str(),
            "path": ctx.path,
            "query": ctx.query,
            "headers": headers,
            "body": String::from_utf8_lossy(ctx.body),
        }),
    )
}

/// `GET /test/v1/status/<code>`: a Status body with that HTTP status (after authorization).
fn test_status(ctx: &Ctx<'_>, code: &str) -> Resp {
    if let Some(r) = ctx.refuse_unauthorized() {
        return r;
    }
    match code.parse::<u16>() {
        Ok(http) if (200..=599).contains(&http) => ctx.status(
            http,
            grpc_for_http(http),
            &format!("Requested status {http}"),
        ),
        _ => ctx.bad_request("Validation failed:\n  - status: must be an HTTP status 200-599"),
    }
}

/// The `/_fake/` control routes (no auth, not counted, never faulted).
async fn control(ctx: &Ctx<'_>) -> Resp {
    let ok = || json_resp(200, &json!({}));
    match (ctx.method, ctx.path) {
        (&Method::POST, "/_fake/faults") => control_faults(ctx),
        (&Method::GET, "/_fake/stats") => {
            let inner = ctx.shared.lock();
            let counts: BTreeMap<&str, usize> = Route::ALL
                .iter()
                .map(|r| (r.name(), inner.counts.get(r).copied().unwrap_or(0)))
                .collect();
            let pending: BTreeMap<&str, usize> = Route::ALL
                .iter()
                .map(|r| (r.name(), inner.faults.get(r).map_or(0, |q| q.len())))
                .collect();
            let issued: Vec<&str> = inner.issued.iter().map(|t| t.token.as_str()).collect();
            json_resp(
                200,
                &json!({
                    "counts": counts,
                    "issued_tokens": issued,
                    "pending_faults": pending,
                    "requests": inner.requests.len(),
                }),
            )
        }
        (&Method::GET, "/_fake/requests") => {
            let inner = ctx.shared.lock();
            let list: Vec<Value> = inner
                .requests
                .iter()
                .map(|r| {
                    json!({
                        "method": r.method,
                        "path": r.path,
                        "headers": r.headers,
                        "body": String::from_utf8_lossy(&r.body),
                        "route": r.route.name(),
                        "tls": r.tls,
                    })
                })
                .collect();
            json_resp(200, &Value::Array(list))
        }
        (&Method::POST, "/_fake/reset") => {
            let mut inner = ctx.shared.lock();
            inner.counts.clear();
            inner.faults.clear();
            inner.requests.clear();
            ok()
        }
        (&Method::POST, "/_fake/sa_key") => control_sa_key(ctx).await,
        (&Method::POST, "/_fake/oauth_token") => {
            let token = String::from_utf8_lossy(ctx.body).trim().to_string();
            if token.is_empty() {
                return ctx.bad_request("body must be the OAuth token to accept");
            }
            ctx.shared
                .lock()
                .oauth
                .insert(token, util::random_id("aje"));
            ok()
        }
        (&Method::POST, "/_fake/metadata_sa") => {
            let Some(obj) = ctx.body_json() else {
                return ctx.bad_request("body must be {\"service_account_id\": \"...\" | null}");
            };
            let sa = match obj.get("service_account_id") {
                Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
                Some(Value::Null) | None => None,
                _ => return ctx.bad_request("service_account_id must be a string or null"),
            };
            let mut inner = ctx.shared.lock();
            inner.metadata_sa = sa;
            inner.metadata_token = None;
            ok()
        }
        (&Method::POST, "/_fake/revoke_all") => {
            let mut inner = ctx.shared.lock();
            for t in &mut inner.issued {
                t.revoked = true;
            }
            ok()
        }
        (_, "/_fake/faults" | "/_fake/stats" | "/_fake/requests" | "/_fake/reset")
        | (_, "/_fake/sa_key" | "/_fake/oauth_token" | "/_fake/metadata_sa")
        | (_, "/_fake/revoke_all") => ctx.method_not_allowed(),
        _ => ctx.status(404, 5, "Not found"),
    }
}

fn control_faults(ctx: &Ctx<'_>) -> Resp {
    let parsed: Value = match serde_json::from_slice(ctx.body) {
        Ok(v) => v,
        Err(e) => return ctx.bad_request(&format!("body is not JSON: {e}")),
    };
    let items = match parsed {
        Value::Array(items) => items,
        single => vec![single],
    };
    let mut queued = Vec::new();
    for item in &items {
        let route = item
            .get("route")
            .and_then(Value::as_str)
            .and_then(Route::from_name);
        let Some(route) = route else {
            return ctx.bad_request(
                "each entry needs \"route\": one of create_token, revoke, list_clouds, metadata, echo, other",
            );
        };
        match item.get("fault").map(Fault::from_json) {
            Some(Ok(f)) => queued.push((route, f)),
            Some(Err(e)) => return ctx.bad_request(&e),
            None => return ctx.bad_request("each entry needs a \"fault\" object"),
        }
    }
    let n = queued.len();
    let mut inner = ctx.shared.lock();
    for (route, fault) in queued {
        inner.faults.entry(route).or_default().push_back(fault);
    }
    json_resp(200, &json!({ "queued": n }))
}

async fn control_sa_key(ctx: &Ctx<'_>) -> Resp {
    let bits = match ctx.query_param("bits").as_deref() {
        None | Some("") | Some("2048") => 2048,
        Some("4096") => 4096,
        Some(_) => return ctx.bad_request("bits must be 2048 or 4096"),
    };
    let header_line = !matches!(
        ctx.query_param("header_line").as_deref(),
        Some("false" | "0" | "no")
    );
    let key = match tokio::task::spawn_blocking(move || SaKey::generate(bits)).await {
        Ok(k) => k,
        Err(_) => return ctx.status(500, 13, "key generation failed"),
    };
    if let Err(e) = register_key(ctx.shared, &key) {
        return ctx.status(500, 13, &e);
    }
    with_type(200, "application/json", key.to_yc_json(header_line))
}

/// Registers `key`'s public half so JWTs it signs are accepted.
pub(crate) fn register_key(shared: &Shared, key: &SaKey) -> Result<(), String> {
    let der = key.public_pkcs1_der()?;
    shared.lock().keys.insert(
        key.key_id.clone(),
        KeyEntry {
            service_account_id: key.service_account_id.clone(),
            public_pkcs1_der: der,
        },
    );
    Ok(())
}
