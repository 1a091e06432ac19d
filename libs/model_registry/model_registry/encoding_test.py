import json
import math

import numpy as np
import pandas as pd
import pytest

from model_registry.encoding import OUT_OF_VOCABULARY, TabularEncoding


def train_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "carrier": pd.Series(["UA", "AA", "UA", "B6"], dtype="string"),
            "dep_hour": [6, 12, 18, 22],
            "precip": [0.0, 0.0, 0.0, 0.0],
        }
    )


def fitted() -> TabularEncoding:
    return TabularEncoding.fit(train_frame(), ["carrier"], ["dep_hour", "precip"])


def test_categories_get_indices_from_1_in_sorted_order() -> None:
    encoding = fitted()
    assert encoding.vocabularies == {"carrier": ("AA", "B6", "UA")}
    assert encoding.cardinalities == (4,)
    codes, _ = encoding.transform(train_frame())
    assert codes[:, 0].tolist() == [3, 1, 3, 2]


def test_an_unseen_or_missing_category_maps_to_the_out_of_vocabulary_index() -> None:
    serving = pd.DataFrame(
        {
            "carrier": pd.Series(["ZZ", None, "AA"], dtype="string"),
            "dep_hour": [6, 6, 6],
            "precip": [0.0, 0.0, 0.0],
        }
    )
    codes, _ = fitted().transform(serving)
    assert codes[:, 0].tolist() == [OUT_OF_VOCABULARY, OUT_OF_VOCABULARY, 1]


def test_numbers_are_standardised_and_clipped_to_the_train_range() -> None:
    encoding = fitted()
    _, numbers = encoding.transform(train_frame())
    assert numbers.dtype == np.float32
    # dep_hour 6, 12, 18, 22: mean 14.5, population variance (8.5² + 2.5² + 3.5² + 7.5²) / 4.
    std = math.sqrt(36.75)
    expected = [(hour - 14.5) / std for hour in (6, 12, 18, 22)]
    assert numbers[:, 0].tolist() == pytest.approx(expected, rel=1e-6)
    # A constant feature has std 0: it is centred, not divided by zero.
    assert numbers[:, 1].tolist() == [0.0, 0.0, 0.0, 0.0]
    outside = pd.DataFrame({"carrier": ["UA", "UA"], "dep_hour": [23, 0], "precip": [0.0, 0.0]})
    _, clipped = encoding.transform(outside)
    # 23 reads as 22, the train maximum, and 0 as 6, the minimum.
    assert clipped[:, 0].tolist() == [numbers[3, 0], numbers[0, 0]]


def test_round_trips_through_json() -> None:
    encoding = fitted()
    again = TabularEncoding.from_dict(json.loads(json.dumps(encoding.to_dict())))
    assert again == encoding
