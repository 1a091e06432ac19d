"""Train service: fits models on the training table."""
