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

_STATUS = {"pass": "green", "fail": "red", "error": "red", "not_checked": "yellow"}


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
    from andon.data.sql_guard import vet_contract

    text = read_contract_file(file)
    try:
        contract = parse_contract(text, source=str(file))
        vet_contract(contract)
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
    if record.granted_root:
        say(
            f"granted data root {record.granted_root} to team {record.team}: the contract was "
            "applied from there by its own user (andon data root list "
            f"{record.team})"
        )
    verb = "applied" if record.created else "unchanged:"
    say(
        f"{verb} contract [bold]{record.contract}[/] {record.version} for team {record.team} "
        f"({record.id}); datasets: {', '.join(record.datasets)}"
    )
    if record.status == "pending":
        say(
            f"[red]breaking schema change[/]: version {record.version} stays pending until a "
            f"data-steward decides it (andon contract changes {record.contract}; andon contract "
            f"approve {record.contract}@{record.version} --reason ...)"
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
    found = next(((k, v) for k, v in threshold.items() if k != "unit"), None)
    return f"{found[0]} {found[1]} {unit}".strip() if found else ""  # not_checked: none


def _said_applied(first: Any) -> None:
    """One stderr line: the first run of a contract file applied it (a ``FirstApply``)."""
    v = first.version
    team = f"new team '{v.team}' (yours)" if first.team_created else f"team '{v.team}'"
    note = f"; granted data root {v.granted_root}" if v.granted_root else ""
    sys.stderr.write(
        f"applied contract '{v.contract}' {v.version} to {team} (first run; andon contract "
        f"apply did the same{note})\n"
    )


def _said_incidents(opened: dict[str, str]) -> None:
    """One line naming the schema incidents a run opened (as `data snapshot` says its own)."""
    if opened:
        found = "; ".join(f"{i} opened for {name}" for name, i in opened.items())
        say(
            f"[red]schema incident[/] {found}: the live table breaks its contract (andon "
            "contract changes --status open)"
        )


@check_app.command("run")
def run(
    contract: str = typer.Argument(..., help="A contract file or an applied contract's id."),
    server: str = typer.Option(None, "--server", help="Server name (default: the first)."),
    fmt: CheckFormat = typer.Option(CheckFormat.table, "--format", "-f"),
    reason: str = ReasonOption,
    team: str = typer.Option(
        None, "--team", help="Owner of a file not applied yet (default: your one team)."
    ),
    strict: bool = typer.Option(
        False, "--strict", help="Fail (exit 4) when anything in the contract is not_checked."
    ),
) -> None:
    """Run every check of CONTRACT; exit 4 when an error-severity check fails.

    A contract file not applied yet is applied first, as `andon contract apply` would. What
    the contract declares and andon cannot check is listed as not_checked with the reason.
    """
    from andon.core.errors import GateFailed
    from andon.data import service as data

    result = data.run_checks(
        context(),
        contract,
        server=server,
        reason=reason,
        team=team,
        on_apply=_said_applied,
        strict=strict,
    )
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
        unchecked = f", {len(result.not_checked)} not checked" if result.not_checked else ""
        say(
            f"{verdict}: {result.errors_failed} error and {result.warnings_failed} warning "
            f"checks failing of {len(result.results)}{unchecked}; run {result.run_id}, "
            f"{result.queries} queries, {result.seconds:.2f} s; dataset versions "
            + ", ".join(f"{k}={v}" for k, v in result.dataset_version.items())
        )
        _said_incidents(result.schema_incidents)
    if not result.passed:
        failing = [
            r["check"]
            for r in result.results
            if r["status"] in ("fail", "error") and r["severity"] == "error"
        ]
        if result.strict:
            failing += [f"{name} (not_checked, --strict)" for name in result.not_checked]
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
    if v.schema_incident:
        say(
            f"[red]breaking schema change[/]: the table departs from its contract "
            f"({v.schema_incident}); see andon contract changes --status open"
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
        f"{found.queries} {'query' if found.queries == 1 else 'queries'}",
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
                ", ".join(
                    f"{short(v['value'], 10)} ({'≈' if c.top_value_counts_estimated else ''}"
                    f"{v['count']})"
                    for v in (c.top_values or [])[:3]
                ),
                ", ".join(f"{k} {v:.0%}" for k, v in c.formats.items()),
                unit(c.unit),
            )
            for c in found.columns
        ],
    )  # fmt: skip


