"""The online feature store: the lookups `feature_definitions.compute_features` needs, written by
the feature service from the curated tables and read by serving for a request's keys."""
