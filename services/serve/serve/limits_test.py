import json

from serve.limits import (
    LARGEST_FLIGHT,
    MAX_BATCH_ROWS,
    MAX_BODY_BYTES,
    MAX_FLIGHTS,
    READY_WAIT_SECONDS,
    REQUEST_TIMEOUT_SECONDS,
)
from serve.schema import PredictRequest


def test_the_largest_valid_request_fits_the_body_limit_even_indented() -> None:
    body = json.dumps({"flights": [LARGEST_FLIGHT] * MAX_FLIGHTS}, indent=2)
    assert len(PredictRequest.model_validate_json(body).flights) == MAX_FLIGHTS
    assert len(body.encode()) <= MAX_BODY_BYTES


def test_one_request_always_fits_one_model_call() -> None:
    assert MAX_BATCH_ROWS >= MAX_FLIGHTS


def test_a_request_waiting_for_its_worker_to_load_gets_its_503_before_the_timeout() -> None:
    assert 0 < READY_WAIT_SECONDS < REQUEST_TIMEOUT_SECONDS
