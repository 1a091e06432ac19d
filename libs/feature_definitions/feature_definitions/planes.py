"""The aircraft flying the flight, looked up by tail number in the planes table.

About a sixth of flights have a tail number the planes table lacks (or none at all).
`plane_known` is 1 when the tail number was found; unknown attributes take the fixed fills
below, so the features are never NaN.
"""

from __future__ import annotations

import pandas as pd

from feature_definitions.errors import FeatureInputError

PLANE_KNOWN = "plane_known"
PLANE_FEATURES: tuple[str, ...] = (PLANE_KNOWN, "plane_age", "seats", "engines")
# What the planes lookup must hold.
PLANE_LOOKUP_COLUMNS: tuple[str, ...] = ("tailnum", "year", "seats", "engines")

# Medians of the planes table (the 2013 fleet): a typical aircraft where nothing is known.
# Fixed, not fitted, so offline and online agree.
PLANE_FILLS: dict[str, int] = {"plane_age": 12, "seats": 149, "engines": 2}


def fleet(planes: pd.DataFrame) -> pd.DataFrame:
    """`planes`' PLANE_LOOKUP_COLUMNS, tailnum a string; FeatureInputError when a tail number
    is there twice. The online store checks what it stores with it too."""
    found = planes[list(PLANE_LOOKUP_COLUMNS)].assign(tailnum=planes["tailnum"].astype("string"))
    duplicated = found["tailnum"].duplicated()
    if duplicated.any():
        raise FeatureInputError(
            f"planes has {int(duplicated.sum())} duplicate tail numbers, "
            f"e.g. {found.loc[duplicated, 'tailnum'].iloc[0]}"
        )
    return found


def plane_features(
    tailnum: pd.Series, flight_year: pd.Series, planes: pd.DataFrame
) -> pd.DataFrame:
    """PLANE_FEATURES for each flight (same index as `tailnum`). `plane_age` is the flight's
    year minus the year of manufacture, never below 0; a known plane without a year of
    manufacture gets the fill."""
    by_tailnum = fleet(planes).set_index("tailnum")
    wanted = pd.Index(tailnum.astype("string").to_numpy())
    found = by_tailnum.reindex(wanted)
    found.index = tailnum.index
    features = pd.DataFrame(index=tailnum.index)
    features[PLANE_KNOWN] = wanted.isin(by_tailnum.index).astype("int8")
    age = (flight_year.astype("float64") - found["year"].astype("float64")).clip(lower=0)
    features["plane_age"] = age.fillna(PLANE_FILLS["plane_age"]).astype("int16")
    features["seats"] = (
        found["seats"].astype("float64").fillna(PLANE_FILLS["seats"]).astype("int16")
    )
    engines = found["engines"].astype("float64").fillna(PLANE_FILLS["engines"])
    features["engines"] = engines.astype("int8")
    return features[list(PLANE_FEATURES)]
