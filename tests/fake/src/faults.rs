//! Routes that can be counted and faulted, the faults themselves, their JSON form
//! (for `POST /_fake/faults`) and the responses they produce.

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use hyper::body::{Body, Frame, SizeHint};
use serde_json::Value;

/// The API routes the fake counts, records and can inject faults into.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Route {
    /// `POST /iam/v1/tokens` (control name `create_token`).
    CreateToken,
    /// `POST /iam/v1/tokens:revoke` (`revoke`).
    Revoke,
    /// `GET /resource-manager/v1/clouds` (`list_clouds`).
    ListClouds,
    /// `GET /computeMetadata/v1/instance/service-accounts/default/token` (`metadata`).
    Metadata,
    /// `ANY /test/v1/echo` (`echo`).
    Echo,
    /// Everything else except the `/_fake/` control routes, e.g. `/test/v1/status/<code>`
    /// and unknown paths (`other`).
    Other,
}

impl Route {
    /// Every route, in a fixed order.
    pub const ALL: [Route; 6] = [
        Route::CreateToken,
        Route::Revoke,
        Route::ListClouds,
        Route::Metadata,
        Route::Echo,
        Route::Other,
    ];

    /// The snake_case name used by the control routes, e.g. `"create_token"`.
    pub fn name(self) -> &'static str {
        match self {
            Route::CreateToken => "create_token",
            Route::Revoke => "revoke",
            Route::ListClouds => "list_clouds",
            Route::Metadata => "metadata",
            Route::Echo => "echo",
            Route::Other => "other",
        }
    }

    /// Inverse of [`Route::name`].
    pub fn from_name(name: &str) -> Option<Route> {
        Route::ALL.into_iter().find(|r| r.name() == name)
    }

    /// Which route a request path belongs to; `None` for the `/_fake/` control routes.
    pub fn for_path(path: &str) -> Option<Route> {
        match path {
            p if p == "/_fake" || p.starts_with("/_fake/") => None,
            "/iam/v1/tokens" => Some(Route::CreateToken),
            "/iam/v1/tokens:revoke" => Some(Route::Revoke),
            "/resource-manager/v1/clouds" => Some(Route::ListClouds),
            crate::routes::METADATA_TOKEN_PATH => Some(Route::Metadata),
            "/test/v1/echo" => Some(Route::Echo),
            _ => Some(Route::Other),
        }
    }
}

/// A misbehaviour injected into the next request to a route
/// (see [`crate::FakeServer::push_fault`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Answer `http` with a google.rpc.Status body `{"code":grpc,"message":message,"details":[RequestInfo]}`.
    Status {
        /// HTTP status, e.g. 503.
        http: u16,
        /// gRPC code, e.g. 14 (UNAVAILABLE).
        grpc: i32,
        /// The Status message.
        message: String,
    },
    /// 429 with code 8 RESOURCE_EXHAUSTED and a `Retry-After: <seconds>` header.
    RetryAfter {
        /// Value of the `Retry-After` header.
        seconds: u64,
    },
    /// Read the request, send nothing for this long, then close the connection (FIN).
    Stall(Duration),
    /// Read the request, then reset the TCP connection (SO_LINGER 0 + close: an RST).
    Reset,
    /// 200 `application/json` whose body is cut off: `{"iamToken":"t1.abc`
    /// (Content-Length matches what is sent).
    TruncatedJson,
    /// 200 `application/json` body of exactly `bytes` bytes (a valid JSON object
    /// `{"padding":"aaa…"}` when `bytes >= 14`), streamed in 64 KiB chunks.
    Huge {
        /// Body size in bytes.
        bytes: usize,
    },
    /// An nginx-style `text/html` error page with this status, as a proxy sends (502, 504…).
    Html {
        /// HTTP status.
        status: u16,
    },
    /// 200 with `Content-Type: application/json` but 256 random bytes that are not JSON.
    Garbage,
}

impl Fault {
    /// Parses the control-route form, e.g. `{"kind":"status","http":503,"grpc":14,"message":"..."}`.
    /// Kinds: `status` {http, grpc, message?}, `retry_after` {seconds}, `stall` {ms},
    /// `reset`, `truncated_json`, `huge` {bytes}, `html` {status}, `garbage`.
    pub fn from_json(v: &Value) -> Result<Fault, String> {
        let obj = v.as_object().ok_or("fault must be a JSON object")?;
        let kind = obj
            .get("kind")
            .and_then(Value::as_str)
            .ok_or("fault needs a string 'kind'")?;
        let uint = |name: &str| -> Result<u64, String> {
            obj.get(name)
                .and_then(Value::as_u64)
                .ok_or_else(|| format!("fault kind '{kind}' needs a non-negative integer '{name}'"))
        };
        let status_code = |name: &str| -> Result<u16, String> {
            let v = uint(name)?;
            if (100..=599).contains(&v) {
                Ok(v as u16)
            } else {
                Err(format!("'{name}' must be an HTTP status (100-599)"))
            }
        };
        Ok(match kind {
            "status" => Fault::Status {
                http: status_code("http")?,
                grpc: obj
                    .get("grpc")
                    .and_then(Value::as_i64)
                    .and_then(|g| i32::try_from(g).ok())
                    .ok_or("fault kind 'status' needs an integer 'grpc'")?,
                message: obj
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or("Injected fault")
                    .to_string(),
            },
            "retry_after" => Fault::RetryAfter {
                seconds: uint("seconds")?,
            },
            "stall" => Fault::Stall(Duration::from_millis(uint("ms")?)),
            "reset" => Fault::Reset,
            "truncated_json" => Fault::TruncatedJson,
            "huge" => Fault::Huge {
                bytes: usize::try_from(uint("bytes")?).map_err(|_| "'bytes' is too large")?,
            },
            "html" => Fault::Html {
                status: status_code("status")?,
            },
            "garbage" => Fault::Garbage,
            other => return Err(format!("unknown fault kind '{other}'")),
        })
    }
}

