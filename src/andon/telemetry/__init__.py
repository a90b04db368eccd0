"""Telemetry: OTLP intake, PII masking, tail sampling, hot DuckDB and cold Parquet tiers, SQL.

Producers hand over batches (the OTLP receiver, the native batch API, the gateway's spool);
the intake validates, masks and spools each batch durably before acknowledging it; one writer
process folds the spool into each team's hot DuckDB file, deciding every trace by the team's
tail-sampling policies; a retention job moves old days to Parquet; queries read both tiers.
"""
