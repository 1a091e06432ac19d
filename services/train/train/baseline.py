"""The scikit-learn baseline: the bar the PyTorch model has to clear.

hist_gradient_boosting (the default) reads the categorical features as categories (an unseen
one at serving time counts as missing) and stops adding trees when the validation split's loss
stops improving. logistic_regression one-hot encodes the categorical features (an unseen one
gets no weight) and standardises the numeric ones. Either way the whole pipeline, preprocessing
included, is one scikit-learn object that scores the feature frame directly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

from feature_definitions.features import FEATURES, Feature
from model_registry.predictor import model_frame
from train.data import TrainingDataError
from train.params import BaselineParams


@dataclass(frozen=True)
class BaselineFit:
    pipeline: Pipeline
    # Trees built (hist_gradient_boosting) or solver iterations (logistic_regression).
    iterations: int


def check_baseline_params(params: BaselineParams, rows: int) -> None:
    """Refuses parameters that the train split's `rows` make meaningless, before any fit."""
    if params.model == "hist_gradient_boosting" and 2 * params.min_samples_leaf > rows:
        # A split leaves min_samples_leaf rows on each side: every tree would be one leaf, and
        # the model the train split's delay rate, whatever the flight.
        raise TrainingDataError(
            f"train.baseline.min_samples_leaf {params.min_samples_leaf} is more than half the "
            f"train split's {rows:,} rows: no tree could split, so the model would learn nothing"
        )


def fit_baseline(
    train: tuple[pd.DataFrame, np.ndarray],
    validation: tuple[pd.DataFrame, np.ndarray],
    params: BaselineParams,
    seed: int,
    features: tuple[Feature, ...] = FEATURES,
) -> BaselineFit:
    categorical = [f.name for f in features if f.kind == "categorical"]
    numeric = [f.name for f in features if f.kind == "numeric"]
    x_train = model_frame(train[0], features)
    if params.model == "logistic_regression":
        encode = ColumnTransformer(
            [
                ("categorical", OneHotEncoder(handle_unknown="ignore"), categorical),
                ("numeric", StandardScaler(), numeric),
            ]
        )
        model = LogisticRegression(C=params.C, max_iter=2000, random_state=seed)
        pipeline = Pipeline([("encode", encode), ("model", model)]).fit(x_train, train[1])
        return BaselineFit(pipeline, int(np.max(model.n_iter_)))

    encode = ColumnTransformer(
        [
            (
                "categorical",
                OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=np.nan),
                categorical,
            )
        ],
        remainder="passthrough",
    ).fit(x_train)
    boosting = HistGradientBoostingClassifier(
        learning_rate=params.learning_rate,
        max_iter=params.max_iter,
        max_leaf_nodes=params.max_leaf_nodes,
        min_samples_leaf=params.min_samples_leaf,
        l2_regularization=params.l2_regularization,
        # The encoder puts the categorical columns first.
        categorical_features=list(range(len(categorical))),
        early_stopping=True,
        n_iter_no_change=params.n_iter_no_change,
        random_state=seed,
    )
    boosting.fit(
        encode.transform(x_train),
        train[1],
        X_val=encode.transform(model_frame(validation[0], features)),
        y_val=validation[1],
    )
    return BaselineFit(Pipeline([("encode", encode), ("model", boosting)]), int(boosting.n_iter_))
