"""The settings pants.toml gives every pytest run ([pytest] args)."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st


def test_property_based_tests_are_untimed() -> None:
    active = settings()
    assert active.deadline is None
    assert HealthCheck.too_slow in active.suppress_health_check


def test_a_property_based_test_draws_the_same_examples_on_every_run() -> None:
    drawn: list[list[int]] = [[], []]

    def run(into: list[int]) -> None:
        @given(st.integers())
        def record(n: int) -> None:
            into.append(n)

        record()

    run(drawn[0])
    run(drawn[1])
    assert len(set(drawn[0])) > 1
    assert drawn[0] == drawn[1]
