//! A faithful local fake of the Yandex Cloud IAM, Resource Manager and VM metadata APIs,
//! for tests only. It follows `shared/reference/yandex-iam-api.md` (the wire contract).
//!
//! [`FakeServer::start`] binds two loopback listeners and serves them from its own
//! multi-thread tokio runtime, so callers are plain blocking code:
//!
//! * an HTTPS listener ([`FakeServer::https_url`]) with a certificate for `127.0.0.1`,
//!   `::1` and `localhost`, signed by a CA made at start-up ([`FakeServer::ca_pem`]);
//! * a plain HTTP listener ([`FakeServer::http_url`], [`FakeServer::metadata_addr`]) for
//!   the metadata service, which serves the same routes.
//!
//! Routes (every response has an `x-request-id` header; every JSON error is a
//! google.rpc.Status with a RequestInfo detail carrying the same id):
//!
//! | route | what |
//! |---|---|
//! | `POST /iam/v1/tokens` | `{"yandexPassportOauthToken"}` or `{"jwt"}` → `{"iamToken","expiresAt"}` |
//! | `POST /iam/v1/tokens:revoke` | `{"iamToken"}` → `{"subjectId"}` |
//! | `GET /resource-manager/v1/clouds` | bearer IAM token; `pageSize` (default 100, max 1000), `pageToken` |
//! | `GET /computeMetadata/v1/instance/service-accounts/default/token` | needs `Metadata-Flavor: Google` |
//! | `ANY /test/v1/echo` | bearer; reflects method, path, query, headers, body |
//! | `GET /test/v1/status/<code>` | bearer; a Status body with that HTTP status |
//! | `/_fake/…` | control routes for out-of-process tests, below |
//! | anything else | 404, Status code 5 `Not found` |
//!
//! Faults ([`Fault`]) are queued per [`Route`] and consumed one per request.
//!
//! # Control routes
//! Served on both listeners, no auth, never counted, recorded or faulted. Route names are
//! those of [`Route::name`]: `create_token`, `revoke`, `list_clouds`, `metadata`, `echo`,
//! `other`.
//! * `POST /_fake/faults` with `{"route":"create_token","fault":{"kind":"status","http":503,"grpc":14,"message":"..."}}`
//!   or an array of such objects → `{"queued":N}` (all or nothing: a bad entry → 400).
//!   Fault kinds ([`Fault::from_json`]): `status` {http, grpc, message?}, `retry_after`
//!   {seconds}, `stall` {ms}, `reset`, `truncated_json`, `huge` {bytes}, `html` {status},
//!   `garbage`.
//! * `GET /_fake/stats` → `{"counts":{"create_token":N,…every route…},"issued_tokens":["t1…",…],
//!   "pending_faults":{"create_token":N,…},"requests":N}`
//! * `GET /_fake/requests` → `[{"method","path","headers":[[name,value],…],"body":"<utf8 lossy>","route","tls"}]`
//! * `POST /_fake/reset` → `{}`; clears counts, queued faults and recorded requests (issued
//!   tokens, keys and OAuth tokens stay).
//! * `POST /_fake/sa_key?bits=2048|4096[&header_line=false]` → a newly generated and
//!   registered key in the `yc iam key create` JSON shape ([`SaKey::to_yc_json`]; the
//!   "PLEASE DO NOT REMOVE" line is included unless `header_line=false`).
//! * `POST /_fake/oauth_token`, body = the token (surrounding whitespace trimmed) → `{}`.
//! * `POST /_fake/metadata_sa` with `{"service_account_id":"aje…"}` or `{"service_account_id":null}` → `{}`.
//! * `POST /_fake/revoke_all` → `{}`; revokes every issued token.

#![warn(missing_docs)]

mod faults;
mod keys;
mod routes;
mod server;
mod state;
mod tls;
mod util;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

pub use faults::{Fault, Route};
pub use keys::SaKey;
pub use state::{IssuedToken, RecordedRequest};

/// The OAuth token every fake accepts unless [`FakeConfig::oauth_tokens`] says otherwise.
pub const DEFAULT_OAUTH_TOKEN: &str = "y0_AgAAAAFakeOAuthTokenForTests0123456789";

/// The JWT audience of the global installation.
pub const DEFAULT_AUDIENCE: &str = "https://iam.api.cloud.yandex.net/iam/v1/tokens";

/// The service account "attached to the VM" by default (served by the metadata route).
pub const DEFAULT_METADATA_SA: &str = "ajemetadata0fakesa00";

/// Default IAM token lifetime: 12 hours.
pub const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(12 * 3600);

/// One cloud as `GET /resource-manager/v1/clouds` returns it (camelCase JSON).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Cloud {
    /// 20-character id starting with `b1g`.
    pub id: String,
    /// RFC 3339 creation time.
    pub created_at: String,
    /// Cloud name.
    pub name: String,
    /// Free-form description.
    pub description: String,
    /// Organization id.
    pub organization_id: String,
    /// Labels (empty for generated clouds).
    pub labels: std::collections::BTreeMap<String, String>,
}

