import json
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from feature_definitions.histogram import bin_counts, histogram_edges
from serve.drift import WINDOW_ROWS, DriftMonitor

STATS = {
    "features": {
        "x": {
            "kind": "numeric",
            "histogram": {"edges": [1.0, 2.0], "proportions": [0.25, 0.5, 0.25]},
        },
        "c": {"kind": "categorical", "proportions": {"a": 0.5, "b": 0.5}},
    }
}  # fmt: skip


def test_same_distribution_has_no_drift() -> None:
    monitor = DriftMonitor(STATS, window_rows=4)
    result = monitor.update(pd.DataFrame({"x": [0.5, 1.0, 1.5, 2.5], "c": ["a", "b", "a", "b"]}))
    assert result == {"x": 0.0, "c": 0.0}


def spelled_out_psi(live: list[float], reference: list[float]) -> float:
    """PSI as serve/drift.py's docstring defines it, term by term, each proportion clipped to
    1e-4: an expectation that does not go through the code under test."""
    clipped = [(max(a, 1e-4), max(b, 1e-4)) for a, b in zip(live, reference, strict=True)]
    return sum((a - b) * math.log(a / b) for a, b in clipped)


def test_a_shift_and_an_unseen_category_drift() -> None:
    monitor = DriftMonitor(STATS, window_rows=4)
    monitor.update(pd.DataFrame({"x": [0.5] * 4, "c": ["a"] * 4}))
    result = monitor.update(pd.DataFrame({"x": [5.0] * 4, "c": ["z"] * 4}))
    # Only the last 4 rows count: all in the top bin, all an unseen category (bins a, b, other).
    assert result["x"] == pytest.approx(spelled_out_psi([0, 0, 1], [0.25, 0.5, 0.25]))
    assert result["x"] == pytest.approx(7.2527, abs=1e-4)  # finite: empty bins are clipped
    assert result["c"] == pytest.approx(spelled_out_psi([0, 0, 1], [0.5, 0.5, 0]))


def test_the_window_holds_the_last_rows_across_batches() -> None:
    monitor = DriftMonitor(STATS, window_rows=4)
    monitor.update(pd.DataFrame({"x": [0.5] * 3, "c": ["a"] * 3}))
    result = monitor.update(pd.DataFrame({"x": [5.0] * 2, "c": ["b"] * 2}))
    # The last four rows: two of the first batch (bottom bin, a) and both of the second (top, b).
    assert result["x"] == pytest.approx(spelled_out_psi([0.5, 0, 0.5], [0.25, 0.5, 0.25]))
    assert result["c"] == pytest.approx(spelled_out_psi([0.5, 0.5, 0], [0.5, 0.5, 0]))
    assert result["c"] == pytest.approx(0.0)


def rows(count: int, seed: int = 0) -> pd.DataFrame:
    """`count` rows of STATS' features, like the train split's or not."""
    generator = np.random.default_rng(seed)
    return pd.DataFrame(
        {"x": generator.uniform(0, 3, count), "c": generator.choice(["a", "b", "z"], count)}
    )


def test_no_psi_until_the_window_is_full_then_every_feature() -> None:
    """Over a few rows the PSI is noise (one train row read 9.66): a worker that has scored
    fewer than a window's rows exports none, and so holds no drift alert."""
    monitor = DriftMonitor(STATS)
    assert monitor.rows == 0
    assert monitor.update(rows(1)) == {}
    assert monitor.update(rows(WINDOW_ROWS - 2, seed=1)) == {}
    assert monitor.rows == WINDOW_ROWS - 1
    full = monitor.update(rows(1, seed=2))
    assert set(full) == {"x", "c"} and monitor.rows == WINDOW_ROWS
    assert all(np.isfinite(v) and v >= 0 for v in full.values())
    # From then on, every batch reports: the window stays full.
    assert set(monitor.update(rows(1, seed=3))) == {"x", "c"}


def test_one_batch_of_a_whole_window_reports_at_once() -> None:
    assert set(DriftMonitor(STATS).update(rows(WINDOW_ROWS))) == {"x", "c"}
    assert set(DriftMonitor(STATS).update(rows(3 * WINDOW_ROWS))) == {"x", "c"}


