"""Terraform for the platform, driven from Python: the engine, the driver, and the helpers that
hand an environment's outputs to the pipeline. See infra/README.md."""
