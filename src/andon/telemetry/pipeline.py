"""The writer process's loop: teams' policies from the store, the gateway's span files, a pass.

:class:`Pipeline` is what ``andon telemetry serve`` runs beside the receiver (and ``andon
telemetry fold`` runs once): each pass it rereads every team's sampling document, tag schema
and every endpoint's latency objective (one read each, so a change applies on the next pass), turns the
gateway workers' OTLP/JSON files into masked spool batches of the endpoints' teams, and folds
the spool (:class:`~andon.telemetry.writer.Writer`), then sends kept traces on to another
collector when ``ANDON_TELEMETRY_EXPORT_URL`` is set (:class:`~andon.telemetry.exporter.Exporter`).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import select

from andon.core.config import Settings
from andon.core.errors import AndonError, Invalid
from andon.serve import queries as serve_queries
from andon.store.db import Database
from andon.store.tables import auth as t
from andon.store.tables import telemetry as tt
from andon.telemetry import budgets, masking, otlp, spool, tags
from andon.telemetry.exporter import Exporter, ExportReport, parse_headers
from andon.telemetry.sampling import DEFAULT_DOCUMENT, SamplingPolicy, parse
from andon.telemetry.tags import TagSchema
from andon.telemetry.writer import PassReport, Writer, exclusive

log = logging.getLogger("andon.telemetry")
_DEFAULT = parse(DEFAULT_DOCUMENT)


class Pipeline:
    """Folds one andon home's telemetry (hold :func:`exclusive` around :meth:`run`)."""

    def __init__(self, db: Database, settings: Settings, clock: Callable[[], int] = time.time_ns):
        self.db, self.home, self.clock = db, Path(settings.home), clock
        self.policies: dict[str, SamplingPolicy] = {}
        self.unmasked: dict[str, frozenset[str]] = {}
        self.tags: dict[str, TagSchema] = {}
        self.objectives: dict[str, dict[str, float]] = {}
        self._documents: dict[str, object] = {}
        self.unattributed = 0  # gateway spans of no endpoint's team (404s, refused tokens)
        self.exporter: Exporter | None = None
        if settings.telemetry_export_url:
            secret = settings.telemetry_export_headers
            headers = parse_headers(secret.get_secret_value() if secret else None)
            self.exporter = Exporter(self.home, settings.telemetry_export_url, headers)
        self.exported = ExportReport()
        self.writer = Writer(
            self.home,
            self.policy_of,
            self.objectives_of,
            clock,
            export=self.exporter is not None,
            tags_of=self.tags.get,
        )

    def policy_of(self, team: str) -> SamplingPolicy:
        """The team's sampling policy (the default when it set none)."""
        return self.policies.get(team, _DEFAULT)

    def objectives_of(self, team: str) -> dict[str, float]:
        """The team's endpoints' p95 objectives in milliseconds."""
        return self.objectives.get(team, {})

    def refresh(self) -> None:
        """Reread sampling documents, allow-lists and endpoint objectives."""
        today = datetime.fromtimestamp(self.clock() / 1e9, UTC).date()
        with self.db.read() as session:
            rows = session.execute(
                select(
                    t.Team.name,
                    tt.TelemetrySettings.sampling,
                    tt.TelemetrySettings.unmasked,
                    tt.TelemetrySettings.budget,
                    tt.TelemetrySettings.tags,
                    tt.TelemetryUsage.exceeded,
                )
                .join(tt.TelemetrySettings, tt.TelemetrySettings.team_id == t.Team.id)
                .outerjoin(
                    tt.TelemetryUsage,
                    (tt.TelemetryUsage.team_id == t.Team.id) & (tt.TelemetryUsage.day == today),
                )
            ).all()
        policies: dict[str, SamplingPolicy] = {}
        schemas: dict[str, dict[str, object]] = {}
        for team, stored, unmasked, budget, schema, exceeded in rows:
            self.unmasked[team] = frozenset(unmasked or ())
            if schema is not None:
                schemas[team] = schema
            document = stored
            if exceeded and (budget or {}).get("action") == "sample_harder":
                # past the day's budget: healthy traces sampled harder, errors still kept
                document = budgets.harder(stored if stored is not None else DEFAULT_DOCUMENT)
            if document is None:
                continue
            if self._documents.get(team) == document and team in self.policies:
                policies[team] = self.policies[team]  # the same object: the sampler keeps its rates
                continue
            try:
                policies[team] = parse(document)
                self._documents[team] = document
            except Invalid as exc:  # stored documents were checked; a newer andon may differ
                log.warning(
                    "team %s: its sampling document is refused (%s); default used", team, exc
                )
        self.policies = policies
        self._tag_schemas(schemas)
        objectives: dict[str, dict[str, float]] = {}
        for name, spec in serve_queries.load_snapshot(self.db).endpoints.items():
            if spec.slo_p95_ms:
                objectives.setdefault(spec.team, {})[name] = float(spec.slo_p95_ms)
        self.objectives = objectives

    def _tag_schemas(self, documents: dict[str, dict[str, object]]) -> None:
        """Each team's tag schema, with the keys its sampling policies test added."""
        schemas: dict[str, TagSchema] = {}
        for team, document in documents.items():
            try:
                schema = tags.parse(document)
            except Invalid as exc:  # stored documents were checked; a newer andon may differ
                log.warning("team %s: its tag schema is refused (%s); not applied", team, exc)
                continue
            schemas[team] = schema.with_keys(self.policy_of(team).attribute_keys)
        self.tags.clear()  # the writer holds this dict's ``get``
        self.tags.update(schemas)

    def gateway_spans(self) -> int:
        """Turn the gateway's span files into spool batches of each endpoint's team (masked
        with that team's allow-list); returns how many files were taken."""
        taken = 0
        for path in spool.gateway_files(self.home):
            try:
                decoded = otlp.decode_traces(path.read_bytes(), True, "", time.time_ns())
            except (AndonError, OSError) as exc:
                log.warning("a gateway span file does not decode and is set aside: %s", exc)
                path.rename(path.with_suffix(".rejected"))
                continue
            table = decoded.table
            teams = pa.array([_team_attribute(a) for a in table.column("attributes").to_pylist()])
            for team in sorted({x for x in teams.to_pylist() if x}):
                rows = table.filter(pc.equal(teams, team))
                rows = rows.set_column(
                    rows.schema.get_field_index("team"), "team", pa.array([team] * rows.num_rows)
                )
                masked, _ = masking.mask_table(rows, self.unmasked.get(team, frozenset()))
                spool.write(self.home, team, "spans", masked)
            self.unattributed += int(pc.sum(pc.is_null(teams)).as_py() or 0)
            path.unlink(missing_ok=True)
            taken += 1
        return taken

    def run_once(self) -> PassReport:
        """One pass: refresh, take the gateway's files, fold the spool, export kept traces."""
        self.refresh()
        self.gateway_spans()
        report = self.writer.run_once()
        if self.exporter is not None:
            self.exported = self.exporter.run_once()
        return report

    def run(self, stop: threading.Event, every: float = 0.5) -> None:
        """Pass after pass until ``stop`` is set; a failing pass is logged and retried (the
        spool keeps everything it did not fold)."""
        with exclusive(self.home):
            while not stop.is_set():
                try:
                    self.run_once()
                except AndonError as exc:
                    log.warning("a telemetry pass did not finish: %s", exc)
                except Exception:
                    log.exception("a telemetry pass failed")
                stop.wait(every)


def _team_attribute(attributes: str) -> str | None:
    if '"andon.team"' not in attributes:
        return None
    value = json.loads(attributes).get("andon.team")
    return value if isinstance(value, str) and value else None
