//! HTTP on ureq 3: trust roots, proxies, one deadline per operation, retries with backoff and
//! jitter, capped bodies, the plain-HTTP guard, and turning every failure into an [`Error`].

use std::fmt::Write as _;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;
use ureq::http::{self, Uri};
use ureq::tls::{Certificate, PemItem, RootCerts, TlsConfig};

use crate::error::{ApiError, Error, Result};
use crate::secret::Secret;

/// Where `-v` output goes: one line per event, never a secret.
pub type Logger = Arc<dyn Fn(&str) + Send + Sync>;

/// The most attempts one request gets (the official SDKs use 4).
const MAX_ATTEMPTS: u32 = 4;
const BACKOFF_START: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(20);
/// API answers (tokens, errors, pages) are small; anything bigger is refused.
pub(crate) const API_BODY_LIMIT: u64 = 1024 * 1024;
/// How much of a non-JSON error body goes into a message.
const EXCERPT_CHARS: usize = 200;

/// When a failed attempt may be repeated.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Retry {
    /// Safe to repeat (token exchange, GET, revoke): 429, 500, 502, 503, 504 (a proxy's
    /// gateway errors are as passing as the service's) and broken connections.
    Idempotent,
    /// Not safe to repeat (POST/PATCH from `yciam curl`): only 429 and refused connections,
    /// where the server certainly did not act on the request.
    NotIdempotent,
}

/// One request. Secrets go in `bearer` or a body marked `secret_body`; both make a plain
/// `http://` URL to anything but loopback an error before any connection is made.
pub(crate) struct Request<'a> {
    pub method: &'a str,
    pub url: &'a str,
    pub headers: &'a [(String, String)],
    pub bearer: Option<&'a Secret>,
    pub body: Option<&'a [u8]>,
    pub secret_body: bool,
    pub retry: Retry,
    /// Never through a proxy (the VM metadata service).
    pub direct: bool,
}

/// A response whose status is final (retries are over). The body is not read yet.
pub(crate) struct Response {
    pub status: u16,
    pub reason: String,
    pub version: http::Version,
    pub headers: Vec<(String, String)>,
    pub body: ureq::Body,
    pub what: String,
    pub attempts: u32,
}

impl Response {
    pub fn request_id(&self) -> Option<String> {
        header(&self.headers, "x-request-id").map(str::to_string)
    }
}

fn header<'h>(headers: &'h [(String, String)], name: &str) -> Option<&'h str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// The end of the time allowed for one whole operation, retries included.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Deadline {
    start: Instant,
    limit: Duration,
}

impl Deadline {
    pub fn after(limit: Duration) -> Self {
        Deadline {
            start: Instant::now(),
            limit,
        }
    }

    pub fn remaining(&self) -> Duration {
        self.limit.saturating_sub(self.start.elapsed())
    }

    pub fn timeout(&self, what: &str) -> Error {
        Error::Timeout {
            what: what.to_string(),
            after: self.limit,
        }
    }
}

/// The HTTP client: one ureq agent (built on first use, so cached calls never pay for
/// loading trust roots) shared by every thread.
pub(crate) struct Http {
    ca_file: Option<PathBuf>,
    log: Option<Logger>,
    agent: OnceLock<ureq::Agent>,
    direct_agent: OnceLock<ureq::Agent>,
}

impl std::fmt::Debug for Http {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Http")
            .field("ca_file", &self.ca_file)
            .finish_non_exhaustive()
    }
}

impl Http {
    pub fn new(ca_file: Option<PathBuf>, log: Option<Logger>) -> Self {
        Http {
            ca_file,
            log,
            agent: OnceLock::new(),
            direct_agent: OnceLock::new(),
        }
    }

    pub fn log(&self, line: impl FnOnce() -> String) {
        if let Some(log) = &self.log {
            log(&line());
        }
    }

    fn agent(&self, direct: bool) -> Result<&ureq::Agent> {
        let cell = if direct {
            &self.direct_agent
        } else {
            &self.agent
        };
        if let Some(agent) = cell.get() {
            return Ok(agent);
        }
        let builder = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .allow_non_standard_methods(true)
            .user_agent(concat!("yciam/", env!("CARGO_PKG_VERSION")));
        let config = if direct {
            // Plain HTTP to a link-local or loopback address: no proxy, no trust roots.
            builder.proxy(None).build()
        } else {
            let roots = trust_roots(self.ca_file.as_deref())?;
            builder
                .tls_config(TlsConfig::builder().root_certs(roots).build())
                .build()
        };
        // Two threads may both build one; the loser's is dropped. Cheaper than a lock.
        Ok(cell.get_or_init(|| config.new_agent()))
    }

