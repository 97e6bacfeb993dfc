//! The C ABI (`include/yciam.h`): opaque clients, fixed status codes and per-thread errors; it only translates.
#![allow(non_camel_case_types)]

use std::any::Any;
use std::cell::RefCell;
use std::ffi::{CStr, c_char};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Mutex, PoisonError};

use crate::error::{Error, Result};
use crate::{Client, Options, Secret, unix_seconds};

/// The most of a response body `yciam_client_request` reads into memory: 64 MiB.
const MAX_RESPONSE_BODY: u64 = 64 * 1024 * 1024;

/// A client: one credential, its token cache and authorized requests.
///
/// Made by `yciam_client_new`, released by `yciam_client_free`. One client may be used
/// from many threads at once; every client of one credential in the process shares one
/// token cache.
pub struct yciam_client {
    _private: [u8; 0],
}

/// What a call did. The values are fixed: new ones may be added, none is ever renumbered
/// or reused. `yciam_status_name` gives the name of each, and after any failure
/// `yciam_last_error_message` says what failed and what to do.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum yciam_status {
    /// Success.
    Ok = 0,
    /// An argument is unusable: a NULL pointer, text that is not UTF-8, bad options JSON or
    /// an unknown option, a bad URL or header, an unreadable token file.
    InvalidArgument = 1,
    /// No credential source applied (the message lists every source looked at).
    NoCredential = 2,
    /// The credential was refused (HTTP 401/403, or the token exchange refused it).
    CredentialRejected = 3,
    /// The server could not be reached, the connection broke, or TLS failed.
    Network = 4,
    /// The time allowed for the call (the `timeout_seconds` option, 30 s by default) ran out.
    Timeout = 5,
    /// The server failed: HTTP 429 or 5xx, after retries.
    Server = 6,
    /// An API answered with another error status (e.g. 400 or 404).
    HttpError = 7,
    /// The server answered with a body that is not the expected response.
    BadResponse = 8,
    /// A local file or stream could not be read or written, or memory ran out.
    Io = 9,
    /// An internal error (a bug in yciam) was caught before it could cross into C.
    Panic = 10,
}

/// Every status, for `yciam_status_name`.
const ALL_STATUSES: [yciam_status; 11] = [
    yciam_status::Ok,
    yciam_status::InvalidArgument,
    yciam_status::NoCredential,
    yciam_status::CredentialRejected,
    yciam_status::Network,
    yciam_status::Timeout,
    yciam_status::Server,
    yciam_status::HttpError,
    yciam_status::BadResponse,
    yciam_status::Io,
    yciam_status::Panic,
];

impl yciam_status {
    fn name(self) -> &'static CStr {
        match self {
            yciam_status::Ok => c"YCIAM_STATUS_OK",
            yciam_status::InvalidArgument => c"YCIAM_STATUS_INVALID_ARGUMENT",
            yciam_status::NoCredential => c"YCIAM_STATUS_NO_CREDENTIAL",
            yciam_status::CredentialRejected => c"YCIAM_STATUS_CREDENTIAL_REJECTED",
            yciam_status::Network => c"YCIAM_STATUS_NETWORK",
            yciam_status::Timeout => c"YCIAM_STATUS_TIMEOUT",
            yciam_status::Server => c"YCIAM_STATUS_SERVER",
            yciam_status::HttpError => c"YCIAM_STATUS_HTTP_ERROR",
            yciam_status::BadResponse => c"YCIAM_STATUS_BAD_RESPONSE",
            yciam_status::Io => c"YCIAM_STATUS_IO",
            yciam_status::Panic => c"YCIAM_STATUS_PANIC",
        }
    }

    /// The status a core error maps to.
    fn of(err: &Error) -> yciam_status {
        match err {
            Error::Usage(_) => yciam_status::InvalidArgument,
            Error::NoCredential(_) => yciam_status::NoCredential,
            Error::Rejected(_) => yciam_status::CredentialRejected,
            Error::Transport { .. } => yciam_status::Network,
            Error::Timeout { .. } => yciam_status::Timeout,
            Error::Api(api) if api.status == 429 || api.status >= 500 => yciam_status::Server,
            Error::Api(_) => yciam_status::HttpError,
            Error::BadResponse { .. } => yciam_status::BadResponse,
            Error::Io { .. } => yciam_status::Io,
        }
    }
}

