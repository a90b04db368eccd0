"""Data: ODCS contracts, one-scan quality checks on DuckDB, dataset versions, sample data."""
