"""Tests of `forecast.results`: tables, summaries, risk, Parquet round trips."""