/// How a [`FakeServer`] behaves. Start from `FakeConfig::default()` and change fields.
#[derive(Clone, Debug)]
pub struct FakeConfig {
    /// What the clouds route lists. Default: [`FakeConfig::generated_clouds`]`(250)`.
    pub clouds: Vec<Cloud>,
    /// Lifetime of issued IAM tokens (also of metadata tokens). Default 12 h.
    /// Make it short (seconds) to test refresh.
    pub token_lifetime: Duration,
    /// The JWT `aud` the token route requires. Default [`DEFAULT_AUDIENCE`].
    pub audience: String,
    /// OAuth tokens accepted from the start. Default `[DEFAULT_OAUTH_TOKEN]`; the first one is
    /// what [`FakeServer::oauth_token`] returns (empty list: it returns
    /// [`DEFAULT_OAUTH_TOKEN`], which is then not accepted).
    pub oauth_tokens: Vec<String>,
    /// The service account the metadata route serves tokens for; `None` → 404 (no service
    /// account attached). Default `Some(DEFAULT_METADATA_SA)`.
    pub metadata_service_account: Option<String>,
    /// How far in the future a JWT's `iat` may be (clock skew allowance). Default 5 min.
    pub max_iat_skew: Duration,
}

impl Default for FakeConfig {
    fn default() -> Self {
        FakeConfig {
            clouds: FakeConfig::generated_clouds(250),
            token_lifetime: DEFAULT_TOKEN_LIFETIME,
            audience: DEFAULT_AUDIENCE.to_string(),
            oauth_tokens: vec![DEFAULT_OAUTH_TOKEN.to_string()],
            metadata_service_account: Some(DEFAULT_METADATA_SA.to_string()),
            max_iat_skew: Duration::from_secs(300),
        }
    }
}

impl FakeConfig {
    /// `n` deterministic clouds: ids `b1g…` (20 chars), names `cloud-0001`…, descriptions,
    /// `organizationId` `bpf…`, creation times one hour apart from 2019-04-01, no labels.
    pub fn generated_clouds(n: usize) -> Vec<Cloud> {
        let base = time::macros::datetime!(2019-04-01 09:00:00 UTC);
        (0..n)
            .map(|i| Cloud {
                id: util::seeded_id("b1g", i as u64),
                created_at: util::rfc3339_secs(base + time::Duration::hours(i as i64)),
                name: format!("cloud-{:04}", i + 1),
                description: format!("Fake cloud number {}", i + 1),
                organization_id: util::seeded_id("bpf", 1_000_000 + (i / 100) as u64),
                labels: Default::default(),
            })
            .collect()
    }
}

/// A running fake. Stops its runtime and closes its listeners on drop.
pub struct FakeServer {
    shared: Arc<state::Shared>,
    running: server::Running,
    oauth_token: String,
}

impl FakeServer {
    /// Starts a fake with the default configuration.
    ///
    /// # Panics
    /// If the loopback listeners cannot be bound or the runtime cannot start.
    pub fn start() -> FakeServer {
        FakeServer::start_with(FakeConfig::default())
    }

    /// Starts a fake with `cfg`. Safe to call from plain threads and from inside another
    /// tokio runtime.
    ///
    /// # Panics
    /// If the loopback listeners cannot be bound or the runtime cannot start.
    pub fn start_with(cfg: FakeConfig) -> FakeServer {
        let pki = tls::make_pki();
        let shared = Arc::new(state::Shared::new(&cfg, pki.ca_pem, pki.wrong_ca_pem));
        let running = server::Running::start(shared.clone(), pki.server_config)
            .expect("yciam-fake: cannot start the server");
        let oauth_token = cfg
            .oauth_tokens
            .first()
            .cloned()
            .unwrap_or_else(|| DEFAULT_OAUTH_TOKEN.to_string());
        FakeServer {
            shared,
            running,
            oauth_token,
        }
    }

    /// `https://127.0.0.1:PORT`: IAM, Resource Manager, test and control routes (and the
    /// metadata route).
    pub fn https_url(&self) -> String {
        format!("https://{}", self.running.https_addr)
    }

    /// `http://127.0.0.1:PORT2`: the plain-HTTP listener (metadata route; the other routes
    /// are served here too).
    pub fn http_url(&self) -> String {
        format!("http://{}", self.running.http_addr)
    }

    /// `127.0.0.1:PORT2`, the form `YC_METADATA_ADDR` takes.
    pub fn metadata_addr(&self) -> String {
        self.running.http_addr.to_string()
    }

    /// PEM of the test CA that signed the HTTPS certificate.
    pub fn ca_pem(&self) -> String {
        self.shared.ca_pem.clone()
    }

