"""Settings of the ecs runner (Variable flight_delay_ecs) and a run ID, shared by the runner
tests."""

from __future__ import annotations

ECS_SETTINGS: dict[str, object] = {
    "cluster": "ml-platform-prod",
    "task_definitions": {
        "ingest": "ml-platform-prod-ingest",
        "feature": "ml-platform-prod-feature",
        "train": "ml-platform-prod-train",
    },
    "subnets": ["subnet-1", "subnet-2"],
    "security_groups": ["sg-1"],
    "params_prefix": "s3://prod-artifacts/runs/",
}
RUN_ID = "manual__2013-12-03T00:00:00+00:00"
SAGEMAKER: dict[str, object] = {
    "image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/ml-platform-prod/train:abc123",
    "role_arn": "arn:aws:iam::123456789012:role/ml-platform-prod-sagemaker-training",
    "instance_type": "ml.g5.xlarge",
    "instance_count": 2,
    "output_path": "s3://prod-artifacts/models/sagemaker",
    "file_system_id": "fs-0123abcd",
    "directory_path": "/pipeline",
}