/// What a `yciam_client` points at.
struct ClientHandle {
    client: Client,
    /// The message of the last failure on this client, from any thread.
    last_error: Mutex<Option<String>>,
}

impl ClientHandle {
    /// # Safety
    /// `ptr` is NULL or came from `yciam_client_new` and was not freed.
    unsafe fn from_ptr<'a>(ptr: *const yciam_client) -> Option<&'a ClientHandle> {
        // SAFETY: the caller's promise; a yciam_client pointer is a boxed ClientHandle.
        unsafe { ptr.cast::<ClientHandle>().as_ref() }
    }
}

/// The last failure on one thread.
struct LastError {
    message: String,
    request_id: Option<String>,
    http_status: u16,
}

thread_local! {
    static LAST_ERROR: RefCell<Option<LastError>> = const { RefCell::new(None) };
}

fn set_last_error(e: Option<LastError>) {
    // During thread teardown the slot may be gone; there is nobody left to read it then.
    let _ = LAST_ERROR.try_with(|slot| *slot.borrow_mut() = e);
}

fn with_last_error<T>(f: impl FnOnce(&LastError) -> Option<T>) -> Option<T> {
    LAST_ERROR
        .try_with(|slot| slot.borrow().as_ref().and_then(f))
        .ok()
        .flatten()
}

/// Records `err` as this thread's (and `client`'s) last error and returns its status.
fn fail(err: &Error, client: Option<&ClientHandle>) -> yciam_status {
    let message = err.to_string();
    if let Some(handle) = client {
        *handle
            .last_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(message.clone());
    }
    set_last_error(Some(LastError {
        message,
        request_id: err.request_id().map(str::to_string),
        http_status: err.api().map_or(0, |api| api.status),
    }));
    yciam_status::of(err)
}

/// Records a caught panic as this thread's last error.
fn panicked(payload: &(dyn Any + Send)) {
    let what = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)");
    set_last_error(Some(LastError {
        message: format!(
            "internal error in yciam {}: {what}; please report it",
            env!("CARGO_PKG_VERSION")
        ),
        request_id: None,
        http_status: 0,
    }));
}

/// What an export returns when its body panicked.
trait OnPanic {
    fn on_panic() -> Self;
}

impl OnPanic for yciam_status {
    fn on_panic() -> Self {
        yciam_status::Panic
    }
}

impl<T> OnPanic for *mut T {
    fn on_panic() -> Self {
        std::ptr::null_mut()
    }
}

impl<T> OnPanic for *const T {
    fn on_panic() -> Self {
        std::ptr::null()
    }
}

impl OnPanic for u16 {
    fn on_panic() -> Self {
        0
    }
}

impl OnPanic for () {
    fn on_panic() -> Self {}
}

/// The one panic boundary: every export's body runs inside it, so no panic crosses into C.
///
/// `ffi_boundary!(status client => handle, { ... })` is for calls that return a
/// `yciam_status`: it clears this thread's last error, resolves `client` (may be NULL) to
/// `handle: Option<&ClientHandle>`, runs the body (a `Result<()>`) and turns an error into
/// its status, recording the message for the thread and the client.
/// `ffi_boundary!({ ... })` is for the rest: the body's value, or a NULL/0 on a panic.
macro_rules! ffi_boundary {
    (status $body:block) => {
        ffi_boundary!(status std::ptr::null::<yciam_client>() => _no_client, $body)
    };
    (status $client:expr => $handle:ident, $body:block) => {{
        clear_last_error();
        // SAFETY: NULL or a live client: the caller's promise, stated in every `# Safety`.
        let $handle: Option<&ClientHandle> = unsafe { ClientHandle::from_ptr($client) };
        match catch_unwind(AssertUnwindSafe(|| -> Result<()> { $body })) {
            Ok(Ok(())) => yciam_status::Ok,
            Ok(Err(err)) => fail(&err, $handle),
            Err(payload) => {
                panicked(payload.as_ref());
                yciam_status::Panic
            }
        }
    }};
    ($body:block) => {
        match catch_unwind(AssertUnwindSafe(|| $body)) {
            Ok(value) => value,
            Err(payload) => {
                panicked(payload.as_ref());
                OnPanic::on_panic()
            }
        }
    };
}

