"""Ingest service: turns upstream flight files into curated, typed Parquet."""
