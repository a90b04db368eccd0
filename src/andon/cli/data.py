"""`andon contract ...`, `andon check ...`, `andon data ...`: contracts, checks, datasets."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer

from andon.cli._shared import (
    Format,
    FormatOption,
    ReasonOption,
    context,
    print_json,
    print_table,
    report,
    say,
)

contract_app = typer.Typer(help="ODCS v3 data contracts.", no_args_is_help=True)
check_app = typer.Typer(help="Run a contract's checks and see their history.", no_args_is_help=True)
data_app = typer.Typer(help="Sample data, dataset versions and diffs.", no_args_is_help=True)

_STATUS = {"pass": "green", "fail": "red", "error": "red"}


class CheckFormat(StrEnum):
    """Output formats of check runs."""

    table = "table"
    json = "json"
    junit = "junit"


@contract_app.command("validate")
def validate(file: Path, fmt: Format = FormatOption) -> None:
    """Check FILE against ODCS v3; list every problem at once (exit 2 when invalid)."""
    from andon.core.errors import Invalid
    from andon.data.checks import plan
    from andon.data.contracts import parse_contract, read_contract_file

    text = read_contract_file(file)
    try:
        contract = parse_contract(text, source=str(file))
    except Invalid as exc:
        errors = exc.details.get("errors", [str(exc)])
        if fmt is Format.json:
            print_json({"file": str(file), "valid": False, "errors": errors})
            raise typer.Exit(2) from None
        raise
    checks = plan(contract)
    if fmt is Format.json:
        print_json(
            {
                "file": str(file),
                "valid": True,
                "id": contract.id,
                "version": contract.version,
                "datasets": [o.name for o in contract.schema],
                "checks": len(checks),
                "errors": [],
            }
        )
        return
    say(
        f"[green]valid[/] {file}: contract [bold]{contract.id}[/] {contract.version}, "
        f"{len(contract.schema)} datasets, {len(checks)} checks"
    )


@contract_app.command("apply")
def apply(
    file: Path,
    team: str = typer.Option(..., "--team", help="The team that owns the contract."),
    reason: str = ReasonOption,
    fmt: Format = FormatOption,
) -> None:
    """Store FILE as a contract version owned by TEAM and register its datasets."""
    from andon.data import service as data

    record = data.apply_contract(context(), file, team, reason=reason)
    if fmt is Format.json:
        print_json(record.as_dict())
        return
    verb = "applied" if record.created else "unchanged:"
    say(
        f"{verb} contract [bold]{record.contract}[/] {record.version} for team {record.team} "
        f"({record.id}); datasets: {', '.join(record.datasets)}"
    )


@contract_app.command("list")
def list_(fmt: Format = FormatOption) -> None:
    """Applied contracts you can read (latest version of each)."""
    from andon.data import service as data

    report(
        fmt,
        data.list_contracts(context()),
        "contracts",
        ["contract", "version", "status", "team", "datasets", "applied"],
        lambda c: (
            c.contract,
            c.version,
            c.status,
            c.team,
            ", ".join(c.datasets),
            f"{c.applied_at:%Y-%m-%d %H:%M}Z by {c.applied_by}",
        ),
    )


def _fmt_value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return "" if value is None else str(value)


def _threshold(threshold: dict[str, Any]) -> str:
    unit = threshold.get("unit", "")
    op, value = next((k, v) for k, v in threshold.items() if k != "unit")
    return f"{op} {value} {unit}".strip()


@check_app.command("run")
def run(
    contract: str = typer.Argument(..., help="A contract file (applied) or an applied id."),
    server: str = typer.Option(None, "--server", help="Server name (default: the first)."),
    fmt: CheckFormat = typer.Option(CheckFormat.table, "--format", "-f"),
    reason: str = ReasonOption,
) -> None:
    """Run every check of CONTRACT; exit 4 when an error-severity check fails."""
    from andon.core.errors import GateFailed
    from andon.data import service as data

    result = data.run_checks(context(), contract, server=server, reason=reason)
    doc = result.as_dict()
    if fmt is CheckFormat.json:
        print_json(doc)
    elif fmt is CheckFormat.junit:
        from andon.data.report import to_junit

        sys.stdout.write(to_junit(doc) + "\n")
    else:
        print_table(
            f"contract {result.contract} {result.contract_version} on {result.server}",
            ["status", "severity", "check", "observed", "threshold", "failed rows"],
            [
                (
                    f"[{_STATUS[r['status']]}]{r['status']}[/]",
                    r["severity"],
                    r["check"],
                    _fmt_value(r["observed"]),
                    _threshold(r["threshold"]),
                    _fmt_value(r["failed_rows"]),
                )
                for r in result.results
            ],
        )
        verdict = "[green]passed[/]" if result.passed else "[red]FAILED[/]"
        say(
            f"{verdict}: {result.errors_failed} error and {result.warnings_failed} warning "
            f"checks failing of {len(result.results)}; run {result.run_id}, "
            f"{result.queries} queries, {result.seconds:.2f} s; dataset versions "
            + ", ".join(f"{k}={v}" for k, v in result.dataset_version.items())
        )
    if not result.passed:
        failing = [
            r["check"] for r in result.results if r["status"] != "pass" and r["severity"] == "error"
        ]
        raise GateFailed(
            f"{len(failing)} error-severity checks failed: {', '.join(failing)}",
            run_id=result.run_id,
        )


@check_app.command("history")
def history(
    dataset: str = typer.Argument(..., help="A dataset: team/name, or a name unique to one team."),
    limit: int = typer.Option(20, "--limit", min=1, max=1000),
    fmt: Format = FormatOption,
) -> None:
    """The latest check runs that read DATASET, newest first."""
    from andon.data import service as data

    report(
        fmt,
        data.check_history(context(), dataset, limit=limit),
        f"check history of {dataset}",
        [
            "run",
            "started",
            "dataset version",
            "contract",
            "pass",
            "fail (error)",
            "warn",
            "failing",
        ],
        lambda h: (
            h.run_id,
            f"{h.started_at:%Y-%m-%d %H:%M:%S}Z",
            h.dataset_version,
            h.contract_version,
            h.passed,
            h.failed_errors,
            h.failed_warnings,
            ", ".join(h.failing),
        ),
    )


@data_app.command("sample")
def sample(
    out: Path = typer.Option(Path(".andon/sample"), "--out", help="Folder to write into."),
    rows: int = typer.Option(10_000, "--rows", help="Orders to generate (1,000 to 10,000,000)."),
    seed: int = typer.Option(7, "--seed", help="Same seed, same data."),
    fmt: Format = FormatOption,
) -> None:
    """Write sample customers, orders and invoices with injected defects, and their contract."""
    from andon.data.sample import generate

    made = generate(out, rows=rows, seed=seed)
    if fmt is Format.json:
        print_json(made.as_dict())
        return
    say(
        f"wrote {', '.join(f'{n} ({c:,} rows)' for n, c in made.rows.items())} into {made.folder}; "
        f"contract {made.contract}; {len(made.defects)} injected defects listed in defects.json"
    )


@data_app.command("snapshot")
def snapshot(
    dataset: str = typer.Argument(..., help="A dataset: team/name, or a name unique to one team."),
    server: str = typer.Option(None, "--server", help="Server name (default: the first)."),
    materialize: bool = typer.Option(
        False, "--materialize", help="Also keep a Parquet copy in the artifact store."
    ),
    reason: str = ReasonOption,
    fmt: Format = FormatOption,
) -> None:
    """Record DATASET's current version: schema hash, row count, column fingerprints."""
    from andon.data import service as data

    v = data.snapshot_dataset(
        context(), dataset, server=server, materialize=materialize, reason=reason
    )
    if fmt is Format.json:
        print_json(v.as_dict())
        return
    say(
        f"{'new' if v.created else 'unchanged'} version [bold]{v.id}[/] of {v.team}/{v.dataset}: "
        f"{v.row_count:,} rows, {len(v.columns)} columns, schema {v.schema_hash[:12]}"
        + (f", artifact sha256:{v.artifact_digest[:12]}" if v.artifact_digest else "")
    )


