//! The client: a credential, its token cache, and authorized requests.

use std::io::Read;
use std::sync::Arc;
use std::time::Duration;

use std::path::PathBuf;
use std::time::SystemTime;

use crate::api::{self, Exchange};
use crate::cache::{self, Outcome, TokenCache};
use crate::config::{Endpoints, Options};
use crate::credentials::{self, Credential, Source};
use crate::disk_cache::{self, DiskCache};
use crate::error::{Error, Result};
use crate::http::{self, Deadline, Http, Request, Retry};
use crate::secret::Secret;
use crate::token::IamToken;
use crate::yc;

/// How long the default chain waits for the VM metadata service (the SDKs use about 1 s).
const METADATA_PROBE: Duration = Duration::from_secs(1);

/// Gets IAM tokens from one credential, caches and renews them, and makes authorized requests.
/// Cheap to share between threads (`&Client` is all a thread needs).
pub struct Client {
    http: Http,
    endpoints: Endpoints,
    source: Source,
    /// `None` with `no_cache`, and for a ready IAM token (nothing to renew).
    cache: Option<Arc<TokenCache>>,
    /// The file shared with other processes, when a cache dir is set.
    disk: Option<DiskCache>,
    cache_dir: Option<PathBuf>,
    timeout: Duration,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("source", &self.source.origin)
            .field("kind", &self.source.credential.kind())
            .field("endpoints", &self.endpoints)
            .finish_non_exhaustive()
    }
}

/// An answer to [`Client::request`]: status, headers and the body as a stream.
pub struct Response {
    /// The HTTP status code.
    pub status: u16,
    /// The status line's reason phrase (the standard one for the code).
    pub reason: String,
    /// "HTTP/1.1" and the like.
    pub version: String,
    /// The response headers, in order.
    pub headers: Vec<(String, String)>,
    body: ureq::Body,
}

impl std::fmt::Debug for Response {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Response")
            .field("status", &self.status)
            .field("headers", &self.headers)
            .finish_non_exhaustive()
    }
}

impl Response {
    /// The body as a reader, unbounded (for streaming to a file or stdout).
    pub fn into_reader(self) -> impl Read + 'static {
        self.body.into_reader()
    }

    /// The whole body, refusing more than `limit` bytes.
    pub fn into_bytes(mut self, limit: u64) -> Result<Vec<u8>> {
        self.body
            .with_config()
            .limit(limit)
            .read_to_vec()
            .map_err(|e| Error::BadResponse {
                what: "reading the response body".into(),
                detail: match e {
                    ureq::Error::BodyExceedsLimit(_) => {
                        format!("it is larger than {limit} bytes")
                    }
                    other => other.to_string(),
                },
                request_id: None,
            })
    }
}

impl Client {
    /// A client for the credential the options name (or the default chain).
    pub fn new(options: Options) -> Result<Client> {
        // Bad endpoints are reported as such, before any credential is looked for.
        options.endpoints()?;
        let http = Http::new(options.ca_file.clone(), options.logger.clone());
        let cache_dir = (!options.no_cache)
            .then(|| options.cache_dir.clone())
            .flatten();
        let probe = |addr: &str| {
            let credential = Credential::Metadata(addr.to_string());
            let deadline = Deadline::after(METADATA_PROBE);
            let fetch = || api::metadata_token(&http, addr, &deadline);
            match disk_for(cache_dir.as_ref(), &key_of(&credential, "")) {
                Some(disk) => disk.get(&http, &deadline, fetch).map(|(t, _)| t),
                None => fetch(),
            }
            .map_err(|e| match e {
                Error::Transport { .. } | Error::Timeout { .. } => format!(
                    "no answer within {} s (not a Yandex Cloud VM?)",
                    METADATA_PROBE.as_secs()
                ),
                Error::NoCredential(why) => why.join("; "),
                other => other.to_string(),
            })
        };
        let env = |name: &str| options.env_var(name);
        let resolved = credentials::resolve(&options, &env, &probe)?;
        let mut options = options;
        if options.endpoint.is_none() {
            options.endpoint = resolved.profile_endpoint;
        }
        let endpoints = options.endpoints()?;
        let source = resolved.source;
        http.log(|| {
            format!(
                "credential: {} from {}",
                source.credential.kind(),
                source.origin
            )
        });
        // A ready IAM token has nothing to cache; everything else has one cache per key.
        let key = match &source.credential {
            Credential::IamToken(_) => None,
            _ if options.no_cache => None,
            // Tokens from the IAM API depend on which IAM answered; metadata and yc ones do not.
            c @ (Credential::Metadata(_) | Credential::YcCli(..)) => Some(key_of(c, "")),
            c => Some(key_of(c, &endpoints.iam)),
        };
        let cache = key.map(cache::shared);
        if let (Some(cache), Some(token)) = (&cache, resolved.token) {
            cache.seed(token);
        }
        let disk = key.and_then(|k| disk_for(cache_dir.as_ref(), &k));
        Ok(Client {
            http,
            endpoints,
            source,
            cache,
            disk,
            cache_dir,
            timeout: options.timeout_or_default(),
        })
    }

