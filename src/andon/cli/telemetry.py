"""`andon telemetry`: the OTLP receiver and writer, SQL over both tiers, tail sampling, retention."""

from __future__ import annotations

import csv
import sys
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer

from andon.cli._shared import (
    Format,
    FormatOption,
    ReasonOption,
    context,
    database,
    print_json,
    print_table,
    say,
    settings,
)

app = typer.Typer(
    help="Telemetry: receive OTLP, keep traces by tail sampling, query both tiers with SQL.",
    no_args_is_help=True,
)
policy_app = typer.Typer(
    help="A team's sampling document and unmasked attributes.", no_args_is_help=True
)
app.add_typer(policy_app, name="policy")
budget_app = typer.Typer(help="A team's telemetry budget in bytes per day.", no_args_is_help=True)
app.add_typer(budget_app, name="budget")
tags_app = typer.Typer(
    help="A team's tag schema: the attribute keys it keeps and their limits.", no_args_is_help=True
)
app.add_typer(tags_app, name="tags")


class QueryFormat(StrEnum):
    """Output formats of `andon telemetry query`."""

    table = "table"
    json = "json"
    csv = "csv"


@app.command("serve")
def telemetry_serve(
    host: str = typer.Option(None, "--host", help="Address to bind (default 127.0.0.1)."),
    port: int = typer.Option(None, "--port", help="Port to bind (default 4318).", min=1, max=65535),
) -> None:
    """Receive OTLP/HTTP (/v1/traces, /v1/metrics, /v1/logs) and fold it, until Ctrl-C."""
    import threading

    import uvicorn

    from andon.core.config import load_settings
    from andon.telemetry.pipeline import Pipeline
    from andon.telemetry.receiver import Receiver
    from andon.telemetry.writer import exclusive

    overrides = {k: v for k, v in {"host": host, "telemetry_port": port}.items() if v is not None}
    cfg = load_settings(**overrides)
    db = database(cfg)
    pipeline = Pipeline(db, cfg)
    with exclusive(Path(cfg.home)):
        pass  # refuse at once when another writer holds this home
    stop = threading.Event()
    folding = threading.Thread(target=pipeline.run, args=(stop,), name="andon-telemetry-writer")
    folding.start()
    say(
        f"andon telemetry receiving OTLP on [bold]http://{cfg.host}:{cfg.telemetry_port}/v1/traces[/]"
        " (and /v1/metrics, /v1/logs); Ctrl-C stops"
    )
    try:
        uvicorn.run(Receiver(db, cfg).app, host=cfg.host, port=cfg.telemetry_port,
                    log_level="warning")  # fmt: skip
    finally:
        stop.set()
        folding.join()


@app.command("fold")
def telemetry_fold(fmt: Format = FormatOption) -> None:
    """Fold what waits in the spool now (one pass of the writer)."""
    from andon.telemetry.pipeline import Pipeline
    from andon.telemetry.writer import exclusive

    cfg = settings()
    pipeline = Pipeline(database(cfg), cfg)
    with exclusive(Path(cfg.home)):
        done = pipeline.run_once()
    figures = {
        "files": done.files, "spans": done.spans, "metrics": done.metrics, "logs": done.logs,
        "kept_traces": done.kept_traces, "dropped_traces": done.dropped_traces,
        "late_kept": done.late_kept, "late_dropped": done.late_dropped,
        "overturned": done.overturned, "tags_dropped": done.tags_dropped,
        "tags_hashed": done.tags_hashed, "teams": done.teams,
    }  # fmt: skip
    sent = pipeline.exported
    if pipeline.exporter is not None:
        figures["exported"] = {"spans": sent.exported, "refused": sent.refused,
                               "dropped": sent.dropped, "retry_later": sent.waiting}  # fmt: skip
    if fmt is Format.json:
        print_json(figures)
        return
    say(
        f"folded {done.files} batches: {done.spans} spans ({done.kept_traces} traces kept, "
        f"{done.dropped_traces} dropped), {done.metrics} metric points, {done.logs} log records"
    )
    if pipeline.exporter is not None:
        later = (
            "; the collector is not taking more now, the rest stays queued" if sent.waiting else ""
        )
        say(f"exported {sent.exported} kept spans ({sent.refused} refused){later}")


