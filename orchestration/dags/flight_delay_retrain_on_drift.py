"""Airflow DAG file: hourly drift check that triggers the pipeline DAG
(flight_orchestration/retrain.py)."""

from __future__ import annotations

from flight_orchestration.retrain import build_retrain_dag

dag = build_retrain_dag()
