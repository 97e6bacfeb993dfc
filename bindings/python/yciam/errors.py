"""The statuses of the C API and one exception class for each failure."""

from __future__ import annotations

import enum
from typing import Dict, Optional, Type


class Status(enum.IntEnum):
    """`yciam_status`: fixed values, never renumbered."""

    OK = 0
    INVALID_ARGUMENT = 1
    NO_CREDENTIAL = 2
    CREDENTIAL_REJECTED = 3
    NETWORK = 4
    TIMEOUT = 5
    SERVER = 6
    HTTP_ERROR = 7
    BAD_RESPONSE = 8
    IO = 9
    PANIC = 10


class Error(Exception):
    """A failed yciam call.

    `message` says what failed, what the server said and what to do (it never holds a
    token); `request_id` is the server's request id, for support; `http_status` is the
    HTTP status when the server answered with an error status.
    """

    def __init__(
        self,
        status: int,
        message: str,
        request_id: Optional[str] = None,
        http_status: Optional[int] = None,
    ) -> None:
        super().__init__(message)
        try:
            self.status: Status | int = Status(status)
        except ValueError:
            self.status = status
        self.message = message
        self.request_id = request_id
        self.http_status = http_status

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(status={self.status!r}, message={self.message!r}, "
            f"request_id={self.request_id!r}, http_status={self.http_status!r})"
        )


class InvalidArgumentError(Error):
    """An unusable argument or option: unknown option, bad URL or header, unreadable
    token file, a closed client."""


class NoCredentialError(Error):
    """No credential source applied; the message lists every source looked at."""


class CredentialRejectedError(Error):
    """The credential was refused (HTTP 401/403, or the token exchange refused it)."""


class NetworkError(Error):
    """The server could not be reached, the connection broke, or TLS failed."""


class RequestTimeoutError(Error):
    """The time allowed for the call (`timeout_seconds`, 30 s by default) ran out."""


class ServerError(Error):
    """The server failed: HTTP 429 or 5xx, after retries."""


class HttpError(Error):
    """An API answered with another error status (e.g. 400 or 404)."""


class BadResponseError(Error):
    """The server answered with a body that is not the expected response."""


class IoError(Error):
    """A local file or stream could not be read or written, or memory ran out."""


class InternalError(Error):
    """A bug in yciam was caught before it could crash the process; please report it."""


ERROR_CLASSES: Dict[Status, Type[Error]] = {
    Status.INVALID_ARGUMENT: InvalidArgumentError,
    Status.NO_CREDENTIAL: NoCredentialError,
    Status.CREDENTIAL_REJECTED: CredentialRejectedError,
    Status.NETWORK: NetworkError,
    Status.TIMEOUT: RequestTimeoutError,
    Status.SERVER: ServerError,
    Status.HTTP_ERROR: HttpError,
    Status.BAD_RESPONSE: BadResponseError,
    Status.IO: IoError,
    Status.PANIC: InternalError,
}


def error_for(
    status: int, message: str, request_id: Optional[str] = None, http_status: Optional[int] = None
) -> Error:
    """The exception for a status (plain `Error` for one this version does not know)."""
    try:
        cls = ERROR_CLASSES.get(Status(status), Error)
    except ValueError:
        cls = Error
    return cls(status, message, request_id, http_status)
