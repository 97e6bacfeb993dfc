"""`Client`: one credential, its shared token cache and authorized requests (a thin layer
over the C API; the work happens in the native library)."""

from __future__ import annotations

import ctypes
import datetime as _dt
import json as _json
import os
import threading
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional, Type, Union

from . import _native
from .errors import Error, InvalidArgumentError, Status, error_for

Body = Union[bytes, bytearray, memoryview, str]


@dataclass(frozen=True)
class TokenInfo:
    """An IAM token and when it expires (`None` when unknown, e.g. a given IAM token).
    Its repr never shows the token."""

    token: str = field(repr=False)
    expires_at: Optional[_dt.datetime]


@dataclass(frozen=True)
class Response:
    """The answer to `Client.request`: any HTTP status, and the whole body."""

    status: int
    body: bytes = field(repr=False)

    @property
    def text(self) -> str:
        """The body decoded as UTF-8 (invalid bytes replaced)."""
        return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        """The body parsed as JSON."""
        return _json.loads(self.body)

    @property
    def ok(self) -> bool:
        """Whether the status is 2xx."""
        return 200 <= self.status < 300


def _last_error(lib: ctypes.CDLL, status: int) -> Error:
    """The exception for a failed call, from this thread's last error."""
    message = _native.take_string(lib, lib.yciam_last_error_message())
    request_id = _native.take_string(lib, lib.yciam_last_error_request_id())
    http_status = lib.yciam_last_error_http_status()
    text = message.decode("utf-8", errors="replace") if message else f"yciam failed: {status}"
    return error_for(
        status,
        text,
        request_id.decode("utf-8", errors="replace") if request_id else None,
        http_status or None,
    )


def _check(lib: ctypes.CDLL, status: int) -> None:
    if status != Status.OK:
        raise _last_error(lib, status)


def _text_arg(name: str, value: str) -> bytes:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, not {type(value).__name__}")
    return value.encode("utf-8")


def _options_json(options: Mapping[str, Any]) -> Optional[bytes]:
    """The options as the C API's JSON (None: the default chain, environment only)."""
    if not options:
        return None
    plain = {k: os.fspath(v) if isinstance(v, os.PathLike) else v for k, v in options.items()}
    return _json.dumps(plain).encode("utf-8")


def _header_lines(headers: Optional[Mapping[str, str]]) -> Optional[bytes]:
    if not headers:
        return None
    lines = []
    for name, value in headers.items():
        if any(c in f"{name}{value}" for c in "\r\n\0"):
            raise InvalidArgumentError(
                Status.INVALID_ARGUMENT, f"header {name!r} holds a line break or NUL"
            )
        lines.append(f"{name}: {value}")
    return "\n".join(lines).encode("utf-8")


