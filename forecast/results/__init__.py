"""What a run gives: the Forecast object, summaries, risk measures, Parquet with provenance."""
