"""`andon catalog ...`: classify a dataset's fields, review and decide catalog proposals."""

from __future__ import annotations

from enum import StrEnum

import typer

from andon.cli._shared import (
    Format,
    FormatOption,
    ReasonOption,
    context,
    fields_as,
    print_json,
    print_table,
    report,
    say,
)

app = typer.Typer(
    help="Field classification (PII, financial, operational) and catalog proposals.",
    no_args_is_help=True,
)

_CATEGORY = {"pii": "red", "financial": "yellow", "operational": "green"}


class EnricherName(StrEnum):
    """Which enricher proposes catalog metadata."""

    offline = "offline"
    llm = "llm"


@app.command("classify")
def classify(
    dataset: str = typer.Argument(..., help="A dataset: team/name, or a name unique to one team."),
    server: str = typer.Option(None, "--server", help="Server name (default: the first)."),
    enricher: EnricherName = typer.Option(
        EnricherName.offline, "--enricher", help="offline (deterministic) or llm."
    ),
    llm_url: str = typer.Option(
        None, "--llm-url", help="Base URL of an OpenAI-compatible API (for --enricher llm)."
    ),
    llm_model: str = typer.Option(None, "--llm-model", help="Model name (for --enricher llm)."),
    llm_key_env: str = typer.Option(
        "ANDON_LLM_API_KEY", "--llm-key-env", help="Environment variable holding the API key."
    ),
    llm_timeout: float = typer.Option(20.0, "--llm-timeout", help="Seconds to wait for it."),
    reason: str = ReasonOption,
    fmt: Format = FormatOption,
) -> None:
    """Tag every field of DATASET as PII, financial or operational; propose catalog metadata."""
    from andon.core.errors import Invalid
    from andon.data import catalog
    from andon.data.enrich import LLMEnricher

    chosen = None
    if enricher is EnricherName.llm:
        if not llm_url or not llm_model:
            raise Invalid("--enricher llm needs --llm-url and --llm-model", field="--enricher")
        with fields_as(base_url="--llm-url", model="--llm-model", timeout="--llm-timeout"):
            chosen = LLMEnricher.from_env(
                llm_url, llm_model, key_env=llm_key_env, timeout=llm_timeout
            )
    result = catalog.classify_dataset(
        context(), dataset, server=server, enricher=chosen, reason=reason
    )
    if fmt is Format.json:
        print_json(result.as_dict())
        return
    print_table(
        f"classification of {result.dataset} ({result.sampled:,} of {result.rows:,} rows sampled)",
        ["column", "category", "confidence", "tags", "evidence"],
        [
            (
                f.column,
                f"[{_CATEGORY[f.category]}]{f.category}[/]",
                f"{f.confidence:.2f}",
                ", ".join(f"{t.tag} {t.confidence:.2f}" for t in f.tags),
                "; ".join(_evidence(t.evidence) for t in f.tags),
            )
            for f in result.fields
        ],
    )
    say(
        f"{len(result.proposals)} new or updated proposals; review them with "
        f"`andon catalog proposals {result.dataset}`"
    )


def _evidence(evidence: dict[str, object]) -> str:
    parts = []
    if "name_pattern" in evidence:
        parts.append(f"name '{evidence['name_pattern']}'")
    if "validator" in evidence:
        share = float(evidence.get("matched_share", 0))  # type: ignore[arg-type]
        parts.append(f"{share:.0%} {evidence['validator']}")
    return " + ".join(parts)


@app.command("proposals")
def proposals(
    dataset: str = typer.Argument(..., help="A dataset: team/name, or a name unique to one team."),
    status: str = typer.Option(None, "--status", help="pending, accepted or rejected."),
    fmt: Format = FormatOption,
) -> None:
    """Catalog proposals for DATASET, oldest first."""
    from andon.data import catalog

    report(
        fmt,
        catalog.list_proposals(context(), dataset, status=status),
        f"catalog proposals for {dataset}",
        ["id", "status", "kind", "column", "value", "why", "decided"],
        lambda p: (
            p.id,
            p.status,
            p.kind,
            p.column or "",
            _value(p.value),
            p.rationale,
            f"{p.decided_by}: {p.reason}" if p.decided_by else "",
        ),
    )


def _value(value: dict[str, object]) -> str:
    shown = {k: v for k, v in value.items() if k not in ("confidence", "observed_lag_seconds")}
    if len(shown) == 1:
        return str(next(iter(shown.values())))
    return ", ".join(f"{k}={v}" for k, v in shown.items())


@app.command("accept")
def accept(proposal: str, reason: str = ReasonOption, fmt: Format = FormatOption) -> None:
    """Accept PROPOSAL: the dataset's contract gets a new version carrying it."""
    from andon.data import catalog

    record = catalog.accept_proposal(context(), proposal, reason=reason)
    if fmt is Format.json:
        print_json(record.as_dict())
        return
    say(
        f"accepted {record.kind} of {record.dataset}"
        + (f".{record.column}" if record.column else "")
        + f"; contract version {record.contract_version}"
        + (
            " is pending: the change breaks the contract, so another data-steward approves it "
            "(andon contract changes --status pending)"
            if record.contract_version_status == "pending"
            else ""
        )
    )


@app.command("reject")
def reject(proposal: str, reason: str = ReasonOption, fmt: Format = FormatOption) -> None:
    """Reject PROPOSAL (the same value is not proposed again)."""
    from andon.data import catalog

    record = catalog.reject_proposal(context(), proposal, reason=reason)
    if fmt is Format.json:
        print_json(record.as_dict())
        return
    say(
        f"rejected {record.kind} of {record.dataset}"
        + (f".{record.column}" if record.column else "")
    )