class Client:
    """Gets IAM tokens from one credential, caches and renews them, and makes authorized
    requests. Share one client between threads freely.

    Options are the CLI's long options in snake_case. The credential, at most one of:
    ``oauth_token``, ``oauth_token_file``, ``iam_token``, ``sa_key_file``, ``sa_key_json``
    (the key as a dict or its JSON text), ``metadata=True``, ``profile``; with none, the
    default chain (``YC_IAM_TOKEN``, ``YC_SERVICE_ACCOUNT_KEY_FILE``, ``YC_OAUTH_TOKEN``,
    ``YC_TOKEN``, the yc profile, the metadata service, the yc CLI). The rest:
    ``endpoint``, ``iam_endpoint``, ``resource_manager_endpoint``, ``ca_file``,
    ``timeout_seconds``, ``no_cache``, ``cache_dir``, ``metadata_addr``. Paths may be
    ``os.PathLike``. An unknown option raises `InvalidArgumentError`.
    """

    def __init__(self, **options: Any) -> None:
        self._lib = _native.load()
        self._lock = threading.Lock()
        self._handle: Optional[int] = None  # the native client, until freed
        self._closed = False
        self._busy = 0  # calls in flight: they keep the native client alive
        out = ctypes.c_void_p()
        _check(self._lib, self._lib.yciam_client_new(_options_json(options), ctypes.byref(out)))
        self._handle = out.value

    def _enter(self) -> int:
        with self._lock:
            if self._closed or not self._handle:
                raise InvalidArgumentError(
                    Status.INVALID_ARGUMENT, "the yciam client is closed: make a new one"
                )
            self._busy += 1
            return self._handle

    def _leave(self) -> None:
        with self._lock:
            self._busy -= 1
            idle_and_closed = self._closed and self._busy == 0
            handle, self._handle = (self._handle, None) if idle_and_closed else (None, self._handle)
        if handle:
            self._lib.yciam_client_free(handle)

    def close(self) -> None:
        """Releases the native client (once calls in flight on other threads are done).
        Closing twice is fine; using a closed client raises `InvalidArgumentError`."""
        lock = getattr(self, "_lock", None)
        if lock is None:  # __init__ failed before there was anything to close
            return
        with lock:
            if self._closed:
                return
            self._closed = True
            handle, self._handle = (self._handle, None) if self._busy == 0 else (None, self._handle)
        if handle:
            self._lib.yciam_client_free(handle)

    @property
    def closed(self) -> bool:
        """Whether `close` was called."""
        return self._closed

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self, exc_type: Optional[Type[BaseException]], exc: Optional[BaseException], tb: Any
    ) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # interpreter shutdown: the library may be gone already
            pass

    def __repr__(self) -> str:
        return f"<yciam.Client {'closed' if self.closed else 'open'}>"

    def token_info(self) -> TokenInfo:
        """An IAM token and its expiry: from the cache while fresh, else newly obtained
        (one request however many threads ask at once)."""
        ptr = self._enter()
        try:
            out = ctypes.c_void_p()
            expires = ctypes.c_int64()
            _check(
                self._lib,
                self._lib.yciam_client_token(ptr, ctypes.byref(out), ctypes.byref(expires)),
            )
            token = _native.take_string(self._lib, out.value) or b""
        finally:
            self._leave()
        expires_at = (
            _dt.datetime.fromtimestamp(expires.value, tz=_dt.timezone.utc)
            if expires.value
            else None
        )
        return TokenInfo(token.decode("utf-8"), expires_at)

    def token(self) -> str:
        """An IAM token (see `token_info`)."""
        return self.token_info().token

    def request(
        self,
        method: str,
        url: str,
        body: Optional[Body] = None,
        headers: Optional[Mapping[str, str]] = None,
    ) -> Response:
        """Sends `method url` with `Authorization: Bearer <IAM token>` and returns the
        answer whatever its status. `body` is bytes, or str sent as UTF-8; `headers` must
        not hold Authorization. Retries 429 always, and 500/503 and broken connections for
        idempotent methods; a 401 on a cached token renews it and tries once more."""
        data = (
            body.encode("utf-8")
            if isinstance(body, str)
            else bytes(body)
            if body is not None
            else None
        )
        raw_headers = _header_lines(headers)
        ptr = self._enter()
        try:
            status = ctypes.c_uint16()
            out = ctypes.c_void_p()
            out_len = ctypes.c_size_t()
            _check(
                self._lib,
                self._lib.yciam_client_request(
                    ptr,
                    _text_arg("method", method),
                    _text_arg("url", url),
                    raw_headers,
                    data,
                    len(data) if data is not None else 0,
                    ctypes.byref(status),
                    ctypes.byref(out),
                    ctypes.byref(out_len),
                ),
            )
            content = _native.take_string(self._lib, out.value, out_len.value) or b""
        finally:
            self._leave()
        return Response(status.value, content)

    def revoke(self, iam_token: str) -> str:
        """Revokes an IAM token and drops this client's cached token; returns the id of the
        user or service account the token belonged to."""
        ptr = self._enter()
        try:
            out = ctypes.c_void_p()
            _check(
                self._lib,
                self._lib.yciam_client_revoke(
                    ptr, _text_arg("iam_token", iam_token), ctypes.byref(out)
                ),
            )
            subject = _native.take_string(self._lib, out.value) or b""
        finally:
            self._leave()
        return subject.decode("utf-8")

    def last_error_message(self) -> Optional[str]:
        """The message of the last failure on this client from any thread, or None."""
        ptr = self._enter()
        try:
            raw = _native.take_string(self._lib, self._lib.yciam_client_last_error_message(ptr))
        finally:
            self._leave()
        return raw.decode("utf-8", errors="replace") if raw else None


def get_token(**options: Any) -> str:
    """An IAM token for the options (see `Client`); the default chain with none."""
    with Client(**options) as client:
        return client.token()


def library_version() -> str:
    """The version of the native library, e.g. "0.1.0"."""
    version: bytes = _native.load().yciam_version()
    return version.decode("utf-8")
