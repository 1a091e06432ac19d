"""Feature service: builds the training table from curated flights."""
