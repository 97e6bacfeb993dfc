#!/usr/bin/env python3
"""Writes the seeds that hold a private key into fuzz/seeds-generated/ (ignored by git):
a fresh throwaway RSA key each time, so no key is ever committed.

    python3 fuzz/make-seeds.py
"""
import json
import subprocess
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "seeds-generated"


def openssl(*args: str, stdin: bytes = b"") -> str:
    return subprocess.run(["openssl", *args], input=stdin, check=True, capture_output=True).stdout.decode()


def main() -> None:
    pkcs8 = openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048")
    public = openssl("pkey", "-pubout", stdin=pkcs8.encode())
    pkcs1 = openssl("rsa", "-traditional", stdin=pkcs8.encode())
    key_id, sa_id = "ajefuzzkeyid0000001", "ajefuzzsaid00000001"
    key = {
        "id": key_id,
        "service_account_id": sa_id,
        "created_at": "2026-11-29T10:00:00.123456Z",
        "key_algorithm": "RSA_2048",
        "public_key": public,
        "private_key": f"PLEASE DO NOT REMOVE THIS LINE! Yandex.Cloud SA Key ID {key_id}\n{pkcs8}",
    }
    (OUT / "key_file").mkdir(parents=True, exist_ok=True)
    (OUT / "yc_config").mkdir(parents=True, exist_ok=True)
    (OUT / "key_file" / "yc-key.json").write_text(json.dumps(key, indent=2))
    escaped = {"id": key_id, "service_account_id": sa_id, "private_key": pkcs1.replace("\n", "\\n")}
    (OUT / "key_file" / "pkcs1-escaped-newlines.json").write_text(json.dumps(escaped))
    indent = lambda text, n: "".join(" " * n + line + "\n" for line in text.splitlines())  # noqa: E731
    config = (
        "current: sa\nprofiles:\n"
        "  default:\n    token: y0_AgAAAAOAuthTokenForFuzzing\n    folder-id: b1gyyyyyyyyyyyyyyyyy\n"
        "  sa:\n    service-account-key:\n"
        f"      id: {key_id}\n      service_account_id: {sa_id}\n      key_algorithm: RSA_2048\n"
        f"      private_key: |\n{indent(key['private_key'], 8)}"
        "    endpoint: api.cloud.yandex.net:443\n"
        "  vm:\n    instance-service-account: true\n"
        "  fed:\n    federation-id: bpfxxxxxxxxxxxxxxxxx\n"
    )
    (OUT / "yc_config" / "config.yaml").write_text(config)
    print(f"wrote seeds with a fresh key under {OUT}")


if __name__ == "__main__":
    main()
