"""`andon endpoint apply|list|show|deployments|variants|violations|scale-advice`: the
endpoints the gateway serves."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from andon.cli._shared import Format, FormatOption, ReasonOption, context, print_json, report, say

if TYPE_CHECKING:
    from andon.serve.records import DeploymentRecord

endpoint_app = typer.Typer(
    help="Gateway endpoints: LLM proxies and registry models, declared in YAML.",
    no_args_is_help=True,
)


def _serves(spec: dict[str, Any]) -> str:
    if spec["kind"] == "model":
        return f"{spec['model']}@{spec['alias']}"
    return ", ".join(u["url"] for u in spec["upstreams"])


@endpoint_app.command("apply")
def endpoint_apply(
    file: Path = typer.Argument(..., help="An endpoint YAML file."),
    reason: str = ReasonOption,
) -> None:
    """Check and store an endpoint (a new version when it changed; exit 2 when invalid)."""
    from andon.core.errors import NotFound
    from andon.serve import service

    if not file.is_file():
        raise NotFound(f"no file at {file}", field="file")
    record = service.apply_endpoint(context(), file.read_text(encoding="utf-8"), reason=reason)
    state = "applied" if record.changed else "unchanged"
    say(
        f"endpoint {record.name} v{record.version} of team {record.team} {state}: "
        f"{record.kind}, serves {_serves(record.spec)}"
    )


@endpoint_app.command("sample")
def endpoint_sample(
    out: Path = typer.Option(..., "--out", help="The folder to write the YAML files into."),
    team: str = typer.Option("fraud-ml", "--team", help="The team the endpoints belong to."),
    llm_url: str = typer.Option(
        "http://127.0.0.1:8781/v1", "--llm-url", help="The LLM endpoint's upstream base URL."
    ),
) -> None:
    """Write the demo line's sample endpoints: the fraud model and an LLM explainer."""
    from andon.serve.sample import sample_endpoints

    out.mkdir(parents=True, exist_ok=True)
    for name, text in sample_endpoints(team, llm_url).items():
        (out / name).write_text(text, encoding="utf-8")
        say(f"wrote {out / name}")


@endpoint_app.command("list")
def endpoint_list(
    team: str = typer.Option(None, "--team", help="Only this team's endpoints."),
    fmt: Format = FormatOption,
) -> None:
    """The endpoints you may read."""
    from andon.serve import service

    report(
        fmt,
        service.list_endpoints(context(), team),
        "endpoints",
        ["name", "team", "kind", "version", "serves", "applied by", "at"],
        lambda e: (
            e.name,
            e.team,
            e.kind,
            str(e.version),
            _serves(e.spec),
            e.applied_by,
            e.applied_at.strftime("%Y-%m-%d %H:%M"),
        ),
    )


@endpoint_app.command("show")
def endpoint_show(
    name: str = typer.Argument(..., help="The endpoint name."),
    fmt: Format = FormatOption,
) -> None:
    """One endpoint: what it serves, its limits, timeout, retries and fallback."""
    from andon.serve import service

    ctx = context()
    record = service.get_endpoint(ctx, name)
    deployments = service.list_deployments(ctx, name) if record.kind == "model" else []
    if fmt is Format.json:
        print_json({**record.as_dict(), "deployments": [d.as_dict() for d in deployments]})
        return
    spec = record.spec
    say(f"[bold]{record.name}[/] v{record.version} ({record.kind}) of team {record.team}")
    if spec["description"]:
        say(f"  {spec['description']}")
    if record.kind == "model":
        say(f"  serves {spec['model']}@{spec['alias']}")
        if spec.get("canary"):
            canary = spec["canary"]
            say(f"  canary: {canary['percent']} % of callers get {spec['model']}@{canary['alias']}")
        if spec.get("shadow"):
            say(f"  shadow: every request also runs on {spec['model']}@{spec['shadow']['alias']}")
    for i, upstream in enumerate(spec["upstreams"]):
        key = f", key from ${upstream['api_key_env']}" if upstream["api_key_env"] else ""
        model = f" as {upstream['model']}" if upstream["model"] else ""
        say(f"  upstream {i + 1}: {upstream['url']}{model}{key}")
    limits = spec["limits"]
    say(
        f"  timeout {spec['timeout_ms']} ms, at most {spec['retries']} retries; "
        f"{limits['max_in_flight']} in flight, {limits['max_queue']} queued, "
        f"bodies up to {limits['max_body']} bytes"
    )
    say(f"  fallback: {spec['fallback'] if spec['fallback'] else 'none (503 when stopped)'}")
    for line in _policy_lines(spec):
        say(f"  {line}")
    say(f"  applied by {record.applied_by} at {record.applied_at:%Y-%m-%d %H:%M}")
    if record.kind == "model":
        if not deployments:
            say(f"  deployments: none yet ({spec['model']}@{spec['alias']} is not set)")
        for d in deployments[:5]:
            say(f"  deployed {_deployment(d)}")
        if len(deployments) > 5:
            say(f"  ... {len(deployments) - 5} earlier: `andon endpoint deployments {name}`")


