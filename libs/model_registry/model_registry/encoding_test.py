import json

import numpy as np
import pandas as pd

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
    assert abs(float(numbers[:, 0].mean())) < 1e-6
    # A constant feature has std 0: it is centred, not divided by zero.
    assert numbers[:, 1].tolist() == [0.0, 0.0, 0.0, 0.0]
    late = pd.DataFrame({"carrier": ["UA"], "dep_hour": [23], "precip": [0.0]})
    _, clipped = encoding.transform(late)
    assert clipped[0, 0] == numbers[3, 0]  # 23 reads as 22, the train maximum


def test_round_trips_through_json() -> None:
    encoding = fitted()
    again = TabularEncoding.from_dict(json.loads(json.dumps(encoding.to_dict())))
    assert again == encoding