# --------------------------------------------------------------------------- schema changes

_CHANGE_STATUS = {
    "pending": "red",
    "open": "red",
    "rejected": "yellow",
    "approved": "green",
    "accepted": "green",
    "resolved": "green",
}


@contract_app.command("changes")
def changes(
    contract: str = typer.Argument(None, help="Only this contract's changes (its id)."),
    status: str = typer.Option(
        None, "--status", help="Only pending, open, approved, rejected, accepted or resolved."
    ),
    fmt: Format = FormatOption,
) -> None:
    """Schema changes between contract versions and in live tables, newest first."""
    from andon.data import approvals

    found = approvals.list_schema_changes(context(), contract, status=status)
    if fmt is Format.json:
        print_json([c.as_dict() for c in found])
        return
    rows = []
    for c in found:
        colour = _CHANGE_STATUS.get(c.status, "white")
        what = f"{c.team}/{c.dataset} vs {c.ref}" if c.dataset else c.ref
        for change in c.changes:
            rows.append(
                (
                    f"[{colour}]{c.status}[/]",
                    what,
                    "[red]yes[/]" if change.breaking else "no",
                    change.kind,
                    change.where,
                    change.detail,
                )
            )
    print_table("schema changes", ["status", "of", "breaks", "change", "where", "detail"], rows)
    for c in found:
        origin = f" from {c.base_version}" if c.base_version else f" in {c.dataset_version}"
        decided = f"; {c.status} by {c.decided_by}: {c.reason}" if c.decided_by else ""
        hint = (
            f"; a data-steward decides: andon contract approve {c.ref} --reason ..."
            if c.status == "pending"
            else ""
        )
        say(f"{c.ref}{origin}: requested by {c.requested_by}{decided}{hint}")


@contract_app.command("approve")
def approve(
    version: str = typer.Argument(..., help="The pending version, as CONTRACT_ID@VERSION."),
    reason: str = typer.Option(..., "--reason", help="Why: recorded in the audit log."),
    fmt: Format = FormatOption,
) -> None:
    """Approve a pending breaking change (data-steward; not the one who applied it)."""
    from andon.data import approvals

    decided = approvals.approve_version(context(), version, reason=reason)
    if fmt is Format.json:
        print_json(decided.as_dict())
        return
    say(
        f"[green]approved[/] {decided.ref}: now the active version of {decided.contract} "
        f"({len(decided.changes)} changes, requested by {decided.requested_by})"
    )


@contract_app.command("reject")
def reject(
    version: str = typer.Argument(..., help="The pending version, as CONTRACT_ID@VERSION."),
    reason: str = typer.Option(..., "--reason", help="Why: recorded in the audit log."),
    fmt: Format = FormatOption,
) -> None:
    """Reject a pending breaking change: the active version stays (data-steward)."""
    from andon.data import approvals

    decided = approvals.reject_version(context(), version, reason=reason)
    if fmt is Format.json:
        print_json(decided.as_dict())
        return
    say(
        f"[yellow]rejected[/] {decided.ref}: {decided.contract} keeps version "
        f"{decided.base_version} (requested by {decided.requested_by})"
    )


@data_app.command("sample-change")
def sample_change(
    out: Path = typer.Option(Path(".andon/sample"), "--out", help="The sample's folder."),
) -> None:
    """Write orders-v2.odcs.yaml: the sample contract's version 2.0.0, with a breaking change."""
    from andon.data.sample import write_breaking_version

    path = write_breaking_version(out)
    say(f"wrote {path}: version 2.0.0 drops orders.customer_email (breaking)")