    /// Sends a request, retrying per `req.retry` within the deadline, and returns the first
    /// response that is not retried (any status).
    pub fn send(&self, req: &Request<'_>, deadline: &Deadline) -> Result<Response> {
        let uri = parse_url(req.url)?;
        let what = describe(req.method, &uri);
        if (req.bearer.is_some() || req.secret_body) && !secret_may_go_to(&uri) {
            return Err(Error::Usage(format!(
                "refusing to send a token over plain HTTP to {}: use an https:// URL \
                 (plain http:// is allowed only for loopback addresses)",
                uri.host().unwrap_or("?")
            )));
        }
        let agent = self.agent(req.direct)?;
        let mut attempt = 1;
        loop {
            let remaining = deadline.remaining();
            if remaining.is_zero() {
                return Err(deadline.timeout(&what));
            }
            self.log(|| format!("> {what} (attempt {attempt}/{MAX_ATTEMPTS})"));
            let started = Instant::now();
            let result = run_once(agent, req, &uri, remaining);
            let elapsed = started.elapsed();
            let wait = match result {
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    self.log(|| format!("< {status} in {} ms", elapsed.as_millis()));
                    let retryable = status == 429
                        || (req.retry == Retry::Idempotent
                            && matches!(status, 500 | 502 | 503 | 504));
                    if !retryable || attempt >= MAX_ATTEMPTS {
                        return Ok(into_response(resp, what, attempt));
                    }
                    let retry_after = retry_after(resp.headers());
                    let wait = retry_after.unwrap_or_else(|| backoff(attempt));
                    if wait >= deadline.remaining() {
                        // Waiting would overrun the deadline: report what the server said now.
                        return Ok(into_response(resp, what, attempt));
                    }
                    wait
                }
                Err(err) => {
                    self.log(|| format!("< failed after {} ms: {err}", elapsed.as_millis()));
                    let retryable = is_retryable(&err, req.retry);
                    let err = map_transport_error(err, &what, deadline);
                    if !retryable || attempt >= MAX_ATTEMPTS {
                        return Err(err);
                    }
                    let wait = backoff(attempt);
                    if wait >= deadline.remaining() {
                        return Err(err);
                    }
                    wait
                }
            };
            self.log(|| format!("  retrying in {:.2} s", wait.as_secs_f64()));
            std::thread::sleep(wait);
            attempt += 1;
        }
    }

    /// Sends a request and parses a 2xx JSON answer; any other status becomes an [`ApiError`]
    /// (401/403 as [`Error::Rejected`]).
    pub fn send_json<T: DeserializeOwned>(
        &self,
        req: &Request<'_>,
        deadline: &Deadline,
    ) -> Result<T> {
        let mut resp = self.send(req, deadline)?;
        let body = read_body(&mut resp, API_BODY_LIMIT, deadline)?;
        if !(200..300).contains(&resp.status) {
            return Err(api_error(&resp, &body));
        }
        serde_json::from_slice(&body).map_err(|e| Error::BadResponse {
            what: resp.what.clone(),
            detail: format!(
                "HTTP {} with a body that is not the expected JSON ({e}): {}",
                resp.status,
                excerpt(&body)
            ),
            request_id: resp.request_id(),
        })
    }
}

/// Reads a response body, refusing more than `limit` bytes.
pub(crate) fn read_body(resp: &mut Response, limit: u64, deadline: &Deadline) -> Result<Vec<u8>> {
    resp.body
        .with_config()
        .limit(limit)
        .read_to_vec()
        .map_err(|e| match e {
            ureq::Error::BodyExceedsLimit(_) => Error::BadResponse {
                what: resp.what.clone(),
                detail: format!(
                    "HTTP {} with a body larger than {} KiB",
                    resp.status,
                    limit / 1024
                ),
                request_id: resp.request_id(),
            },
            other => map_transport_error(other, &resp.what, deadline),
        })
}

/// Turns a non-2xx response into an error: the Status `message` and `requestId` when the body
/// is a google.rpc.Status, otherwise the status and a short excerpt (an HTML page from a proxy).
pub(crate) fn api_error(resp: &Response, body: &[u8]) -> Error {
    let (code, message, details_id) = status_fields(body);
    let api = Box::new(ApiError {
        what: resp.what.clone(),
        status: resp.status,
        code,
        message,
        request_id: details_id.or_else(|| resp.request_id()),
        retry_after: retry_after_pairs(&resp.headers),
        attempts: resp.attempts,
        hint: None,
    });
    if matches!(resp.status, 401 | 403) {
        Error::Rejected(api)
    } else {
        Error::Api(api)
    }
}

