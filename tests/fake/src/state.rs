//! Everything the fake remembers: accepted credentials, issued tokens, counters,
//! recorded requests and queued faults. One mutex, never held across an await.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use time::OffsetDateTime;

use crate::faults::{Fault, Route};
use crate::keys::KeyEntry;
use crate::{Cloud, util};

/// One request as the fake received it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordedRequest {
    /// HTTP method, e.g. `"POST"`.
    pub method: String,
    /// Path and query as sent, e.g. `"/resource-manager/v1/clouds?pageSize=10"`.
    pub path: String,
    /// Headers in order received; names are lowercase.
    pub headers: Vec<(String, String)>,
    /// The request body.
    pub body: Vec<u8>,
    /// The route it was counted under.
    pub route: Route,
    /// Whether it came in on the HTTPS listener.
    pub tls: bool,
}

impl RecordedRequest {
    /// First value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// An IAM token the fake issued.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IssuedToken {
    /// The token, `t1.….…`.
    pub token: String,
    /// Whom it authenticates: the Yandex user id for OAuth, the service account id for a
    /// JWT or the metadata service.
    pub subject: String,
    /// How it was obtained: `"oauth"`, `"jwt"` or `"metadata"`.
    pub source: &'static str,
    /// When it expires.
    pub expires_at: OffsetDateTime,
    /// Whether it has been revoked.
    pub revoked: bool,
}

/// Mutable state behind [`Shared::lock`].
pub(crate) struct Inner {
    /// Accepted OAuth tokens → the user id they belong to.
    pub oauth: HashMap<String, String>,
    /// Registered service-account keys by key id.
    pub keys: HashMap<String, KeyEntry>,
    /// Issued tokens in issue order, plus an index.
    pub issued: Vec<IssuedToken>,
    pub token_index: HashMap<String, usize>,
    pub counts: HashMap<Route, usize>,
    pub faults: HashMap<Route, VecDeque<Fault>>,
    pub requests: Vec<RecordedRequest>,
    /// The service account "attached to the VM"; `None` → the metadata route answers 404.
    pub metadata_sa: Option<String>,
    /// The token the metadata route currently hands out.
    pub metadata_token: Option<String>,
    pub token_lifetime: Duration,
}

/// Why a bearer token was refused.
pub(crate) enum TokenProblem {
    Unknown,
    Revoked,
    Expired,
}

impl Inner {
    /// Issues and remembers a new IAM token.
    pub fn issue(&mut self, subject: &str, source: &'static str) -> IssuedToken {
        let lifetime = time::Duration::try_from(self.token_lifetime).unwrap_or(time::Duration::MAX);
        let t = IssuedToken {
            token: util::new_iam_token(),
            subject: subject.to_string(),
            source,
            expires_at: OffsetDateTime::now_utc().saturating_add(lifetime),
            revoked: false,
        };
        self.token_index.insert(t.token.clone(), self.issued.len());
        self.issued.push(t.clone());
        t
    }

    /// The issued token, if it is known, unrevoked and unexpired.
    pub fn valid_token(&self, token: &str) -> Result<&IssuedToken, TokenProblem> {
        let t = self
            .token_index
            .get(token)
            .map(|&i| &self.issued[i])
            .ok_or(TokenProblem::Unknown)?;
        if t.revoked {
            Err(TokenProblem::Revoked)
        } else if t.expires_at <= OffsetDateTime::now_utc() {
            Err(TokenProblem::Expired)
        } else {
            Ok(t)
        }
    }

    /// Revokes a valid token; returns its subject.
    pub fn revoke(&mut self, token: &str) -> Result<String, TokenProblem> {
        self.valid_token(token)?;
        let i = self.token_index[token];
        self.issued[i].revoked = true;
        Ok(self.issued[i].subject.clone())
    }

    /// The metadata service's current token and its expiry, issuing a new one when there is
    /// none or it is within `min(5 min, lifetime / 2)` of expiry (like the real service,
    /// repeated calls get the same token with a shrinking `expires_in`).
    pub fn metadata_token(&mut self, sa: &str) -> IssuedToken {
        let margin = Duration::from_secs(300).min(self.token_lifetime / 2);
        let margin = time::Duration::try_from(margin).unwrap_or(time::Duration::ZERO);
        let now = OffsetDateTime::now_utc();
        if let Some(tok) = &self.metadata_token
            && let Ok(t) = self.valid_token(tok)
            && t.subject == sa
            && t.expires_at - now > margin
        {
            return t.clone();
        }
        let t = self.issue(sa, "metadata");
        self.metadata_token = Some(t.token.clone());
        t
    }

    /// Counts and records a request; pops the next fault queued for its route.
    pub fn record(&mut self, req: RecordedRequest) -> Option<Fault> {
        let route = req.route;
        *self.counts.entry(route).or_default() += 1;
        self.requests.push(req);
        self.faults.get_mut(&route).and_then(VecDeque::pop_front)
    }
}

/// Read-only configuration plus the locked state, shared by all connections.
pub(crate) struct Shared {
    pub audience: String,
    pub clouds: Arc<Vec<Cloud>>,
    pub max_iat_skew: Duration,
    pub ca_pem: String,
    pub wrong_ca_pem: String,
    inner: Mutex<Inner>,
}

impl Shared {
    pub fn new(cfg: &crate::FakeConfig, ca_pem: String, wrong_ca_pem: String) -> Shared {
        let oauth = cfg
            .oauth_tokens
            .iter()
            .map(|t| (t.clone(), util::random_id("aje")))
            .collect();
        Shared {
            audience: cfg.audience.clone(),
            clouds: Arc::new(cfg.clouds.clone()),
            max_iat_skew: cfg.max_iat_skew,
            ca_pem,
            wrong_ca_pem,
            inner: Mutex::new(Inner {
                oauth,
                keys: HashMap::new(),
                issued: Vec::new(),
                token_index: HashMap::new(),
                counts: HashMap::new(),
                faults: HashMap::new(),
                requests: Vec::new(),
                metadata_sa: cfg.metadata_service_account.clone(),
                metadata_token: None,
                token_lifetime: cfg.token_lifetime,
            }),
        }
    }

    /// Locks the state; a panic elsewhere while holding it does not poison the fake.
    pub fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}