@data_app.command("diff")
def diff(old: str, new: str, fmt: Format = FormatOption) -> None:
    """Schema changes, row-count change and changed columns between two dataset versions."""
    from andon.data import service as data

    result = data.diff_versions(context(), old, new)
    if fmt is Format.json:
        print_json(result.as_dict())
        return
    if result.identical:
        say(f"{old} and {new} hold the same schema and data")
        return
    a, b = result.row_count
    say(f"rows: {a:,} → {b:,} ({b - a:+,})")
    for c in result.added_columns:
        say(f"[green]+ {c}[/]")
    for c in result.removed_columns:
        say(f"[red]- {c}[/]")
    for change in result.retyped_columns:
        say(f"[yellow]~ {change['column']}: {change['old']} → {change['new']}[/]")
    if result.changed_columns:
        say(f"columns with changed values: {', '.join(result.changed_columns)}")


@data_app.command("profile")
def profile(
    dataset: str = typer.Argument(..., help="A dataset: team/name, or a name unique to one team."),
    server: str = typer.Option(None, "--server", help="Server name (default: the first)."),
    fmt: Format = FormatOption,
) -> None:
    """Profile DATASET: nulls, distinct, min/max, mean, quantiles, top values, formats, units."""
    from andon.data.profile import profile_dataset

    found = profile_dataset(context(), dataset, server=server)
    if fmt is Format.json:
        print_json(found.as_dict())
        return

    def short(value: Any, width: int = 16) -> str:
        text = _fmt_value(value)
        return text if len(text) <= width else text[: width - 1] + "…"

    def unit(u: dict[str, Any] | None) -> str:
        if not u:
            return ""
        return str(u["unit"]) + (f" ({u['scale_note']})" if "scale_note" in u else "")

    print_table(
        f"profile of {found.dataset}: {found.rows:,} rows, {found.sampled:,} sampled, "
        f"{found.queries} queries",
        ["column", "type", "null %", "distinct≈", "min", "max", "mean", "p50",
         "top values", "formats", "unit"],
        [
            (
                c.name + (" [red](pii)[/]" if c.pii else ""),
                c.type,
                f"{100 * c.null_share:.1f}",
                c.distinct,
                short(c.min),
                short(c.max),
                short(round(c.mean, 3) if isinstance(c.mean, float) else c.mean),
                short((c.quantiles or {}).get("p50")),
                ", ".join(f"{short(v['value'], 10)} ({v['count']})" for v in (c.top_values or [])[:3]),
                ", ".join(f"{k} {v:.0%}" for k, v in c.formats.items()),
                unit(c.unit),
            )
            for c in found.columns
        ],
    )  # fmt: skip
