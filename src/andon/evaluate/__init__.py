"""The evaluation harness: suites, quality/slice/bias/latency/cost metrics, champion deltas."""
