"""Weather at the flight's origin WEATHER_LEAD before the hour of its scheduled departure.

The weather table is keyed by (origin, time_hour), time_hour a UTC instant, as a flight's
`time_hour` names its scheduled departure hour. A flight's weather is the origin's observation in
the hour `weather_hour` names: its time_hour less WEATHER_LEAD (a day), so a flight leaving at
H:10 gets the reading of H:00 the day before. The lead makes the features what is known when the
flight is scored, offline and online alike (ADR 0019): the online store holds weather up to its
data horizon and serves flights up to a day past it (online_store.store.HORIZON_ALLOWANCE, which
may not exceed the lead), and upstream's reading of an hour is made late in it (near :51), after
a flight leaving at H:10.

Upstream misses some hours, and some readings within an hour. `weather_known` is 1 when the hour
was observed; every missing reading, in an observed hour or not, takes the fixed fill below, so
the features are never NaN.
"""

from __future__ import annotations

import pandas as pd

from contracts.weather import WEATHER
from feature_definitions.errors import FeatureInputError
from feature_definitions.instants import utc_instants

# How long before a flight's departure hour its weather was observed: the one definition, used by
# the feature build, the online store's lookups and serve's fast path (WEATHER_LEAD_NS).
WEATHER_LEAD = pd.Timedelta(days=1)
WEATHER_LEAD_NS = int(WEATHER_LEAD.value)
# The lead travels with what is made from it, as the trailing window does: the feature build
# writes it into its statistics under this key, the evaluate stage into each model's
# registration (model_registry's METADATA_FEATURES_WEATHER_LEAD_HOURS), and serve refuses either
# when it is not this code's lead.
WEATHER_LEAD_HOURS_KEY = "weather_lead_hours"
WEATHER_LEAD_HOURS = int(WEATHER_LEAD / pd.Timedelta(hours=1))


def weather_lead_hours(hours: object, name: str) -> int:
    """`hours` as a recorded weather lead: a whole number of hours >= 0 (a bool is not one).
    Raises ValueError naming `name`, the key it was read from. Every side that reads a recorded
    lead checks it with this."""
    if isinstance(hours, bool) or not isinstance(hours, int) or hours < 0:
        raise ValueError(f"{name} must be a whole number of hours >= 0, got {hours!r}")
    return hours


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


def origins_without_weather(flights: pd.DataFrame, weather: pd.DataFrame) -> dict[str, int]:
    """How many of `flights` (an `origin` column) leave each origin that `weather` holds no
    observation of at all, sorted by origin: the training table gives those flights the fills,
    and the online store refuses them (ADR 0018). Both builds name them with this."""
    counts = flights["origin"].astype(str).value_counts().sort_index()
    observed = set(observed_weather(weather)["origin"].astype(str))
    return {str(origin): int(n) for origin, n in counts.items() if origin not in observed}


def flights_after_weather_ends(flights: pd.DataFrame, weather: pd.DataFrame) -> dict[str, int]:
    """How many of `flights` (`origin`, `time_hour`) at each origin `weather` observes take
    their weather from an hour after the origin's last observation, sorted by origin: a feed
    that stopped part-way. The training table gives those flights the fills, and the online
    store's horizon for the origin ends with its weather. Origins without any observation are
    origins_without_weather's."""
    observed = observed_weather(weather)
    last = observed.groupby("origin")["time_hour"].max()
    origin = flights["origin"].astype(str)
    ends = origin.map({str(name): end for name, end in last.items()})
    past = ends.notna() & (weather_hour(flights["time_hour"]) > ends)
    counts = origin[past.to_numpy()].value_counts().sort_index()
    return {str(name): int(n) for name, n in counts.items()}


def weather_hour(time_hour: pd.Series) -> pd.Series:
    """The UTC hour whose observation is the weather of a flight of `time_hour` (its scheduled
    departure hour; without an offset, New York time): time_hour - WEATHER_LEAD."""
    hours: pd.Series = utc_instants(time_hour) - WEATHER_LEAD
    return hours


def weather_features(
    origin: pd.Series, time_hour: pd.Series, weather: pd.DataFrame
) -> pd.DataFrame:
    """WEATHER_FEATURES for each flight (same index as `origin`): the readings at its origin in
    its `weather_hour`."""
    observed = observed_weather(weather).assign(**{WEATHER_KNOWN: 1})
    keys = pd.DataFrame(
        {"origin": origin.astype("string").to_numpy(), "time_hour": weather_hour(time_hour)}
    ).reset_index(drop=True)
    joined = keys.merge(observed, how="left", on=["origin", "time_hour"], validate="many_to_one")
    joined.index = origin.index
    features = pd.DataFrame(index=origin.index)
    features[WEATHER_KNOWN] = joined[WEATHER_KNOWN].notna().astype("int8")
    for column, fill in WEATHER_FILLS.items():
        features[column] = joined[column].astype("float64").fillna(fill)
    features["wind_gust"] = joined["wind_gust"].astype("float64").fillna(features[GUST_FALLBACK])
    return features[list(WEATHER_FEATURES)]
