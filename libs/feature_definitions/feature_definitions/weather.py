"""Weather at the flight's origin in the hour of its scheduled departure.

The weather table is keyed by (origin, time_hour), time_hour a UTC instant, exactly as a flight's
`time_hour` names its scheduled departure hour. Upstream misses some hours, and some readings
within an hour. `weather_known` is 1 when the hour was observed; every missing reading, in an
observed hour or not, takes the fixed fill below, so the features are never NaN.
"""

from __future__ import annotations

import pandas as pd

from contracts.weather import WEATHER
from feature_definitions.errors import FeatureInputError
from feature_definitions.instants import utc_instants

WEATHER_KNOWN = "weather_known"
# Every reading the weather contract declares is a feature.
WEATHER_COLUMNS: tuple[str, ...] = WEATHER.float_columns
WEATHER_FEATURES: tuple[str, ...] = (WEATHER_KNOWN, *WEATHER_COLUMNS)

# Fills for missing readings. Fixed, not fitted, so offline and online agree and no later data
# leaks into earlier rows.
WEATHER_FILLS: dict[str, float] = {
    # New York's annual means (°F, °F, %): a neutral value where nothing is known.
    "temp": 55.0,
    "dewp": 42.0,
    "humid": 62.0,
    # Upstream writes calm as direction 0; a missing direction is mostly light, variable wind.
    "wind_dir": 0.0,
    # mph, about New York's annual mean wind speed.
    "wind_speed": 10.0,
    # No precipitation recorded: most hours have none.
    "precip": 0.0,
    # The standard sea-level pressure (hPa).
    "pressure": 1013.25,
    # Miles; 10 is the most the stations report, i.e. clear.
    "visib": 10.0,
}
# wind_gust is reported only when the wind gusts: missing, it equals the (filled) wind speed.
GUST_FALLBACK = "wind_speed"


def observed_weather(weather: pd.DataFrame) -> pd.DataFrame:
    """`weather`'s readings keyed as a flight names its hour (origin a string, time_hour a UTC
    instant); FeatureInputError when two rows share a key. The online store checks what it
    stores with it too."""
    observed = weather[["origin", "time_hour", *WEATHER_COLUMNS]].assign(
        origin=weather["origin"].astype("string"),
        time_hour=utc_instants(weather["time_hour"]),
    )
    duplicated = observed.duplicated(["origin", "time_hour"])
    if duplicated.any():
        first = observed[duplicated].iloc[0]
        raise FeatureInputError(
            f"weather has {int(duplicated.sum())} duplicate (origin, time_hour) rows, "
            f"e.g. {first['origin']} {first['time_hour']}"
        )
    return observed


def weather_features(
    origin: pd.Series, time_hour: pd.Series, weather: pd.DataFrame
) -> pd.DataFrame:
    """WEATHER_FEATURES for each flight (same index as `origin`)."""
    observed = observed_weather(weather).assign(**{WEATHER_KNOWN: 1})
    keys = pd.DataFrame(
        {"origin": origin.astype("string").to_numpy(), "time_hour": utc_instants(time_hour)}
    ).reset_index(drop=True)
    joined = keys.merge(observed, how="left", on=["origin", "time_hour"], validate="many_to_one")
    joined.index = origin.index
    features = pd.DataFrame(index=origin.index)
    features[WEATHER_KNOWN] = joined[WEATHER_KNOWN].notna().astype("int8")
    for column, fill in WEATHER_FILLS.items():
        features[column] = joined[column].astype("float64").fillna(fill)
    features["wind_gust"] = joined["wind_gust"].astype("float64").fillna(features[GUST_FALLBACK])
    return features[list(WEATHER_FEATURES)]
