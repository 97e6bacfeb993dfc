//! The one error type: what failed, what the server said (message, request id) and what to do.

use std::fmt;
use std::io;
use std::time::Duration;

/// Result with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong. Every `Display` says what failed, what the server said
/// (message and request id) when it said something, and what to do next.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Error {
    /// An option, argument, URL or input file is unusable.
    Usage(String),
    /// No credential source applied; each line names a source and why it did not apply.
    NoCredential(Vec<String>),
    /// The credential was refused: 401/403 from any API, or any 4xx from the token exchange.
    Rejected(Box<ApiError>),
    /// An API answered with an error status (after retries where they apply).
    Api(Box<ApiError>),
    /// The server could not be reached, the connection broke, or TLS failed.
    Transport {
        /// What was being done, e.g. `POST https://iam.api.cloud.yandex.net/iam/v1/tokens`.
        what: String,
        /// What went wrong.
        detail: String,
        /// What to do about it.
        hint: String,
    },
    /// The time allowed for the whole operation (`--timeout`) ran out.
    Timeout {
        /// What was being done.
        what: String,
        /// The time that was allowed.
        after: Duration,
    },
    /// The server answered 2xx with a body that is not the expected response.
    BadResponse {
        /// What was being done.
        what: String,
        /// What is wrong with the answer.
        detail: String,
        /// The request id, if the server sent one.
        request_id: Option<String>,
    },
    /// A local file or stream could not be read or written.
    Io {
        /// Which file or stream, and what was being done to it.
        what: String,
        /// The kind of I/O error.
        kind: io::ErrorKind,
        /// The system's message.
        detail: String,
    },
}

/// An error answer from a Yandex Cloud API (a google.rpc.Status body, or an excerpt of a
/// body that was not one, e.g. an HTML page from a proxy).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ApiError {
    /// What was being done, e.g. `POST https://iam.api.cloud.yandex.net/iam/v1/tokens`.
    pub what: String,
    /// The HTTP status.
    pub status: u16,
    /// The gRPC code from the Status body, if the body was one.
    pub code: Option<i32>,
    /// The server's message, or a short excerpt of a body that was not a Status.
    pub message: String,
    /// The request id (from the Status details or the `x-request-id` header).
    pub request_id: Option<String>,
    /// How long the server asked us to wait (`Retry-After`), if it did.
    pub retry_after: Option<Duration>,
    /// How many attempts were made.
    pub attempts: u32,
    /// What to do next, in the caller's terms (set by whoever knows the credential).
    pub hint: Option<String>,
}

/// The names of gRPC codes, for messages.
fn grpc_code_name(code: i32) -> &'static str {
    match code {
        0 => "OK",
        1 => "CANCELLED",
        2 => "UNKNOWN",
        3 => "INVALID_ARGUMENT",
        4 => "DEADLINE_EXCEEDED",
        5 => "NOT_FOUND",
        6 => "ALREADY_EXISTS",
        7 => "PERMISSION_DENIED",
        8 => "RESOURCE_EXHAUSTED",
        9 => "FAILED_PRECONDITION",
        10 => "ABORTED",
        11 => "OUT_OF_RANGE",
        12 => "UNIMPLEMENTED",
        13 => "INTERNAL",
        14 => "UNAVAILABLE",
        15 => "DATA_LOSS",
        16 => "UNAUTHENTICATED",
        _ => "",
    }
}

impl ApiError {
    fn default_hint(&self) -> &'static str {
        match self.status {
            401 => "the credential is invalid, expired or revoked: get a new one",
            403 => "the account has no permission for this: check its roles",
            404 => "check the URL and the resource id",
            429 => "the API is throttling requests: wait a little and try again",
            500..=599 => {
                "the service or a proxy in between is failing: try again later, and give the request id to support if it persists"
            }
            _ => "check the request",
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} failed: HTTP {}", self.what, self.status)?;
        if let Some(code) = self.code {
            match grpc_code_name(code) {
                "" => write!(f, " (code {code})")?,
                name => write!(f, " {name}")?,
            }
        }
        if !self.message.is_empty() {
            write!(f, ": {}", self.message.trim_end_matches('.'))?;
        }
        if let Some(id) = &self.request_id {
            write!(f, " (request id {id})")?;
        }
        if self.attempts > 1 {
            write!(f, " after {} attempts", self.attempts)?;
        }
        let hint = self.hint.as_deref().unwrap_or_else(|| self.default_hint());
        write!(f, "; {hint}")
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Usage(msg) => f.write_str(msg),
            Error::NoCredential(tried) => {
                f.write_str("no credential found to get an IAM token. Looked at:")?;
                for line in tried {
                    write!(f, "\n  - {line}")?;
                }
                f.write_str(
                    "\nProvide one: a service account key (--sa-key-file FILE, option sa_key_file, or \
                     YC_SERVICE_ACCOUNT_KEY_FILE), a Yandex account's OAuth token (--oauth-token-file FILE, \
                     option oauth_token_file, or YC_OAUTH_TOKEN), a ready IAM token (YC_IAM_TOKEN), \
                     or run `yc init`.",
                )
            }
            Error::Rejected(api) | Error::Api(api) => api.fmt(f),
            Error::Transport { what, detail, hint } => {
                write!(f, "{what} failed: {detail}; {hint}")
            }
            Error::Timeout { what, after } => write!(
                f,
                "{what} did not finish within {:.1} s (--timeout); the server is slow or unreachable: \
                 check the network or allow more time with --timeout",
                after.as_secs_f64()
            ),
            Error::BadResponse {
                what,
                detail,
                request_id,
            } => {
                write!(
                    f,
                    "{what} failed: the server's answer is unusable: {detail}"
                )?;
                if let Some(id) = request_id {
                    write!(f, " (request id {id})")?;
                }
                f.write_str("; try again, and report it with the request id if it persists")
            }
            Error::Io { what, detail, .. } => write!(f, "{what}: {detail}"),
        }
    }
}