    /// PEM of an unrelated CA (for tests where TLS verification must fail).
    pub fn wrong_ca_pem(&self) -> String {
        self.shared.wrong_ca_pem.clone()
    }

    /// Writes [`FakeServer::ca_pem`] to `path`.
    ///
    /// # Panics
    /// If the file cannot be written.
    pub fn write_ca(&self, path: &Path) {
        std::fs::write(path, self.ca_pem())
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    }

    /// An OAuth token the fake accepts (by default [`DEFAULT_OAUTH_TOKEN`]).
    pub fn oauth_token(&self) -> String {
        self.oauth_token.clone()
    }

    /// Makes the fake accept another OAuth token (as a new Yandex user).
    pub fn add_oauth_token(&self, token: &str) {
        self.shared
            .lock()
            .oauth
            .insert(token.to_string(), util::random_id("aje"));
    }

    /// The user id an accepted OAuth token belongs to (the `subjectId` of its IAM tokens).
    pub fn oauth_subject(&self, token: &str) -> Option<String> {
        self.shared.lock().oauth.get(token).cloned()
    }

    /// Queues `fault` for the next request to `route` (FIFO per route; an empty queue
    /// means normal behaviour).
    pub fn push_fault(&self, route: Route, fault: Fault) {
        self.shared
            .lock()
            .faults
            .entry(route)
            .or_default()
            .push_back(fault);
    }

    /// How many faults are still queued for `route`.
    pub fn pending_faults(&self, route: Route) -> usize {
        self.shared.lock().faults.get(&route).map_or(0, |q| q.len())
    }

    /// Drops every queued fault.
    pub fn clear_faults(&self) {
        self.shared.lock().faults.clear();
    }

    /// Requests received on `route` since start or the last [`FakeServer::reset_counts`],
    /// faulted ones included (control routes are never counted).
    pub fn count(&self, route: Route) -> usize {
        self.shared.lock().counts.get(&route).copied().unwrap_or(0)
    }

    /// Every counted request, in arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.lock().requests.clone()
    }

    /// Zeroes the counters and forgets recorded requests (queued faults stay).
    pub fn reset_counts(&self) {
        let mut inner = self.shared.lock();
        inner.counts.clear();
        inner.requests.clear();
    }

    /// The IAM tokens issued so far (token route and metadata route), oldest first.
    pub fn issued_tokens(&self) -> Vec<String> {
        self.shared
            .lock()
            .issued
            .iter()
            .map(|t| t.token.clone())
            .collect()
    }

    /// Details of the tokens issued so far: subject, source, expiry, revocation.
    pub fn issued(&self) -> Vec<IssuedToken> {
        self.shared.lock().issued.clone()
    }

    /// The subject (user or service account id) of an issued token.
    pub fn token_subject(&self, token: &str) -> Option<String> {
        let inner = self.shared.lock();
        inner
            .token_index
            .get(token)
            .map(|&i| inner.issued[i].subject.clone())
    }

    /// Whether `token` is currently accepted as a bearer (issued, unrevoked, unexpired).
    pub fn is_token_valid(&self, token: &str) -> bool {
        self.shared.lock().valid_token(token).is_ok()
    }

    /// Revokes every token issued so far (e.g. to test a client's reaction to a 401).
    pub fn revoke_all_tokens(&self) {
        for t in &mut self.shared.lock().issued {
            t.revoked = true;
        }
    }

    /// Changes the lifetime of tokens issued from now on.
    pub fn set_token_lifetime(&self, lifetime: Duration) {
        self.shared.lock().token_lifetime = lifetime;
    }

    /// Generates an RSA key of `bits` (2048 or 4096) for a new service account and
    /// registers it, so JWTs it signs are accepted.
    ///
    /// # Panics
    /// If `bits` is neither 2048 nor 4096.
    pub fn new_sa_key(&self, bits: usize) -> SaKey {
        let key = SaKey::generate(bits);
        self.register_sa_key(&key);
        key
    }

    /// Registers an existing key (e.g. one generated once and shared by several fakes).
    ///
    /// # Panics
    /// If `key.public_key_pem` is not an RSA SubjectPublicKeyInfo PEM.
    pub fn register_sa_key(&self, key: &SaKey) {
        routes::register_key(&self.shared, key).expect("register_sa_key");
    }

    /// Attaches a service account to the fake "VM" (`Some(id)`), or detaches it (`None`:
    /// the metadata route answers 404). Forgets the metadata route's cached token.
    pub fn set_metadata_service_account(&self, service_account_id: Option<&str>) {
        let mut inner = self.shared.lock();
        inner.metadata_sa = service_account_id.map(str::to_string);
        inner.metadata_token = None;
    }
}

impl std::fmt::Debug for FakeServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeServer")
            .field("https", &self.https_url())
            .field("http", &self.http_url())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn server_is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<super::FakeServer>();
        check::<super::SaKey>();
        check::<super::FakeConfig>();
    }
}
