"""The flight-delay pipeline's orchestration: Airflow DAGs built from dvc.yaml, and the drift
check that starts a retraining run. The modules without `airflow` in their imports (settings,
stages, window, drift) are plain Python, usable and tested outside Airflow."""