def _policy_lines(spec: dict[str, Any]) -> list[str]:
    """Rate limits, the latency objective, output guards and prompt logging, as set."""
    unit = {1000: "s", 60_000: "m", 3_600_000: "h"}
    lines = [
        f"rate limit per {r['scope']}: {r['rate']}/{unit.get(r['per_ms'], str(r['per_ms']) + 'ms')}"
        f" (burst {r['burst']})"
        for r in spec.get("rate_limits") or []
    ]
    if spec.get("slo_p95_ms"):
        lines.append(f"latency objective: p95 within {spec['slo_p95_ms']} ms")
    guards = spec.get("guards")
    if guards:
        checks = [f"pii {', '.join(guards['pii'])}" if guards["pii"] else ""]
        checks.append(f"{len(guards['deny'])} deny pattern(s)" if guards["deny"] else "")
        checks.append("a JSON schema" if guards["json_schema"] else "")
        checks.append(f"at most {guards['max_chars']} characters" if guards["max_chars"] else "")
        trip = guards.get("trip")
        then = (
            f"; {trip['violations']} in {trip['window_ms'] // 1000} s pull the cord" if trip else ""
        )
        lines.append(
            f"output guards: {'; '.join(c for c in checks if c)} "
            f"(on violation: {guards['on_violation']}{then})"
        )
    if spec.get("log_prompts"):
        lines.append("prompts and answers kept on spans, personal data masked")
    return lines


def _cause(d: DeploymentRecord) -> str:
    if d.cause in ("promote", "rollback"):
        return f"{d.cause} {d.promotion_id}"
    return "alias moved by hand" if d.cause == "alias" else "no move on record"


def _deployment(d: DeploymentRecord) -> str:
    was = f" (was v{d.from_version})" if d.from_version is not None else ""
    return f"{d.model} v{d.version}{was} at {d.deployed_at:%Y-%m-%d %H:%M}: {_cause(d)}"


@endpoint_app.command("deployments")
def endpoint_deployments(
    name: str = typer.Argument(..., help="The endpoint name."),
    sync: bool = typer.Option(
        False, "--sync", help="First record what moved since the last deployment."
    ),
    fmt: Format = FormatOption,
) -> None:
    """The model versions a model endpoint started serving, newest first, and why."""
    from andon.serve import service

    ctx = context()
    if sync:
        service.sync_deployments(ctx, name)
    report(
        fmt,
        service.list_deployments(ctx, name),
        "deployments",
        ["version", "was", "model", "alias", "cause", "promotion", "recorded by", "at"],
        lambda d: (
            str(d.version),
            "" if d.from_version is None else str(d.from_version),
            d.model,
            d.alias,
            d.cause or "",
            d.promotion_id or "",
            d.recorded_by,
            d.deployed_at.strftime("%Y-%m-%d %H:%M"),
        ),
    )


