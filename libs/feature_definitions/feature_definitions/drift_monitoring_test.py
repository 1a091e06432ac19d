from feature_definitions.calendar import CALENDAR_FEATURES
from feature_definitions.drift_monitoring import NOT_DRIFT_MONITORED
from feature_definitions.features import FEATURE_COLUMNS


def test_only_features_of_the_model_bound_to_the_calendar_go_unwatched() -> None:
    assert NOT_DRIFT_MONITORED
    assert set(NOT_DRIFT_MONITORED) <= set(CALENDAR_FEATURES)
    assert set(NOT_DRIFT_MONITORED) <= set(FEATURE_COLUMNS)
