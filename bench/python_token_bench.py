"""Cached-token calls per second from Python (ctypes overhead included).

Needs YCIAM_BENCH_URL, YCIAM_BENCH_CA and YCIAM_BENCH_OAUTH_TOKEN (bench/run-bench.sh sets
them) and the yciam package on the path."""

import os
import timeit

import yciam

client = yciam.Client(
    oauth_token=os.environ["YCIAM_BENCH_OAUTH_TOKEN"],
    iam_endpoint=os.environ["YCIAM_BENCH_URL"],
    ca_file=os.environ["YCIAM_BENCH_CA"],
)
client.token()  # the one exchange
number = 100_000
best = min(timeit.repeat(client.token, number=number, repeat=5))
print(
    f"python:     client.token() {number / best:,.0f} calls/s ({best / number * 1e6:.2f} us/call, best of 5)"
)
client.close()
