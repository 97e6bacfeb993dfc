"""Get and use Yandex Cloud IAM tokens from Python: a ctypes binding of the yciam library.

    import yciam

    token = yciam.get_token()                      # the default credential chain
    with yciam.Client(oauth_token_file="/run/secrets/yc-oauth-token") as client:
        info = client.token_info()                 # token, expires_at (aware datetime)
        clouds = client.request(
            "GET", "https://resource-manager.api.cloud.yandex.net/resource-manager/v1/clouds"
        ).json()

The native library is loaded from YCIAM_LIBRARY, else from a copy next to this package,
else from the cargo target dir of the repository the package sits in.
"""

from ._client import Client, Response, TokenInfo, get_token, library_version
from .errors import (
    BadResponseError,
    CredentialRejectedError,
    Error,
    HttpError,
    InternalError,
    InvalidArgumentError,
    IoError,
    NetworkError,
    NoCredentialError,
    RequestTimeoutError,
    ServerError,
    Status,
)

__version__ = "0.1.0"

__all__ = [
    "BadResponseError",
    "Client",
    "CredentialRejectedError",
    "Error",
    "HttpError",
    "InternalError",
    "InvalidArgumentError",
    "IoError",
    "NetworkError",
    "NoCredentialError",
    "RequestTimeoutError",
    "Response",
    "ServerError",
    "Status",
    "TokenInfo",
    "get_token",
    "library_version",
]