@given(st.lists(st.integers(0, WINDOW_ROWS - 1), min_size=1, max_size=20), st.integers(0, 2**32))
def test_nothing_is_reported_below_a_window_of_rows(batches: list[int], seed: int) -> None:
    """However fewer than WINDOW_ROWS rows arrive, in whatever batches: no PSI, and the window
    holds every row that arrived."""
    monitor = DriftMonitor(STATS)
    seen = 0
    for i, size in enumerate(batches):
        if seen + size >= WINDOW_ROWS:
            break
        seen += size
        assert monitor.update(rows(size, seed=seed + i)) == {}
        assert monitor.rows == seen


def test_month_of_year_is_never_reported() -> None:
    """The splits are by time: live months are never the train split's, and month_of_year's
    PSI would be large for ever whatever the traffic. Its statistics are there; it is not
    watched."""
    month = {"kind": "numeric", "histogram": {"edges": [2.0], "proportions": [0.5, 0.5, 0.0]}}
    stats = {"features": {**STATS["features"], "month_of_year": month}}
    monitor = DriftMonitor(stats, window_rows=4)
    assert monitor.features == ("x", "c")
    live = pd.DataFrame({"x": [0.5] * 8, "c": ["a"] * 8, "month_of_year": [11] * 8})
    assert set(monitor.update(live)) == {"x", "c"}
    assert set(DriftMonitor(stats).update(rows(WINDOW_ROWS).assign(month_of_year=11))) == {
        "x",
        "c",
    }


# Above it a feature has drifted, by the rule of thumb (drift.py); params.yaml's is lower.
DRIFTED = 0.25
# The train split's precip in 2013: no rain in 93.6% of the rows, a few hundredths of an inch in
# the rest. Here 936 dry rows in 1,000.
FINITE = st.floats(-1e9, 1e9, allow_nan=False)
PRECIP = np.concatenate([np.zeros(936), np.resize([0.01, 0.02, 0.03, 0.08, 0.25, 1.21], 64)])


def monitor_of(train: np.ndarray) -> DriftMonitor:
    """A monitor of one numeric feature "x" whose window is `train`'s length, on the histogram
    the feature build records of `train` (through JSON, as served)."""
    edges = histogram_edges(train)
    counts = bin_counts(train, edges)
    histogram = {"edges": edges, "proportions": (counts / len(train)).tolist()}
    stats = {"features": {"x": {"kind": "numeric", "histogram": histogram}}}
    return DriftMonitor(json.loads(json.dumps(stats)), window_rows=len(train))


def test_rain_after_a_dry_train_split_drifts() -> None:
    """With the repeated deciles dropped, precip's one edge was 0: dry and rainy hours fell in
    one bin and an hour of rain on every flight had a PSI of 0."""
    assert monitor_of(PRECIP).update(pd.DataFrame({"x": PRECIP}))["x"] == pytest.approx(0.0)
    raining = monitor_of(PRECIP).update(pd.DataFrame({"x": np.full(1000, 0.5)}))
    assert raining["x"] > DRIFTED


@st.composite
def sample_with_a_mass(draw: st.DrawFn) -> tuple[np.ndarray, float]:
    """A sample of which at least 30% is one value, the mass (so at least two deciles are it),
    and that value."""
    mass = draw(FINITE)
    size = draw(st.integers(10, 300))
    at_mass = draw(st.integers(math.ceil(0.3 * size), size))
    others = draw(
        st.lists(
            FINITE.filter(lambda v: v != mass), min_size=size - at_mass, max_size=size - at_mass
        )
    )
    order = draw(st.permutations(range(size)))
    return np.asarray([mass] * at_mass + others, dtype="float64")[list(order)], mass


@given(st.lists(FINITE, min_size=1, max_size=300))
def test_live_data_like_the_train_split_has_no_drift(train: list[float]) -> None:
    sample = np.asarray(train, dtype="float64")
    assert monitor_of(sample).update(pd.DataFrame({"x": sample}))["x"] == pytest.approx(0.0)


@given(sample_with_a_mass(), st.data())
def test_live_data_moved_off_a_mass_point_drifts(
    generated: tuple[np.ndarray, float], data: st.DataObject
) -> None:
    """Every value at the mass moves elsewhere: next to it (the nearest floats) or anywhere."""
    train, mass = generated
    elsewhere = st.one_of(
        st.just(math.nextafter(mass, math.inf)),
        st.just(math.nextafter(mass, -math.inf)),
        FINITE.filter(lambda v: v != mass),
    )
    live = train.copy()
    live[train == mass] = data.draw(elsewhere)
    assert monitor_of(train).update(pd.DataFrame({"x": live}))["x"] > DRIFTED