@endpoint_app.command("scale-advice")
def endpoint_scale_advice(
    name: str = typer.Argument(..., help="The endpoint name."),
    gateway_url: str = typer.Option("http://127.0.0.1:8780", "--gateway", help="Gateway URL."),
    window: float = typer.Option(
        10.0, "--window", help="Seconds between the two scrapes.", min=0.5
    ),
    workers: int = typer.Option(2, "--workers", help="Worker processes per replica.", min=1),
    target: float = typer.Option(
        0.7, "--target", help="Utilisation to run at (0-1].", min=0.05, max=1.0
    ),
    fmt: Format = FormatOption,
) -> None:
    """Replicas an endpoint needs, by Little's law on the gateway's own metrics, and the
    Kubernetes HPA and KEDA objects that would scale on the same signal."""
    import time
    import urllib.request

    from andon.core.errors import Unavailable
    from andon.gateway import scaling
    from andon.serve import service

    record = service.get_endpoint(context(), name)

    def scrape() -> str:
        try:
            with urllib.request.urlopen(gateway_url + "/metrics", timeout=10) as answer:  # noqa: S310
                return str(answer.read().decode())
        except OSError as exc:
            raise Unavailable(
                f"cannot read {gateway_url}/metrics: {exc}", field="gateway_url"
            ) from None

    before = scaling.sample(scrape(), name)
    time.sleep(window)
    after = scaling.sample(scrape(), name)
    advice = scaling.advise(
        name,
        before,
        after,
        window,
        max_in_flight=record.spec["limits"]["max_in_flight"],
        workers=workers,
        target=target,
    )
    if fmt is Format.json:
        print_json({**advice.as_dict(), "hpa": scaling.hpa(advice), "keda": scaling.keda(advice)})
        return
    say(
        f"[bold]{name}[/]: λ = {advice.arrival_rate:.1f} req/s, W = "
        f"{advice.mean_latency_s * 1000:.1f} ms, so L = λ·W = {advice.concurrency:.2f} in flight "
        f"on average ({advice.queue_depth:.0f} queued now)"
    )
    say(
        f"one replica holds {advice.capacity_per_replica} ({workers} workers x max_in_flight "
        f"{record.spec['limits']['max_in_flight']}); at {target:.0%} utilisation: "
        f"[bold]{advice.replicas} replica(s)[/]"
    )
    sys.stdout.write("---\n" + scaling.hpa(advice) + "---\n" + scaling.keda(advice))


def _number(value: float | None, digits: int = 2) -> str:
    return "" if value is None else f"{value:.{digits}f}"


@endpoint_app.command("variants")
def endpoint_variants(
    name: str = typer.Argument(..., help="The model endpoint name."),
    minutes: int = typer.Option(60, "--minutes", help="How far back, in minutes."),
    fmt: Format = FormatOption,
) -> None:
    """How each variant (primary, canary, shadow) of a model endpoint did: requests, errors,
    latency, cost and, for a shadow, agreement with the answer served (docs/canary.md)."""
    from andon.serve import service
    from andon.serve.budgets import usd

    report(
        fmt,
        service.endpoint_variants(context(), name, minutes=minutes),
        f"variants of {name} (last {minutes} min)",
        [
            "variant",
            "serves",
            "requests",
            "errors",
            "p50 ms",
            "p95 ms",
            "p99 ms",
            "cost",
            "agreement",
        ],
        lambda v: (
            v.variant,
            f"{v.model}@{v.version} ({v.alias})",
            str(v.requests),
            f"{v.errors} ({_number(100 * (v.error_rate or 0), 1)} %)",
            _number(v.p50_ms),
            _number(v.p95_ms),
            _number(v.p99_ms),
            usd(v.cost_nanos),
            "" if v.agreement is None else f"{100 * v.agreement:.1f} % of {v.compared}",
        ),
    )


@endpoint_app.command("violations")
def endpoint_violations(
    name: str = typer.Argument(..., help="The endpoint name."),
    limit: int = typer.Option(50, "--limit", help="At most this many.", min=1, max=1000),
    fmt: Format = FormatOption,
) -> None:
    """Answers the endpoint's output guards refused, newest first (evidence masked)."""
    from andon.serve import service

    report(
        fmt,
        service.list_violations(context(), name, limit=limit),
        "violations",
        ["at", "kind", "detector", "evidence", "principal", "action"],
        lambda v: (
            v.at.strftime("%Y-%m-%d %H:%M:%S"),
            v.kind,
            v.detector,
            v.evidence,
            v.principal,
            v.action,
        ),
    )
