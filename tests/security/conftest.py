"""The standing probe: every attack an independent probe of a running server found, kept as a
test. Fixtures are shared with the rest of the suite (real SQLite, real PostgreSQL, the CLI)."""

from tests.cli.conftest import andon_env, run  # noqa: F401 - the CLI fixtures, shared