fn clear_last_error() {
    set_last_error(None);
}

fn null_argument(name: &str) -> Error {
    Error::Usage(format!("the argument {name} is NULL"))
}

/// A required pointer argument as a reference (`ref`) or a mutable reference (`mut`), or
/// an INVALID_ARGUMENT error naming it. Must be used inside `ffi_boundary!(status ...)`.
macro_rules! arg {
    (ref $ptr:ident) => {
        // SAFETY: NULL or valid for reads: the caller's promise, stated in every `# Safety`.
        unsafe { $ptr.as_ref() }.ok_or_else(|| null_argument(stringify!($ptr)))?
    };
    (mut $ptr:ident) => {
        // SAFETY: NULL or valid for writes: the caller's promise, stated in every `# Safety`.
        unsafe { $ptr.as_mut() }.ok_or_else(|| null_argument(stringify!($ptr)))?
    };
    (str $ptr:ident) => {{
        if $ptr.is_null() {
            return Err(null_argument(stringify!($ptr)));
        }
        // SAFETY: not NULL, and a NUL-terminated string: the caller's promise.
        let text = unsafe { CStr::from_ptr($ptr) };
        text.to_str().map_err(|_| {
            Error::Usage(format!(
                "the argument {} is not valid UTF-8",
                stringify!($ptr)
            ))
        })?
    }};
}

/// A copy of `bytes` followed by a NUL, in memory from `malloc` (freed by `yciam_string_free`).
fn malloc_string(bytes: &[u8]) -> Result<*mut c_char> {
    // SAFETY: malloc of a non-zero size; the result is checked for NULL before use.
    let ptr = unsafe { libc::malloc(bytes.len() + 1) }.cast::<u8>();
    if ptr.is_null() {
        return Err(Error::Io {
            what: "allocating memory for the result".into(),
            kind: std::io::ErrorKind::OutOfMemory,
            detail: format!("{} bytes are not available", bytes.len() + 1),
        });
    }
    // SAFETY: ptr holds bytes.len() + 1 bytes and does not overlap `bytes`.
    unsafe {
        std::ptr::copy_nonoverlapping(bytes.as_ptr(), ptr, bytes.len());
        *ptr.add(bytes.len()) = 0;
    }
    Ok(ptr.cast())
}

/// `malloc_string` for the getters, which have no status to fail with: NULL when memory
/// ran out.
fn malloc_string_or_null(text: Option<&str>) -> *mut c_char {
    text.and_then(|t| malloc_string(t.as_bytes()).ok())
        .unwrap_or(std::ptr::null_mut())
}

/// "Name: value" lines separated by `\n` (a `\r` before it and empty lines are ignored).
fn header_lines(text: &str) -> Result<Vec<(String, String)>> {
    let mut headers = Vec::new();
    for line in text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l)) {
        if line.trim().is_empty() {
            continue;
        }
        let (name, value) = crate::parse_header(line)?;
        if name.eq_ignore_ascii_case("authorization") {
            return Err(Error::Usage(
                "do not give an Authorization header: yciam sends its own".into(),
            ));
        }
        headers.push((name, value));
    }
    Ok(headers)
}