/// The `code`, `message` and `requestId` of a google.rpc.Status body; for any other body,
/// no code, a short excerpt as the message, and no request id.
pub(crate) fn status_fields(body: &[u8]) -> (Option<i32>, String, Option<String>) {
    #[derive(serde::Deserialize)]
    struct Status {
        code: Option<i32>,
        message: Option<String>,
        #[serde(default)]
        details: Vec<serde_json::Value>,
    }
    match serde_json::from_slice::<Status>(body) {
        Ok(s) if s.code.is_some() || s.message.is_some() => {
            let id = s.details.iter().find_map(|d| {
                d.get("requestId")
                    .and_then(|v| v.as_str())
                    .map(str::to_string)
            });
            (s.code, s.message.unwrap_or_default(), id)
        }
        _ => (None, excerpt(body), None),
    }
}

/// A short one-line excerpt of a body for messages: tags and runs of white space folded.
pub(crate) fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let mut out = String::new();
    let mut in_tag = false;
    let mut last_space = true;
    for c in text.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                if !last_space {
                    out.push(' ');
                    last_space = true;
                }
            }
            _ if in_tag => {}
            c if c.is_whitespace() || c.is_control() => {
                if !last_space {
                    out.push(' ');
                    last_space = true;
                }
            }
            c => {
                out.push(c);
                last_space = false;
            }
        }
        if out.chars().count() >= EXCERPT_CHARS {
            out.push('…');
            break;
        }
    }
    let out = out.trim().to_string();
    if out.is_empty() {
        "(empty body)".to_string()
    } else {
        format!("\"{out}\"")
    }
}

fn run_once(
    agent: &ureq::Agent,
    req: &Request<'_>,
    uri: &Uri,
    timeout: Duration,
) -> std::result::Result<http::Response<ureq::Body>, ureq::Error> {
    let mut builder = http::Request::builder().method(req.method).uri(uri.clone());
    for (name, value) in req.headers {
        builder = builder.header(name, value);
    }
    if let Some(token) = req.bearer {
        builder = builder.header("Authorization", format!("Bearer {}", token.expose()));
    }
    use ureq::RequestExt;
    match req.body {
        Some(body) => builder
            .body(body)?
            .with_agent(agent)
            .configure()
            .timeout_global(Some(timeout))
            .run(),
        None => builder
            .body(())?
            .with_agent(agent)
            .configure()
            .timeout_global(Some(timeout))
            .run(),
    }
}

