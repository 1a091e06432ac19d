"""Airflow DAG file: the flight-delay pipeline, one task per dvc.yaml stage
(flight_orchestration/pipeline.py)."""

from __future__ import annotations

from flight_orchestration.pipeline import build_pipeline_dag

dag = build_pipeline_dag()