/// The version of the library, e.g. "0.1.0". A static string: do not free it.
#[unsafe(no_mangle)]
pub extern "C" fn yciam_version() -> *const c_char {
    ffi_boundary!({
        const VERSION: &CStr =
            match CStr::from_bytes_with_nul(concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes()) {
                Ok(v) => v,
                Err(_) => c"unknown",
            };
        VERSION.as_ptr()
    })
}

/// The name of a status, e.g. "YCIAM_STATUS_NETWORK" ("YCIAM_STATUS_UNKNOWN" for a value
/// this version does not know). Takes any value of `yciam_status`. A static string: do not
/// free it.
#[unsafe(no_mangle)]
pub extern "C" fn yciam_status_name(status: u32) -> *const c_char {
    ffi_boundary!({
        ALL_STATUSES
            .iter()
            .find(|s| **s as u32 == status)
            .map_or(c"YCIAM_STATUS_UNKNOWN", |s| s.name())
            .as_ptr()
    })
}

/// Makes a client.
///
/// `options_json` is NULL or a JSON object whose keys are the CLI's long options in
/// snake_case. The credential, at most one of: `oauth_token`, `oauth_token_file`,
/// `iam_token`, `sa_key_file`, `sa_key_json` (the key object, or a string holding it),
/// `metadata` (true) or `profile` (a yc CLI profile name); with none, the default chain
/// applies (`YC_IAM_TOKEN`, `YC_SERVICE_ACCOUNT_KEY_FILE`, `YC_OAUTH_TOKEN`, `YC_TOKEN`,
/// the yc profile, the metadata service, the yc CLI). The rest: `endpoint`,
/// `iam_endpoint`, `resource_manager_endpoint`, `ca_file`, `timeout_seconds` (a number),
/// `no_cache` (a boolean), `cache_dir`, `metadata_addr`. An unknown key is an error. The
/// same environment variables as the CLI's apply where the JSON is silent.
///
/// On success `*client_out` is a new client, to be released with `yciam_client_free`.
/// Gets no token yet; only when the default chain gets as far as the metadata service does
/// it ask that service (for a second at most).
///
/// # Safety
/// `options_json` is NULL or a NUL-terminated string; `client_out` is valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yciam_client_new(
    options_json: *const c_char,
    client_out: *mut *mut yciam_client,
) -> yciam_status {
    ffi_boundary!(status {
        let client_out = arg!(mut client_out);
        let options = if options_json.is_null() {
            Options::from_env()
        } else {
            Options::from_json(arg!(str options_json))?
        };
        let handle = ClientHandle {
            client: Client::new(options)?,
            last_error: Mutex::new(None),
        };
        *client_out = Box::into_raw(Box::new(handle)).cast();
        Ok(())
    })
}

/// Releases a client. NULL is fine. The client must not be in use by another thread.
///
/// # Safety
/// `client` is NULL or came from `yciam_client_new` and was not freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yciam_client_free(client: *mut yciam_client) {
    ffi_boundary!({
        if !client.is_null() {
            // SAFETY: a boxed ClientHandle from yciam_client_new, freed once (caller's promise).
            drop(unsafe { Box::from_raw(client.cast::<ClientHandle>()) });
        }
    })
}

/// An IAM token: from the cache while fresh, else newly obtained (one request however many
/// threads ask at once).
///
/// On success `*token_out` is the token (free it with `yciam_string_free`) and, unless
/// `expires_at_out` is NULL, `*expires_at_out` is its expiry in Unix seconds (0 when
/// unknown, e.g. for a given IAM token).
///
/// # Safety
/// `client` is NULL or a live client; `token_out` is valid for writes; `expires_at_out` is
/// NULL or valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yciam_client_token(
    client: *const yciam_client,
    token_out: *mut *mut c_char,
    expires_at_out: *mut i64,
) -> yciam_status {
    ffi_boundary!(status client => handle, {
        let handle = handle.ok_or_else(|| null_argument("client"))?;
        let token_out = arg!(mut token_out);
        let token = handle.client.token()?;
        let text = malloc_string(token.expose().as_bytes())?;
        *token_out = text;
        // SAFETY: NULL or valid for writes (caller's promise).
        if let Some(expires_at) = unsafe { expires_at_out.as_mut() } {
            *expires_at = token.expires_at().map_or(0, unix_seconds);
        }
        Ok(())
    })
}

