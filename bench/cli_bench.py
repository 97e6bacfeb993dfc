#!/usr/bin/env python3
"""Whole-process benchmark of the yciam binary against the local fake (not a test).

Alternates, in one run, `yciam token --no-cache` (a cold exchange), the documented
`curl --request POST --data '{"yandexPassportOauthToken":"..."}' URL`, and `yciam token`
with a warm disk cache, N times each, and prints medians, ratios and peak RSS.

    python3 bench/cli_bench.py [--runs 40] [--yciam target/release/yciam]
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def start_fake(tmp: Path) -> subprocess.Popen:
    fake = ROOT / "target" / "debug" / "yciam-fake"
    if not fake.exists():
        subprocess.run(["cargo", "build", "-q", "-p", "yciam-fake"], cwd=ROOT, check=True)
    proc = subprocess.Popen([str(fake), "--dir", str(tmp), "--exit-on-stdin-eof"],
                            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
    for _ in range(200):
        if (tmp / "endpoints.json").exists():
            return proc
        time.sleep(0.05)
    raise SystemExit("the fake did not start")


def timed(argv, env):
    """Runs argv, returns its wall time in seconds."""
    start = time.perf_counter()
    proc = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{argv[0]} failed: {proc.stderr.decode()}")
    return elapsed


def peak_rss_kib(argv, env):
    """Peak RSS of argv by GNU time (a forked Python child would report Python's own RSS)."""
    gnu_time = shutil.which("time") or "/usr/bin/time"
    if not Path(gnu_time).exists():
        return None
    out = subprocess.run([gnu_time, "-f", "%M", *argv], env=env, stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=True)
    return int(out.stderr.decode().strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=40)
    ap.add_argument("--yciam", default=str(ROOT / "target" / "release" / "yciam"))
    args = ap.parse_args()
    if not Path(args.yciam).exists():
        subprocess.run(["cargo", "build", "-q", "--release", "--bin", "yciam"], cwd=ROOT, check=True)
    curl = shutil.which("curl")
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        fake = start_fake(tmp)
        try:
            ep = json.loads((tmp / "endpoints.json").read_text())
            oauth = (tmp / "oauth-token").read_text().strip()
            env = {k: v for k, v in os.environ.items()
                   if not k.startswith(("YC_", "YCIAM_")) and not k.lower().endswith("_proxy")}
            env.update(YC_IAM_ENDPOINT=ep["https"], YCIAM_CA_FILE=str(tmp / "ca.pem"),
                       YCIAM_CACHE_DIR=str(tmp / "cache"), YC_OAUTH_TOKEN=oauth)
            cold = [args.yciam, "token", "--no-cache"]
            warm = [args.yciam, "token"]
            # The seed's documented call; the body goes through a file so the token is not in argv.
            body = tmp / "body.json"
            body.write_text(json.dumps({"yandexPassportOauthToken": oauth}))
            curl_cmd = [curl, "--silent", "--fail", "--cacert", str(tmp / "ca.pem"), "--request", "POST",
                        "--data", f"@{body}", ep["https"] + "/iam/v1/tokens"]
            timed(warm, env)  # fill the cache
            for _ in range(3):  # warm up the page cache
                timed(cold, env)
                timed(curl_cmd, env)
            commands = {"yciam token --no-cache (cold exchange)": cold, "curl (documented POST)": curl_cmd,
                        "yciam token (warm cache)": warm}
            results = {k: [] for k in commands}
            for _ in range(args.runs):
                for name, argv in commands.items():
                    results[name].append(timed(argv, env))
            rss = {k: max((peak_rss_kib(argv, env) or 0) for _ in range(5)) for k, argv in commands.items()}
        finally:
            fake.stdin.close()
            fake.wait(timeout=10)
    med = {k: statistics.median(v) * 1000 for k, v in results.items()}
    curl_ms = med["curl (documented POST)"]
    print(f"{args.runs} alternating runs each, medians (ms):")
    for k, v in med.items():
        print(f"  {k:42s} {v:7.2f} ms  (x{v / curl_ms:.2f} of curl)  peak RSS {rss[k] / 1024:.1f} MiB")
    cold_ms = med["yciam token --no-cache (cold exchange)"]
    warm_ms = med["yciam token (warm cache)"]
    print(f"  cold/curl = {cold_ms / curl_ms:.2f}; curl/warm = {curl_ms / warm_ms:.1f}x; cold/warm = {cold_ms / warm_ms:.1f}x")
    size = Path(args.yciam).stat().st_size
    print(f"  binary {args.yciam}: {size / 1024 / 1024:.2f} MiB (release, stripped)")


if __name__ == "__main__":
    sys.exit(main())