/// The reason phrase nginx prints for a status.
pub(crate) fn reason_phrase(status: u16) -> &'static str {
    hyper::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Error")
}

/// An nginx-like HTML error page.
pub(crate) fn html_page(status: u16) -> String {
    let title = format!("{status} {}", reason_phrase(status));
    format!(
        "<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
    )
}

/// 256 random bytes that cannot parse as JSON or UTF-8 (they start with 0xFF 0xFE).
pub(crate) fn garbage() -> Vec<u8> {
    let mut b = crate::util::random_bytes(256);
    b[0] = 0xff;
    b[1] = 0xfe;
    b
}

/// The cut-off token response.
pub(crate) const TRUNCATED_JSON: &str = "{\"iamToken\":\"t1.abc";

const CHUNK: usize = 64 * 1024;
static PADDING: [u8; CHUNK] = [b'a'; CHUNK];
const HUGE_PREFIX: &[u8] = b"{\"padding\":\"";
const HUGE_SUFFIX: &[u8] = b"\"}";

/// A streamed body of an exact size that never holds more than one chunk in memory.
pub(crate) struct HugeBody {
    total: usize,
    sent: usize,
}

impl HugeBody {
    pub(crate) fn new(total: usize) -> Self {
        HugeBody { total, sent: 0 }
    }

    fn byte_at(&self, i: usize) -> u8 {
        let framed = self.total >= HUGE_PREFIX.len() + HUGE_SUFFIX.len();
        if framed && i < HUGE_PREFIX.len() {
            HUGE_PREFIX[i]
        } else if framed && i >= self.total - HUGE_SUFFIX.len() {
            HUGE_SUFFIX[i - (self.total - HUGE_SUFFIX.len())]
        } else {
            b'a'
        }
    }
}

impl Body for HugeBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let remaining = self.total - self.sent;
        if remaining == 0 {
            return Poll::Ready(None);
        }
        let n = remaining.min(CHUNK);
        let start = self.sent;
        let plain_middle =
            start >= HUGE_PREFIX.len() && start + n <= self.total.saturating_sub(HUGE_SUFFIX.len());
        let chunk = if plain_middle {
            Bytes::from_static(&PADDING[..n])
        } else {
            Bytes::from(
                (start..start + n)
                    .map(|i| self.byte_at(i))
                    .collect::<Vec<u8>>(),
            )
        };
        self.sent += n;
        Poll::Ready(Some(Ok(Frame::data(chunk))))
    }

    fn is_end_stream(&self) -> bool {
        self.sent == self.total
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact((self.total - self.sent) as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    #[test]
    fn fault_json_round_trip() {
        let f = Fault::from_json(
            &serde_json::json!({"kind":"status","http":503,"grpc":14,"message":"m"}),
        );
        assert_eq!(
            f,
            Ok(Fault::Status {
                http: 503,
                grpc: 14,
                message: "m".into()
            })
        );
        assert_eq!(
            Fault::from_json(&serde_json::json!({"kind":"stall","ms":1500})),
            Ok(Fault::Stall(Duration::from_millis(1500)))
        );
        assert!(Fault::from_json(&serde_json::json!({"kind":"html","status":42})).is_err());
        assert!(Fault::from_json(&serde_json::json!({"kind":"nope"})).is_err());
        assert!(Fault::from_json(&serde_json::json!("reset")).is_err());
        for r in Route::ALL {
            assert_eq!(Route::from_name(r.name()), Some(r));
        }
    }

    fn collect(total: usize) -> Vec<u8> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(async {
            HugeBody::new(total)
                .collect()
                .await
                .unwrap()
                .to_bytes()
                .to_vec()
        })
    }

    #[test]
    fn huge_body_is_exact_and_valid_json() {
        for total in [0, 5, 14, 15, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK + 7] {
            let body = collect(total);
            assert_eq!(body.len(), total);
            if total >= 14 {
                let v: Value = serde_json::from_slice(&body).unwrap();
                assert_eq!(v["padding"].as_str().unwrap().len(), total - 14);
            }
        }
    }
}