/// Sends `method url` with `Authorization: Bearer <IAM token>`, the given headers and body,
/// and reads the whole answer (at most 64 MiB). Any HTTP status is a success:
/// `*status_out` tells it. Retries 429 always, and 500/503 and broken connections for
/// idempotent methods; a 401 on a cached token renews the token and tries once more.
///
/// `headers` is NULL or "Name: value" lines separated by `\n` (no Authorization header:
/// yciam sends its own). `body` is NULL for no body, else `body_len` bytes.
///
/// On success `*status_out` is the HTTP status, `*body_out` the body followed by a NUL
/// (free it with `yciam_string_free`; the body itself may hold NULs) and `*body_len_out`
/// its length without that NUL.
///
/// # Safety
/// `client` is NULL or a live client; `method`, `url` and `headers` are NULL or
/// NUL-terminated strings; `body` is NULL or valid for reads of `body_len` bytes;
/// `status_out`, `body_out` and `body_len_out` are valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yciam_client_request(
    client: *const yciam_client,
    method: *const c_char,
    url: *const c_char,
    headers: *const c_char,
    body: *const u8,
    body_len: usize,
    status_out: *mut u16,
    body_out: *mut *mut c_char,
    body_len_out: *mut usize,
) -> yciam_status {
    ffi_boundary!(status client => handle, {
        let handle = handle.ok_or_else(|| null_argument("client"))?;
        let method = arg!(str method);
        let url = arg!(str url);
        let headers = if headers.is_null() {
            Vec::new()
        } else {
            header_lines(arg!(str headers))?
        };
        let body = if body.is_null() {
            if body_len != 0 {
                return Err(Error::Usage(format!(
                    "the argument body is NULL but body_len is {body_len}"
                )));
            }
            None
        } else {
            // SAFETY: valid for reads of body_len bytes (caller's promise).
            Some(unsafe { std::slice::from_raw_parts(body, body_len) })
        };
        let status_out = arg!(mut status_out);
        let body_out = arg!(mut body_out);
        let body_len_out = arg!(mut body_len_out);
        let response = handle.client.request(method, url, &headers, body)?;
        let status = response.status;
        let bytes = response.into_bytes(MAX_RESPONSE_BODY)?;
        let text = malloc_string(&bytes)?;
        *status_out = status;
        *body_out = text;
        *body_len_out = bytes.len();
        Ok(())
    })
}

/// Revokes an IAM token (`tokens:revoke`) and drops the client's cached token. On success
/// `*subject_id_out` is the id of the user or service account the token belonged to (free
/// it with `yciam_string_free`).
///
/// # Safety
/// `client` is NULL or a live client; `iam_token` is NULL or a NUL-terminated string;
/// `subject_id_out` is valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yciam_client_revoke(
    client: *const yciam_client,
    iam_token: *const c_char,
    subject_id_out: *mut *mut c_char,
) -> yciam_status {
    ffi_boundary!(status client => handle, {
        let handle = handle.ok_or_else(|| null_argument("client"))?;
        let token = Secret::from_text("the argument iam_token", arg!(str iam_token))?;
        let subject_id_out = arg!(mut subject_id_out);
        let subject = handle.client.revoke(&token)?;
        *subject_id_out = malloc_string(subject.as_bytes())?;
        Ok(())
    })
}

/// Frees a string the library returned. NULL is fine.
///
/// # Safety
/// `s` is NULL or a string returned by this library and not yet freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yciam_string_free(s: *mut c_char) {
    ffi_boundary!({
        // SAFETY: NULL or from libc::malloc in malloc_string (caller's promise).
        unsafe { libc::free(s.cast()) }
    })
}