    /// Where the credential came from, e.g. "YC_OAUTH_TOKEN".
    pub fn credential_origin(&self) -> &str {
        &self.source.origin
    }

    /// An IAM token: from the cache while fresh, else newly obtained (one request however
    /// many threads ask at once).
    pub fn token(&self) -> Result<IamToken> {
        self.token_within(&Deadline::after(self.timeout))
    }

    fn token_within(&self, deadline: &Deadline) -> Result<IamToken> {
        // Memory first, then the shared file, then the credential itself.
        let from_disk_or_fetch = || match &self.disk {
            Some(disk) => disk
                .get(&self.http, deadline, || self.fetch(deadline))
                .map(|(token, outcome)| self.report(token, outcome)),
            None => self.fetch(deadline),
        };
        let Some(cache) = &self.cache else {
            return from_disk_or_fetch();
        };
        cache
            .get(from_disk_or_fetch)
            .map(|(token, outcome)| match outcome {
                Outcome::Cached => {
                    self.http.log(|| "token: from the in-process cache".into());
                    token
                }
                other => self.report(token, other),
            })
    }

    fn report(&self, token: IamToken, outcome: Outcome) -> IamToken {
        if let Outcome::StaleAfterError(e) = outcome {
            self.http
                .log(|| format!("token: refresh failed, still using the current token: {e}"));
        }
        token
    }

    /// Obtains a new token from the credential, bypassing the caches.
    fn fetch(&self, deadline: &Deadline) -> Result<IamToken> {
        let exchange = |with| {
            api::create_token(&self.http, &self.endpoints.iam, with, deadline)
                .map_err(|e| self.with_hint(e))
        };
        match &self.source.credential {
            Credential::IamToken(s) => Ok(IamToken::new(s.clone(), None)),
            Credential::OAuthToken(s) => exchange(Exchange::OAuth(s)),
            Credential::ServiceAccountKey(key) => {
                let audience = format!("https://iam.{}/iam/v1/tokens", self.endpoints.domain);
                let jwt = key.jwt(&audience, SystemTime::now())?;
                exchange(Exchange::Jwt(&jwt))
            }
            Credential::Metadata(addr) => api::metadata_token(&self.http, addr, deadline),
            Credential::YcCli(path, profile) => {
                yc::create_token(path, profile.as_deref(), deadline)
            }
        }
    }

    /// Adds what to do about a refused credential, in terms of where it came from.
    fn with_hint(&self, err: Error) -> Error {
        match err {
            Error::Rejected(mut api) if api.hint.is_none() => {
                api.hint = Some(match &self.source.credential {
                    Credential::OAuthToken(_) => format!(
                        "the OAuth token from {} was refused: get a new one at \
                         https://oauth.yandex.com/authorize?response_type=token&client_id=1a6990aa636648e9b2ef855fa7bec2fb",
                        self.source.origin
                    ),
                    Credential::ServiceAccountKey(key) => format!(
                        "the service account key {} from {} was refused: check that the key and its \
                         service account {} still exist (`yc iam key list --service-account-id {}`)",
                        key.key_id(),
                        self.source.origin,
                        key.service_account_id(),
                        key.service_account_id()
                    ),
                    _ => format!(
                        "the IAM token from {} was refused: it is invalid, expired or revoked",
                        self.source.origin
                    ),
                });
                Error::Rejected(api)
            }
            other => other,
        }
    }

