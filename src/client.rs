//! The client: a credential, its token cache, and authorized requests.

use std::io::Read;
use std::sync::Arc;
use std::time::Duration;

use crate::api::{self, Exchange};
use crate::cache::{self, Outcome, TokenCache};
use crate::config::{Endpoints, Options};
use crate::credentials::{self, Credential, Source};
use crate::error::{Error, Result};
use crate::http::{self, Deadline, Http, Request, Retry};
use crate::secret::Secret;
use crate::token::IamToken;

/// Gets IAM tokens from one credential, caches and renews them, and makes authorized requests.
/// Cheap to share between threads (`&Client` is all a thread needs).
pub struct Client {
    http: Http,
    endpoints: Endpoints,
    source: Source,
    /// `None` with `no_cache`, and for a ready IAM token (nothing to renew).
    cache: Option<Arc<TokenCache>>,
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
        Self::with_env(options, &credentials::process_env)
    }

    pub(crate) fn with_env(options: Options, env: credentials::Env<'_>) -> Result<Client> {
        let endpoints = options.endpoints()?;
        let source = credentials::resolve(&options, env)?;
        let http = Http::new(options.ca_file.clone(), options.logger.clone());
        http.log(|| {
            format!(
                "credential: {} from {}",
                source.credential.kind(),
                source.origin
            )
        });
        let cache = match &source.credential {
            Credential::IamToken(_) => None,
            _ if options.no_cache => None,
            c => Some(cache::shared(cache::key(&[
                c.kind().as_bytes(),
                c.identity(),
                endpoints.iam.as_bytes(),
            ]))),
        };
        Ok(Client {
            http,
            endpoints,
            source,
            cache,
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
        let fetch = || self.fetch(deadline);
        let Some(cache) = &self.cache else {
            return fetch();
        };
        let (token, outcome) = cache.get(fetch)?;
        match outcome {
            Outcome::Cached => self.http.log(|| "token: from the in-process cache".into()),
            Outcome::Fetched => {}
            Outcome::StaleAfterError(e) => self
                .http
                .log(|| format!("token: refresh failed, still using the current token: {e}")),
        }
        Ok(token)
    }

    /// Obtains a new token from the credential, bypassing the cache.
    fn fetch(&self, deadline: &Deadline) -> Result<IamToken> {
        match &self.source.credential {
            Credential::IamToken(s) => Ok(IamToken::new(s.clone(), None)),
            Credential::OAuthToken(s) => api::create_token(
                &self.http,
                &self.endpoints.iam,
                Exchange::OAuth(s),
                deadline,
            )
            .map_err(|e| self.with_hint(e)),
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
                    Credential::IamToken(_) => format!(
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
            };
            let resp = self.http.send(&req, &deadline)?;
            if resp.status == 401
                && !renewed
                && let Some(cache) = &self.cache
            {
                self.http
                    .log(|| "401 with a cached token: renewing it and trying once more".into());
                cache.forget(&token);
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

/// Parses a URL the way [`Client::request`] will, for early checks in front ends.
pub fn check_url(url: &str) -> Result<()> {
    http::parse_url(url).map(|_| ())
}
