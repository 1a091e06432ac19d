"""Every limit of the service, in one place, so they can agree with each other, with the load
balancer in infra/modules/serve and with README.md (limits_test.py checks what can be checked).

A request over a limit is refused at once, never queued: more than MAX_FLIGHTS flights is a 400,
a body over MAX_BODY_BYTES a 413, more than MAX_CONCURRENCY requests in flight a 429 (BentoML's
concurrency middleware).
"""

from __future__ import annotations

from typing import Any

# The most flights one request may carry: bounds a request's memory and latency. Larger
# workloads send several requests, which the batcher merges anyway.
MAX_FLIGHTS = 1000
# A valid flight whose JSON is as long as any valid flight's (about 250 bytes), but for
# whitespace: the body limit leaves room for a request of MAX_FLIGHTS of them, indented.
LARGEST_FLIGHT: dict[str, Any] = {
    "carrier": "UA",
    "flight": 9999,
    "tailnum": "N" * 8,
    "origin": "EWR",
    "dest": "IAH",
    "time_hour": "2013-11-01T14:00:00.000000+00:00",  # 10:00 in New York
    "sched_dep_time": 1059,
    "sched_arr_time": 2359,
    "distance": 1234.5678901234567,
}
MAX_BYTES_PER_FLIGHT = 512
MAX_BODY_BYTES = MAX_FLIGHTS * MAX_BYTES_PER_FLIGHT
# Rows per model call; at least MAX_FLIGHTS, so a request is always scored in one call.
MAX_BATCH_ROWS = 4 * MAX_FLIGHTS
# Requests in flight per service (BentoML splits it over the workers); more get 429. At the
# measured 100-flight throughput (docs/benchmarks.md) a full queue of the largest requests
# drains in a few seconds, well inside the timeout.
MAX_CONCURRENCY = 64
# BentoML answers 504 past this; the load balancer's idle timeout must be longer
# (infra/modules/serve; infra/iac/static_test checks it).
REQUEST_TIMEOUT_SECONDS = 30
# How long a request that reaches a worker still loading waits for it before a 503: another
# worker of the server may have answered /readyz already (readiness is per worker), and the
# workers load the same files, seconds apart. Well inside the request timeout.
READY_WAIT_SECONDS = 10
