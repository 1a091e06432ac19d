"""The settings pants.toml gives every pytest run ([pytest] args), and the profile conftest.py
adds for exploring."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st


def draws(profile: settings | None = None) -> list[int]:
    """The integers a property-based test draws in one run, under `profile` or the active one."""
    drawn: list[int] = []

    @given(st.integers())
    def record(n: int) -> None:
        drawn.append(n)

    (record if profile is None else settings(profile)(record))()
    return drawn


def test_property_based_tests_are_untimed() -> None:
    active = settings()
    assert active.deadline is None
    assert HealthCheck.too_slow in active.suppress_health_check


def test_a_property_based_test_draws_the_same_examples_on_every_run() -> None:
    first, second = draws(), draws()
    assert len(set(first)) > 1
    assert first == second


def test_the_explore_profile_draws_new_examples_on_every_run_and_is_untimed() -> None:
    explore = settings.get_profile("explore")
    first, second = draws(explore), draws(explore)
    assert len(set(first)) > 1
    assert first != second
    assert explore.deadline is None
    assert HealthCheck.too_slow in explore.suppress_health_check
    # A failure can be replayed from what it prints, though nothing is stored between runs.
    assert explore.print_blob