    /// Sends `method url` with `Authorization: Bearer <token>` and the given headers and body,
    /// and returns the answer whatever its status. Retries 429 always, and 500/503 and broken
    /// connections for idempotent methods. A 401 on a cached token renews it and tries once more.
    pub fn request(
        &self,
        method: &str,
        url: &str,
        headers: &[(String, String)],
        body: Option<&[u8]>,
    ) -> Result<Response> {
        let deadline = Deadline::after(self.timeout);
        let method = method.to_ascii_uppercase();
        let retry = match method.as_str() {
            "GET" | "HEAD" | "PUT" | "DELETE" | "OPTIONS" => Retry::Idempotent,
            _ => Retry::NotIdempotent,
        };
        let mut renewed = false;
        loop {
            let token = self.token_within(&deadline)?;
            let req = Request {
                method: &method,
                url,
                headers,
                bearer: Some(token.secret()),
                body,
                secret_body: false,
                retry,
                direct: false,
            };
            let resp = self.http.send(&req, &deadline)?;
            if resp.status == 401
                && !renewed
                && let Some(cache) = &self.cache
            {
                self.http
                    .log(|| "401 with a cached token: renewing it and trying once more".into());
                cache.forget(&token);
                if let Some(dir) = &self.cache_dir {
                    disk_cache::forget_token(dir, token.secret());
                }
                renewed = true;
                continue;
            }
            return Ok(Response {
                status: resp.status,
                reason: resp.reason,
                version: format!("{:?}", resp.version),
                headers: resp.headers,
                body: resp.body,
            });
        }
    }

    /// Revokes an IAM token (`tokens:revoke`) and drops it from this client's cache.
    /// Returns the id of the subject the token belonged to.
    pub fn revoke(&self, token: &Secret) -> Result<String> {
        let deadline = Deadline::after(self.timeout);
        let subject = api::revoke_token(&self.http, &self.endpoints.iam, token, &deadline)?;
        if let Some(cache) = &self.cache {
            cache.clear();
        }
        if let Some(dir) = &self.cache_dir {
            disk_cache::forget_token(dir, token);
        }
        Ok(subject)
    }

    /// Every cloud the account can see (all pages of the Resource Manager list call), as the
    /// API returns them.
    pub fn clouds(&self, page_size: Option<u32>) -> Result<Vec<serde_json::Value>> {
        let deadline = Deadline::after(self.timeout);
        let token = self.token_within(&deadline)?;
        api::list_clouds(
            &self.http,
            &self.endpoints.resource_manager,
            token.secret(),
            page_size,
            &deadline,
        )
        .map_err(|e| self.with_hint(e))
    }
}

/// The cache key of a credential at an IAM endpoint: a hash, never the secret itself.
fn key_of(credential: &Credential, iam: &str) -> cache::Key {
    cache::key(&[
        credential.kind().as_bytes(),
        &credential.identity(),
        iam.as_bytes(),
    ])
}

fn disk_for(dir: Option<&PathBuf>, key: &cache::Key) -> Option<DiskCache> {
    dir.map(|d| DiskCache::new(d.clone(), key))
}

/// Parses one `Name: value` header line, as `curl -H` takes it. Errors never echo the line
/// (it may hold a secret), only a name.
pub fn parse_header(line: &str) -> Result<(String, String)> {
    let (name, value) = line.split_once(':').ok_or_else(|| {
        Error::Usage("bad header: there is no ':' in it; write it as 'Name: value'".into())
    })?;
    let name = name.trim();
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(Error::Usage(format!(
            "bad header name {:?}: a name is one word of printable ASCII",
            name.chars().take(40).collect::<String>()
        )));
    }
    Ok((name.to_string(), value.trim().to_string()))
}

/// Parses a URL the way [`Client::request`] will, for early checks in front ends.
pub fn check_url(url: &str) -> Result<()> {
    http::parse_url(url).map(|_| ())
}
