"""The pipeline's days as its commands take them: ISO 8601 calendar dates, YYYY-MM-DD (land's
window, the feature splits' ends, params.yaml's dates)."""

from __future__ import annotations

import argparse
import datetime as dt
import re

_FORM = re.compile(r"\d{4}-\d{2}-\d{2}")


def calendar_date(text: str) -> dt.date:
    """An argparse type: `text` as a date, or an error that says which form is expected and, for
    a day the calendar does not have, why. Python's own parser also takes 20130101 and week
    dates; the documented form is the only one taken here."""
    if not _FORM.fullmatch(text):
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)")
    try:
        return dt.date.fromisoformat(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD): {error}") from None
