"""A session-wide yciam-fake process (the fake Yandex Cloud over HTTPS on loopback)."""

from __future__ import annotations

import json
import os
import secrets
import ssl
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterator

import pytest

REPO_ROOT = Path(__file__).resolve().parents[3]


@dataclass
class Fake:
    """What the fake wrote to its directory, and its control routes."""

    url: str
    ca_file: str
    wrong_ca_file: str
    oauth_token: str

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        data = None
        if body is not None:
            data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method)
        ctx = ssl.create_default_context(cafile=self.ca_file)
        with urllib.request.urlopen(req, context=ctx, timeout=10) as resp:
            return json.loads(resp.read())

    def stats(self) -> Dict[str, Any]:
        stats: Dict[str, Any] = self._call("GET", "/_fake/stats")
        return stats

    def create_token_count(self) -> int:
        return int(self.stats()["counts"]["create_token"])

    def push_fault(self, route: str, fault: Dict[str, Any], times: int = 1) -> None:
        self._call("POST", "/_fake/faults", [{"route": route, "fault": fault}] * times)

    def reset(self) -> None:
        """Zeroes the counters and drops queued faults."""
        self._call("POST", "/_fake/reset", {})

    def new_oauth_token(self) -> str:
        """A new OAuth token the fake accepts (a new user): a credential no cache knows."""
        token = "y0_" + secrets.token_hex(20)
        self._call("POST", "/_fake/oauth_token", token)
        return token

    def options(self, **more: Any) -> Dict[str, Any]:
        """Client options for the fake: endpoints, CA, a short timeout, and `more`."""
        opts: Dict[str, Any] = {
            "iam_endpoint": self.url,
            "resource_manager_endpoint": self.url,
            "ca_file": self.ca_file,
            "timeout_seconds": 10,
        }
        opts.update(more)
        return opts


def _fake_binary() -> Path:
    explicit = os.environ.get("YCIAM_FAKE")
    if explicit:
        return Path(explicit)
    target = Path(os.environ.get("CARGO_TARGET_DIR") or REPO_ROOT / "target")
    return target / "debug" / "yciam-fake"


@pytest.fixture(scope="session")
def fake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fake]:
    binary = _fake_binary()
    if not binary.is_file():
        pytest.fail(
            f"{binary} is missing: run `cargo build -p yciam-fake` (scripts/test-python.sh does)"
        )
    directory = tmp_path_factory.mktemp("fake")
    proc = subprocess.Popen(
        [str(binary), "--dir", str(directory), "--exit-on-stdin-eof"],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
    )
    endpoints_file = directory / "endpoints.json"
    deadline = time.monotonic() + 30
    while not endpoints_file.exists():
        if proc.poll() is not None:
            pytest.fail(f"yciam-fake exited with {proc.returncode} before it was ready")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail("yciam-fake did not write endpoints.json within 30 s")
        time.sleep(0.05)
    endpoints = json.loads(endpoints_file.read_text())
    try:
        yield Fake(
            url=endpoints["https"],
            ca_file=str(directory / "ca.pem"),
            wrong_ca_file=str(directory / "wrong-ca.pem"),
            oauth_token=(directory / "oauth-token").read_text().strip(),
        )
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No credential or endpoint from the caller's environment, a private cache dir and
    HOME, and no metadata service or `yc` to find: the default chain finds nothing."""
    for name in list(os.environ):
        if name.startswith(("YC_", "YCIAM_")) and name != "YCIAM_LIBRARY":
            monkeypatch.delenv(name)
        if name.lower().endswith("_proxy"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("YCIAM_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("YC_METADATA_ADDR", "127.0.0.1:9")
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
