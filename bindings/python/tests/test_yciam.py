"""The Python binding against the fake: tokens, requests, revocation, every error class,
threads sharing one client, and closing."""

from __future__ import annotations

import datetime as dt
import threading
from typing import List

import pytest
from conftest import Fake

import yciam


def test_token_and_token_info(fake: Fake) -> None:
    with yciam.Client(**fake.options(oauth_token=fake.new_oauth_token())) as client:
        info = client.token_info()
        assert info.token.startswith("t1.")
        assert info.expires_at is not None and info.expires_at.tzinfo is not None
        left = info.expires_at - dt.datetime.now(dt.timezone.utc)
        assert dt.timedelta(hours=11) < left <= dt.timedelta(hours=12, minutes=1)
        assert client.token() == info.token
        assert info.token not in repr(info)


def test_get_token_with_the_default_chain(fake: Fake, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("YC_OAUTH_TOKEN", fake.new_oauth_token())
    monkeypatch.setenv("YC_IAM_ENDPOINT", fake.url)
    monkeypatch.setenv("YCIAM_CA_FILE", fake.ca_file)
    assert yciam.get_token().startswith("t1.")


def test_given_iam_token_has_no_expiry(fake: Fake) -> None:
    with yciam.Client(**fake.options(iam_token="t1.given.token")) as client:
        info = client.token_info()
        assert info.token == "t1.given.token"
        assert info.expires_at is None


def test_request_echo_and_any_status(fake: Fake) -> None:
    with yciam.Client(**fake.options(oauth_token=fake.oauth_token)) as client:
        resp = client.request(
            "POST", f"{fake.url}/test/v1/echo?a=1", body='{"x": "ю"}', headers={"X-Test": "one"}
        )
        assert resp.status == 200 and resp.ok
        echo = resp.json()
        assert echo["method"] == "POST"
        assert echo["query"] == "a=1"
        assert echo["headers"]["x-test"] == "one"
        assert echo["body"] == '{"x": "ю"}'
        assert echo["headers"]["authorization"].startswith("Bearer t1.")

        binary = client.request("PUT", f"{fake.url}/test/v1/echo", body=b"a\x00b")
        assert binary.json()["body"] == "a\x00b"

        missing = client.request("GET", f"{fake.url}/test/v1/status/404")
        assert missing.status == 404 and not missing.ok
        assert "Requested status 404" in missing.text
        assert "Bearer" not in repr(missing)

        clouds = client.request("GET", f"{fake.url}/resource-manager/v1/clouds?pageSize=3").json()
        assert [c["name"] for c in clouds["clouds"]] == ["cloud-0001", "cloud-0002", "cloud-0003"]


def test_revoke_then_the_token_gets_401(fake: Fake) -> None:
    with yciam.Client(**fake.options(oauth_token=fake.new_oauth_token())) as client:
        token = client.token()
        subject = client.revoke(token)
        assert subject
        with yciam.Client(**fake.options(iam_token=token)) as stale:
            assert stale.request("GET", f"{fake.url}/test/v1/echo").status == 401
        assert client.token() != token


def test_invalid_argument_error(fake: Fake) -> None:
    with pytest.raises(yciam.InvalidArgumentError) as err:
        yciam.Client(colour="red")
    assert err.value.status == yciam.Status.INVALID_ARGUMENT
    assert "colour" in err.value.message and err.value.request_id is None
    assert err.value.http_status is None
    with yciam.Client(**fake.options(oauth_token=fake.oauth_token)) as client:
        with pytest.raises(yciam.InvalidArgumentError, match="bad URL"):
            client.request("GET", "not a url")
        with pytest.raises(yciam.InvalidArgumentError, match="Authorization"):
            client.request("GET", f"{fake.url}/test/v1/echo", headers={"Authorization": "x"})
        with pytest.raises(yciam.InvalidArgumentError, match="line break"):
            client.request("GET", f"{fake.url}/test/v1/echo", headers={"X-A": "1\nX-B: 2"})
    with pytest.raises(yciam.InvalidArgumentError, match="nonexistent"):
        yciam.Client(oauth_token_file="/nonexistent/token")


def test_no_credential_error_lists_the_sources() -> None:
    with pytest.raises(yciam.NoCredentialError) as err:
        yciam.Client()
    assert "YC_IAM_TOKEN" in str(err.value) and "YC_OAUTH_TOKEN" in str(err.value)
    with pytest.raises(yciam.NoCredentialError):
        yciam.get_token()


def test_credential_rejected_error_has_message_and_request_id(fake: Fake) -> None:
    bad = "y0_NotATokenTheFakeKnows"
    with yciam.Client(**fake.options(oauth_token=bad)) as client:
        with pytest.raises(yciam.CredentialRejectedError) as err:
            client.token()
        e = err.value
        assert "OAuth token is invalid or expired" in e.message
        assert e.request_id and e.request_id in e.message
        assert e.http_status == 401
        assert bad not in e.message and bad not in repr(e)
        assert client.last_error_message() == e.message


def test_network_error_on_a_wrong_ca(fake: Fake) -> None:
    opts = fake.options(oauth_token=fake.new_oauth_token(), ca_file=fake.wrong_ca_file)
    with yciam.Client(**opts) as client, pytest.raises(yciam.NetworkError) as err:
        client.token()
    assert err.value.http_status is None


def test_timeout_error(fake: Fake) -> None:
    fake.push_fault("create_token", {"kind": "stall", "ms": 5000})
    try:
        opts = fake.options(oauth_token=fake.new_oauth_token(), timeout_seconds=1)
        with yciam.Client(**opts) as client:
            with pytest.raises(yciam.RequestTimeoutError, match="did not finish"):
                client.token()
    finally:
        fake.reset()


def test_server_error_after_retries(fake: Fake) -> None:
    fake.push_fault(
        "create_token", {"kind": "status", "http": 503, "grpc": 14, "message": "Try later"}, times=6
    )
    try:
        with yciam.Client(**fake.options(oauth_token=fake.new_oauth_token())) as client:
            with pytest.raises(yciam.ServerError) as err:
                client.token()
        assert "Try later" in err.value.message
        assert err.value.request_id and err.value.http_status == 503
    finally:
        fake.reset()


def test_http_error(fake: Fake) -> None:
    fake.push_fault(
        "revoke", {"kind": "status", "http": 409, "grpc": 6, "message": "Conflict here"}
    )
    try:
        with yciam.Client(**fake.options(oauth_token=fake.oauth_token)) as client:
            with pytest.raises(yciam.HttpError) as err:
                client.revoke("t1.some.token")
        assert "Conflict here" in err.value.message
        assert err.value.request_id and err.value.http_status == 409
    finally:
        fake.reset()


def test_bad_response_error(fake: Fake) -> None:
    fake.push_fault("create_token", {"kind": "garbage"})
    try:
        with yciam.Client(**fake.options(oauth_token=fake.new_oauth_token())) as client:
            with pytest.raises(yciam.BadResponseError) as err:
                client.token()
        assert err.value.request_id and err.value.request_id in err.value.message
    finally:
        fake.reset()


def test_every_status_has_its_class() -> None:
    for status, cls in [
        (yciam.Status.INVALID_ARGUMENT, yciam.InvalidArgumentError),
        (yciam.Status.NO_CREDENTIAL, yciam.NoCredentialError),
        (yciam.Status.CREDENTIAL_REJECTED, yciam.CredentialRejectedError),
        (yciam.Status.NETWORK, yciam.NetworkError),
        (yciam.Status.TIMEOUT, yciam.RequestTimeoutError),
        (yciam.Status.SERVER, yciam.ServerError),
        (yciam.Status.HTTP_ERROR, yciam.HttpError),
        (yciam.Status.BAD_RESPONSE, yciam.BadResponseError),
        (yciam.Status.IO, yciam.IoError),
        (yciam.Status.PANIC, yciam.InternalError),
    ]:
        e = yciam.errors.error_for(status, "m", "rid", 500)
        assert type(e) is cls and isinstance(e, yciam.Error)
        assert (e.status, e.message, e.request_id, e.http_status) == (status, "m", "rid", 500)
    assert type(yciam.errors.error_for(99, "m")) is yciam.Error


def test_eight_threads_share_one_client_and_one_exchange(fake: Fake) -> None:
    oauth = fake.new_oauth_token()
    fake.reset()
    tokens: List[str] = []
    errors: List[BaseException] = []
    barrier = threading.Barrier(8)
    with yciam.Client(**fake.options(oauth_token=oauth)) as client:

        def work() -> None:
            try:
                barrier.wait()
                for _ in range(200):
                    tokens.append(client.token())
            except BaseException as e:  # reported below
                errors.append(e)

        threads = [threading.Thread(target=work) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert not errors
    assert len(tokens) == 1600 and len(set(tokens)) == 1
    assert fake.create_token_count() == 1


def test_close_twice_and_use_after_close(fake: Fake) -> None:
    client = yciam.Client(**fake.options(oauth_token=fake.oauth_token))
    assert repr(client) == "<yciam.Client open>"
    client.close()
    client.close()
    assert client.closed and repr(client) == "<yciam.Client closed>"
    with pytest.raises(yciam.InvalidArgumentError, match="closed"):
        client.token()
    with pytest.raises(yciam.InvalidArgumentError, match="closed"):
        client.request("GET", f"{fake.url}/test/v1/echo")
    with pytest.raises(yciam.InvalidArgumentError, match="closed"):
        client.revoke("t1.a.b")


def test_repr_never_shows_secrets(fake: Fake) -> None:
    with yciam.Client(**fake.options(oauth_token=fake.oauth_token)) as client:
        info = client.token_info()
        for text in (repr(client), repr(info), str(info)):
            assert fake.oauth_token not in text and info.token not in text


def test_library_version_matches_the_package() -> None:
    assert yciam.library_version() == yciam.__version__