@app.command("query")
def telemetry_query(
    sql: str = typer.Argument(
        ..., help="One read-only SELECT over the views spans, metrics, logs."
    ),
    team: list[str] = typer.Option(
        None, "--team", help="Only these teams (default: all you may read)."
    ),
    fmt: QueryFormat = typer.Option(
        QueryFormat.table, "--format", "-f", help="table, json or csv."
    ),
) -> None:
    """Run one SQL statement over the hot and cold tiers."""
    from andon.telemetry import service

    result = service.query(context(), sql, team or None)
    if fmt is QueryFormat.json:
        print_json(result.as_dict())
        return
    rows = result.table.to_pylist()
    names = result.table.column_names
    if fmt is QueryFormat.csv:
        writer = csv.writer(sys.stdout)
        writer.writerow(names)
        writer.writerows([row[n] for n in names] for row in rows)
    else:
        print_table("telemetry", names, [[row[n] for n in names] for row in rows], markup=False)
    if result.truncated:
        say(f"[yellow]the first {len(rows)} rows; add a LIMIT or aggregate[/]")


@app.command("sampling")
def telemetry_sampling(
    team: list[str] = typer.Option(None, "--team", help="Only these teams."),
    fmt: Format = FormatOption,
) -> None:
    """Traces and spans kept and dropped, per team and policy."""
    from andon.telemetry import service

    rows = service.sampling_report(context(), team or None)
    if fmt is Format.json:
        print_json(rows)
        return
    print_table(
        "sampling",
        ["team", "decision", "policy", "traces", "spans", "late spans"],
        [
            (r["team"], r["decision"], r["policy"], r["traces"], r["spans"], r["late_spans"])
            for r in rows
        ],
    )


@app.command("retain")
def telemetry_retain(
    team: str = typer.Option(..., "--team", help="The team whose telemetry to move and expire."),
    hot_days: int = typer.Option(30, "--hot-days", help="Days kept in the hot tier.", min=1),
    cold_days: int = typer.Option(180, "--cold-days", help="Days kept in the cold tier.", min=1),
    fmt: Format = FormatOption,
) -> None:
    """Move days past --hot-days to the cold tier (Parquet) and delete days past --cold-days."""
    from andon.telemetry import service

    done = service.retain(
        context(), team, datetime.now(UTC).date(), hot_days=hot_days, cold_days=cold_days
    )
    if fmt is Format.json:
        print_json(done.as_dict())
        return
    say(
        f"team {team}: {done.moved_rows} rows moved to the cold tier in {done.moves} moves"
        f" ({done.finished} interrupted moves finished), {done.expired_days} cold days deleted"
    )


@policy_app.command("show")
def policy_show(team: str = typer.Argument(..., help="The team.")) -> None:
    """The team's sampling document in force and its unmasked attributes (JSON)."""
    from andon.telemetry import service

    print_json(service.telemetry_settings(context(), team).as_dict())


@policy_app.command("set")
def policy_set(
    team: str = typer.Argument(..., help="The team."),
    file: Path = typer.Argument(
        None, help="A sampling document (YAML or JSON).", exists=True, dir_okay=False
    ),
    default: bool = typer.Option(False, "--default", help="Go back to the default policies."),
    reason: str = ReasonOption,
) -> None:
    """Set the team's tail-sampling policies (the OpenTelemetry Collector's shape)."""
    from andon.core.errors import Invalid
    from andon.telemetry import service

    if (file is None) != default:
        raise Invalid("give either a sampling document or --default", field="file")
    document = _document(file) if file is not None else None
    done = service.set_sampling(context(), team, document, reason=reason)
    say(f"team {team}: sampling document version {done.version}")


@policy_app.command("unmask")
def policy_unmask(
    team: str = typer.Argument(..., help="The team."),
    keys: list[str] = typer.Argument(None, help="Attribute keys stored unmasked (none: mask all)."),
    reason: str = ReasonOption,
) -> None:
    """Set which attribute keys the team stores unmasked (a data steward's decision)."""
    from andon.telemetry import service

    done = service.set_unmasked(context(), team, keys or [], reason=reason)
    say(f"team {team}: {len(done.unmasked)} attributes stored unmasked (version {done.version})")


@budget_app.command("show")
def budget_show(
    team: str = typer.Argument(..., help="The team."), fmt: Format = FormatOption
) -> None:
    """The team's daily telemetry budget and what it spent today (UTC)."""
    from andon.telemetry import service

    status = service.budget_status(context(), team)
    if fmt is Format.json:
        print_json(status)
        return
    budget = status["budget"]
    if budget is None:
        say(f"team {team}: no telemetry budget; {status['bytes']:,} bytes today")
        return
    state = (
        "over, " + budget["action"]
        if status["exceeded"]
        else "warned"
        if status["warned"]
        else "within"
    )
    say(
        f"team {team}: {status['bytes']:,} of {budget['bytes_per_day']:,} bytes today "
        f"({status['percent']}%, {state}); resets at {status['resets_at']}"
    )


