"""The BentoML service. The model-backed /predict endpoint arrives with the serving issue; until
then the service answers with the features it would feed the model."""

from __future__ import annotations

from typing import Any

import bentoml
from bentoml.exceptions import InvalidArgument

from serve.request_features import BadRequest, request_features


@bentoml.service(traffic={"timeout": 10})
class FlightDelayService:
    @bentoml.api
    def features(self, flights: list[dict[str, Any]]) -> list[dict[str, int]]:
        try:
            return request_features(flights)
        except BadRequest as error:
            raise InvalidArgument(str(error)) from None