fn into_response(resp: http::Response<ureq::Body>, what: String, attempts: u32) -> Response {
    let (parts, body) = resp.into_parts();
    let headers = parts
        .headers
        .iter()
        .map(|(n, v)| {
            (
                n.as_str().to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    Response {
        status: parts.status.as_u16(),
        reason: parts
            .status
            .canonical_reason()
            .unwrap_or_default()
            .to_string(),
        version: parts.version,
        headers,
        body,
        what,
        attempts,
    }
}

/// Parses and checks a URL: absolute, http or https, with a host.
pub(crate) fn parse_url(url: &str) -> Result<Uri> {
    let bad = |why: &str| {
        Error::Usage(format!(
            "bad URL {url:?}: {why}; give a full URL such as https://resource-manager.api.cloud.yandex.net/resource-manager/v1/clouds"
        ))
    };
    let uri: Uri = url.parse().map_err(|_| bad("it does not parse"))?;
    match uri.scheme_str() {
        Some("https") | Some("http") => {}
        Some(other) => return Err(bad(&format!("scheme {other:?} is not http or https"))),
        None => return Err(bad("it has no scheme")),
    }
    if uri.host().is_none_or(str::is_empty) {
        return Err(bad("it has no host"));
    }
    Ok(uri)
}

/// "POST https://host/path" (no query string), for messages and logs.
fn describe(method: &str, uri: &Uri) -> String {
    let mut s = format!("{method} {}://", uri.scheme_str().unwrap_or("https"));
    if let Some(auth) = uri.authority() {
        let _ = write!(s, "{}", auth.as_str().rsplit('@').next().unwrap_or(""));
    }
    s.push_str(uri.path());
    s
}

/// Secrets travel over https, or over plain http only to this machine.
fn secret_may_go_to(uri: &Uri) -> bool {
    if uri.scheme_str() == Some("https") {
        return true;
    }
    let host = uri.host().unwrap_or("");
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The operating system's trust store plus the certificates of `ca_file`.
fn trust_roots(ca_file: Option<&Path>) -> Result<RootCerts> {
    let native = rustls_native_certs::load_native_certs();
    let mut certs: Vec<Certificate<'static>> = native
        .certs
        .into_iter()
        .map(|c| Certificate::from_der(c.as_ref()).to_owned())
        .collect();
    if let Some(path) = ca_file {
        let pem = std::fs::read(path).map_err(|e| {
            Error::Usage(format!(
                "cannot read the CA file {} (--ca-file / YCIAM_CA_FILE): {e}",
                path.display()
            ))
        })?;
        let before = certs.len();
        for item in ureq::tls::parse_pem(&pem) {
            if let Ok(PemItem::Certificate(cert)) = item {
                certs.push(cert);
            }
        }
        if certs.len() == before {
            return Err(Error::Usage(format!(
                "the CA file {} holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
                path.display()
            )));
        }
    }
    Ok(RootCerts::new_with_certs(&certs))
}

fn backoff(attempt: u32) -> Duration {
    let full = BACKOFF_START
        .saturating_mul(1 << (attempt - 1).min(16))
        .min(BACKOFF_MAX);
    // Jitter in [50 %, 100 %) so that many clients do not retry in step.
    full.mul_f64(0.5 + fastrand::f64() / 2.0)
}

fn retry_after(headers: &http::HeaderMap) -> Option<Duration> {
    let value = headers.get("retry-after")?.to_str().ok()?;
    parse_retry_after(value)
}

fn retry_after_pairs(headers: &[(String, String)]) -> Option<Duration> {
    parse_retry_after(header(headers, "retry-after")?)
}

/// `Retry-After` is delay-seconds or an HTTP date.
fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(
        when.duration_since(std::time::SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

/// Whether a failed attempt may be repeated, decided from what failed (not from the message):
/// a refused connection never reached the server; a broken one may have, so only idempotent
/// requests repeat it. A failing TLS handshake or a timeout is never repeated.
fn is_retryable(err: &ureq::Error, retry: Retry) -> bool {
    let kind = match err {
        ureq::Error::Io(e) if e.get_ref().is_some_and(|i| i.is::<rustls::Error>()) => return false,
        ureq::Error::Io(e) => e.kind(),
        ureq::Error::ConnectionFailed => io::ErrorKind::ConnectionRefused,
        ureq::Error::Protocol(_) => io::ErrorKind::ConnectionAborted,
        _ => return false,
    };
    match kind {
        io::ErrorKind::ConnectionRefused => true,
        io::ErrorKind::ConnectionReset
        | io::ErrorKind::ConnectionAborted
        | io::ErrorKind::BrokenPipe
        | io::ErrorKind::UnexpectedEof => retry == Retry::Idempotent,
        _ => false,
    }
}

const CONNECTION_REFUSED: &str = "connection refused";
const CONNECTION_BROKE: &str = "the connection broke";

fn map_transport_error(err: ureq::Error, what: &str, deadline: &Deadline) -> Error {
    let transport = |detail: String, hint: &str| Error::Transport {
        what: what.to_string(),
        detail,
        hint: hint.to_string(),
    };
    const NET_HINT: &str = "check the endpoint, your network, and HTTPS_PROXY/NO_PROXY";
    match err {
        ureq::Error::Timeout(_) => deadline.timeout(what),
        ureq::Error::HostNotFound => transport(
            "the host name could not be resolved".into(),
            "check the endpoint name (--endpoint / YC_ENDPOINT) and your DNS",
        ),
        ureq::Error::Rustls(e) => tls_error(&e.to_string(), what),
        ureq::Error::Io(e) => io_error(e, what, deadline),
        ureq::Error::BadUri(u) => Error::Usage(format!("bad URL {u:?}")),
        ureq::Error::Http(e) => Error::Usage(format!("{what}: bad request: {e}")),
        ureq::Error::ConnectionFailed => transport(
            format!("{CONNECTION_REFUSED} (no connection could be made)"),
            NET_HINT,
        ),
        ureq::Error::InvalidProxyUrl => Error::Usage(
            "the proxy URL in HTTPS_PROXY/HTTP_PROXY/ALL_PROXY is not valid: fix or unset it"
                .into(),
        ),
        ureq::Error::Protocol(e) => transport(
            format!("{CONNECTION_BROKE}: the server did not speak valid HTTP/1.1 ({e})"),
            NET_HINT,
        ),
        other => transport(other.to_string(), NET_HINT),
    }
}

fn io_error(e: io::Error, what: &str, deadline: &Deadline) -> Error {
    let text = e.to_string();
    // rustls failures during the handshake surface as io errors carrying the rustls error.
    if let Some(tls) = e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    {
        return tls_error(&tls.to_string(), what);
    }
    let detail = match e.kind() {
        io::ErrorKind::ConnectionRefused => format!("{CONNECTION_REFUSED} ({text})"),
        io::ErrorKind::ConnectionReset
        | io::ErrorKind::ConnectionAborted
        | io::ErrorKind::BrokenPipe
        | io::ErrorKind::UnexpectedEof => format!("{CONNECTION_BROKE} ({text})"),
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => return deadline.timeout(what),
        _ => text,
    };
    Error::Transport {
        what: what.to_string(),
        detail,
        hint: "check the endpoint, your network, and HTTPS_PROXY/NO_PROXY".into(),
    }
}

fn tls_error(detail: &str, what: &str) -> Error {
    let hint = if detail.contains("UnknownIssuer") || detail.contains("unknown issuer") {
        "the server's certificate is not signed by a CA you trust. If a corporate proxy inspects TLS, \
         pass its CA certificate with --ca-file FILE (or YCIAM_CA_FILE), or add it to the system trust store"
    } else if detail.contains("NotValidForName") || detail.contains("not valid for name") {
        "the certificate does not match the host name: check the endpoint URL"
    } else if detail.contains("Expired") || detail.contains("expired") {
        "the server's certificate has expired or the system clock is wrong: check the date"
    } else {
        "check the endpoint, --ca-file / YCIAM_CA_FILE and any TLS-inspecting proxy"
    };
    Error::Transport {
        what: what.to_string(),
        detail: format!("TLS failed: {detail}"),
        hint: hint.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_takes_seconds_and_dates() {
        assert_eq!(parse_retry_after("2"), Some(Duration::from_secs(2)));
        let soon = std::time::SystemTime::now() + Duration::from_secs(30);
        let d = parse_retry_after(&httpdate::fmt_http_date(soon)).unwrap();
        assert!(
            d > Duration::from_secs(25) && d <= Duration::from_secs(30),
            "{d:?}"
        );
        assert_eq!(parse_retry_after("soon"), None);
    }

    #[test]
    fn backoff_doubles_with_jitter_and_caps() {
        for attempt in 1..=3 {
            let full = BACKOFF_START * (1 << (attempt - 1));
            let d = backoff(attempt);
            assert!(d >= full / 2 && d < full, "{attempt}: {d:?}");
        }
        assert!(backoff(30) <= BACKOFF_MAX);
    }

    #[test]
    fn secrets_go_only_to_https_or_loopback() {
        let ok = |u: &str| secret_may_go_to(&u.parse().unwrap());
        assert!(ok("https://iam.api.cloud.yandex.net/x"));
        assert!(ok("http://127.0.0.1:8080/x"));
        assert!(ok("http://127.1.2.3/x"));
        assert!(ok("http://[::1]:80/x"));
        assert!(ok("http://localhost/x"));
        assert!(!ok("http://iam.api.cloud.yandex.net/x"));
        assert!(!ok("http://169.254.169.254/x"));
    }

    #[test]
    fn excerpt_folds_html_into_a_short_line() {
        let html = b"<html>\r\n<head><title>502 Bad Gateway</title></head>\n<body>\n<center><h1>502 Bad Gateway</h1></center>\n<hr><center>nginx</center>\n</body>\n</html>\n";
        assert_eq!(excerpt(html), "\"502 Bad Gateway 502 Bad Gateway nginx\"");
        assert_eq!(excerpt(b""), "(empty body)");
        assert!(excerpt(&[b'a'; 5000]).chars().count() < 210);
    }

    #[test]
    fn urls_are_checked() {
        assert!(parse_url("https://x.example/a?b=c").is_ok());
        for bad in ["", "not a url", "ftp://x/", "/just/a/path", "https://"] {
            let e = parse_url(bad).unwrap_err();
            assert!(matches!(e, Error::Usage(_)), "{bad}: {e}");
        }
    }
}