@budget_app.command("set")
def budget_set(
    team: str = typer.Argument(..., help="The team."),
    bytes_per_day: int = typer.Option(None, "--bytes-per-day", help="Bytes a UTC day may take."),
    warn_at: float = typer.Option(0.8, "--warn-at", help="Share of the budget that warns."),
    action: str = typer.Option(
        "refuse", "--action", help="At the cap: refuse, drop_debug_logs or sample_harder."
    ),
    remove: bool = typer.Option(False, "--none", help="Remove the team's budget."),
    reason: str = ReasonOption,
) -> None:
    """Set the team's telemetry budget in bytes per day and what happens at the cap."""
    from andon.core.errors import Invalid
    from andon.telemetry import service

    if (bytes_per_day is None) != remove:
        raise Invalid("give either --bytes-per-day or --none", field="bytes_per_day")
    budget = None if remove else {"bytes_per_day": bytes_per_day, "warn_at": warn_at,
                                  "action": action}  # fmt: skip
    done = service.set_budget(context(), team, budget, reason=reason)
    say(f"team {team}: telemetry budget {'removed' if remove else 'set'} (version {done.version})")


def _document(file: Path) -> Any:
    """A YAML or JSON document read from ``file`` (bounded), :class:`Invalid` if it is neither."""
    import yaml  # type: ignore[import-untyped]

    from andon.core.errors import Invalid
    from andon.core.yaml_limits import load_bounded

    try:
        return load_bounded(file.read_text(encoding="utf-8"), source=str(file))
    except yaml.YAMLError as exc:
        raise Invalid(f"{file} is not YAML: {str(exc).splitlines()[0]}", field="file") from None


@tags_app.command("show")
def tags_show(team: str = typer.Argument(..., help="The team.")) -> None:
    """The team's tag schema in full (JSON; null when it has none)."""
    from andon.telemetry import service

    print_json(service.telemetry_settings(context(), team).tags)


@tags_app.command("set")
def tags_set(
    team: str = typer.Argument(..., help="The team."),
    file: Path = typer.Argument(
        None, help="A tag schema (YAML or JSON).", exists=True, dir_okay=False
    ),
    remove: bool = typer.Option(False, "--none", help="Remove the schema: store tags as sent."),
    reason: str = ReasonOption,
) -> None:
    """Set the tag schema the writer applies to the team's attributes from its next pass."""
    from andon.core.errors import Invalid
    from andon.telemetry import service

    if (file is None) != remove:
        raise Invalid("give either a tag schema or --none", field="file")
    document = _document(file) if file is not None else None
    if document is not None and not isinstance(document, dict):
        raise Invalid("a tag schema is a mapping with a 'tags' entry", field="file")
    done = service.set_tags(context(), team, document, reason=reason)
    say(f"team {team}: tag schema {'removed' if remove else 'set'} (version {done.version})")


@app.command("cardinality")
def telemetry_cardinality(
    team: str = typer.Option(..., "--team", help="The team."),
    days: int = typer.Option(1, "--days", help="UTC days back to look, today included.", min=1),
    schema: Path = typer.Option(
        None,
        "--schema",
        help="A tag schema to try (default: the team's own).",
        exists=True,
        dir_okay=False,
    ),
    top: int = typer.Option(20, "--top", help="Keys listed in the table.", min=1),
    fmt: Format = FormatOption,
) -> None:
    """The attribute keys with the most distinct values, and what a tag schema keeps and saves."""
    from datetime import timedelta

    from andon.core.errors import Invalid
    from andon.telemetry import service

    proposed = _document(schema) if schema is not None else None
    if schema is not None and not isinstance(proposed, dict):
        raise Invalid("a tag schema is a mapping with a 'tags' entry", field="schema")
    since = datetime.now(UTC).date() - timedelta(days=days - 1)
    done = service.cardinality_report(context(), team, since, proposed)
    if fmt is Format.json:
        print_json(done.as_dict())
        return
    rows = [(k.key, k.distinct, k.occurrences, f"{k.bytes:,}", k.verdict, f"{k.saves:,}",
             k.guarded) for k in done.keys[:top]]  # fmt: skip
    print_table("cardinality",
                ["key", "distinct/day", "values", "bytes", "schema", "saves", "guard removed"],
                rows, markup=False)  # fmt: skip
    if done.schema == "none":
        say(f"team {team}: {done.keys_before} keys since {done.since}, no tag schema set; "
            "try one with --schema FILE")  # fmt: skip
        return
    saved = done.bytes_before - done.bytes_after
    share = f" ({100 * saved / done.bytes_before:.0f} %)" if done.bytes_before else ""
    which = "the proposed schema" if done.schema == "proposed" else "its tag schema"
    say(f"team {team}, {which}: {done.keys_before} keys -> {done.keys_after}; "
        f"{done.bytes_before:,} attribute bytes -> {done.bytes_after:,}, {saved:,} saved{share}")  # fmt: skip