impl std::error::Error for Error {}

impl Error {
    /// The process exit code the CLI uses for this error (documented in README and `--help`).
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Usage(_) => exit::USAGE,
            Error::NoCredential(_) => exit::NO_CREDENTIAL,
            Error::Rejected(_) => exit::REJECTED,
            Error::Transport { .. } | Error::Timeout { .. } => exit::NETWORK,
            Error::Api(api) if api.status >= 500 || api.status == 429 => exit::SERVER,
            Error::Api(_) => exit::HTTP_ERROR,
            Error::BadResponse { .. } => exit::SERVER,
            Error::Io { .. } => exit::FAILURE,
        }
    }

    /// The API error behind this error, if the server answered with an error status.
    pub fn api(&self) -> Option<&ApiError> {
        match self {
            Error::Rejected(api) | Error::Api(api) => Some(api),
            _ => None,
        }
    }

    /// The server's request id, when there is one.
    pub fn request_id(&self) -> Option<&str> {
        match self {
            Error::Rejected(api) | Error::Api(api) => api.request_id.as_deref(),
            Error::BadResponse { request_id, .. } => request_id.as_deref(),
            _ => None,
        }
    }

    /// An I/O error on `what` (a file or stream and what was being done to it).
    pub fn io(what: impl Into<String>, err: &io::Error) -> Error {
        Error::Io {
            what: what.into(),
            kind: err.kind(),
            detail: err.to_string(),
        }
    }
}

/// Process exit codes of the `yciam` binary.
pub mod exit {
    /// Success.
    pub const OK: u8 = 0;
    /// Anything else: a local file or stream could not be written, an internal error.
    pub const FAILURE: u8 = 1;
    /// Bad usage or input: unknown flag, bad URL, unreadable or malformed input file.
    pub const USAGE: u8 = 2;
    /// No usable credential was found.
    pub const NO_CREDENTIAL: u8 = 3;
    /// The credential was rejected (401/403, or the token exchange refused it).
    pub const REJECTED: u8 = 4;
    /// Network or TLS failure, or the time allowed ran out.
    pub const NETWORK: u8 = 5;
    /// The server failed (5xx or throttling after retries, or an unusable answer).
    pub const SERVER: u8 = 6;
    /// The HTTP request succeeded but the server answered >= 400 (as curl `--fail-with-body`).
    pub const HTTP_ERROR: u8 = 22;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(status: u16) -> ApiError {
        ApiError {
            what: "POST https://iam.example/iam/v1/tokens".into(),
            status,
            code: Some(16),
            message: "OAuth token is invalid or expired".into(),
            request_id: Some("e38e71c3-1".into()),
            retry_after: None,
            attempts: 1,
            hint: None,
        }
    }

    #[test]
    fn api_error_says_what_server_said_and_what_to_do() {
        let s = Error::Rejected(Box::new(api(401))).to_string();
        assert_eq!(
            s,
            "POST https://iam.example/iam/v1/tokens failed: HTTP 401 UNAUTHENTICATED: \
             OAuth token is invalid or expired (request id e38e71c3-1); \
             the credential is invalid, expired or revoked: get a new one"
        );
    }

    #[test]
    fn exit_codes_are_distinct_per_kind() {
        assert_eq!(Error::Rejected(Box::new(api(401))).exit_code(), 4);
        assert_eq!(Error::Api(Box::new(api(503))).exit_code(), 6);
        assert_eq!(Error::Api(Box::new(api(404))).exit_code(), 22);
        assert_eq!(Error::Usage("x".into()).exit_code(), 2);
        assert_eq!(Error::NoCredential(vec![]).exit_code(), 3);
    }
}