/// The message of the last failed call on this thread: what failed, what the server said
/// (its message and request id), and what to do. NULL when the last call on this thread
/// succeeded. Never holds a token. Free it with `yciam_string_free`.
///
/// Reading it (and the other `yciam_last_error_` values) does not clear it.
#[unsafe(no_mangle)]
pub extern "C" fn yciam_last_error_message() -> *mut c_char {
    ffi_boundary!({
        malloc_string_or_null(with_last_error(|e| Some(e.message.clone())).as_deref())
    })
}

/// The server's request id of the last failed call on this thread, or NULL when there is
/// none. Free it with `yciam_string_free`.
#[unsafe(no_mangle)]
pub extern "C" fn yciam_last_error_request_id() -> *mut c_char {
    ffi_boundary!({ malloc_string_or_null(with_last_error(|e| e.request_id.clone()).as_deref()) })
}

/// The HTTP status of the last failed call on this thread when the server answered with an
/// error status, else 0.
#[unsafe(no_mangle)]
pub extern "C" fn yciam_last_error_http_status() -> u16 {
    ffi_boundary!({ with_last_error(|e| Some(e.http_status)).unwrap_or(0) })
}

/// The message of the last failed call on this client, from any thread (a later success
/// does not clear it), or NULL when none failed. Free it with `yciam_string_free`.
///
/// # Safety
/// `client` is NULL or a live client.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn yciam_client_last_error_message(
    client: *const yciam_client,
) -> *mut c_char {
    ffi_boundary!({
        // SAFETY: NULL or a live client (caller's promise).
        let Some(handle) = (unsafe { ClientHandle::from_ptr(client) }) else {
            return std::ptr::null_mut();
        };
        let message = handle
            .last_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        malloc_string_or_null(message.as_deref())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn last_message() -> Option<String> {
        let ptr = yciam_last_error_message();
        if ptr.is_null() {
            return None;
        }
        // SAFETY: a NUL-terminated string from malloc_string.
        let text = unsafe { CStr::from_ptr(ptr) }
            .to_string_lossy()
            .into_owned();
        // SAFETY: from malloc_string, freed once.
        unsafe { yciam_string_free(ptr) };
        Some(text)
    }

    #[test]
    fn a_panic_becomes_the_panic_status_with_a_message() {
        let status = ffi_boundary!(status {
            if std::hint::black_box(true) {
                panic!("boom");
            }
            Ok(())
        });
        assert_eq!(status, yciam_status::Panic);
        let message = last_message().unwrap();
        assert!(
            message.contains("internal error") && message.contains("boom"),
            "{message}"
        );
        let null: *mut c_char = ffi_boundary!({
            if std::hint::black_box(true) {
                panic!("boom");
            }
            c"x".as_ptr().cast_mut()
        });
        assert!(null.is_null());
    }

    #[test]
    fn every_status_has_its_own_name_and_value() {
        for (i, s) in ALL_STATUSES.iter().enumerate() {
            assert_eq!(*s as u32, i as u32);
            // SAFETY: a static NUL-terminated string.
            let name = unsafe { CStr::from_ptr(yciam_status_name(i as u32)) };
            assert_eq!(name, s.name());
        }
        // SAFETY: a static NUL-terminated string.
        let unknown = unsafe { CStr::from_ptr(yciam_status_name(11)) };
        assert_eq!(unknown, c"YCIAM_STATUS_UNKNOWN");
    }

    #[test]
    fn header_lines_skip_blanks_and_refuse_authorization() {
        let h = header_lines("A: 1\r\n\nB:two words \n").unwrap();
        assert_eq!(
            h,
            vec![("A".into(), "1".into()), ("B".into(), "two words".into())]
        );
        assert!(header_lines("no colon").is_err());
        assert!(header_lines("bad name: x").is_err());
        assert!(header_lines("authorization: Bearer x").is_err());
    }
}
