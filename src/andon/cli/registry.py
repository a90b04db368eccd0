"""`andon run|model|lineage ...`: tracked runs, the model registry and lineage."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import typer

from andon.cli._shared import Format, FormatOption, ReasonOption, context, print_json, report, say

run_app = typer.Typer(help="Tracked runs: parameters, metrics, artifacts.", no_args_is_help=True)
model_app = typer.Typer(help="The model registry: versions, aliases.", no_args_is_help=True)
lineage_app = typer.Typer(help="Where things came from and where they went.", no_args_is_help=True)


class ArtifactFormat(StrEnum):
    """Formats `model register` accepts (pickle is detected, never declared)."""

    onnx = "onnx"
    skops = "skops"
    file = "file"


class GraphFormat(StrEnum):
    """Output formats of `lineage show`."""

    tree = "tree"
    json = "json"
    dot = "dot"


# --------------------------------------------------------------------------- runs


@run_app.command("list")
def run_list(
    where: str = typer.Option(
        None, "--where", "-w", help='Filter, e.g. "metrics.f1 > 0.8 and status = finished".'
    ),
    team: str = typer.Option(None, "--team", help="Only this team's runs."),
    limit: int = typer.Option(100, "--limit", min=1, max=10_000, help="At most this many."),
    fmt: Format = FormatOption,
) -> None:
    """Runs you can see, newest first."""
    from andon.registry import service

    runs = service.list_runs(context(), where=where, team=team, limit=limit)
    report(
        fmt,
        runs,
        "runs",
        ["id", "name", "team", "status", "metrics", "started"],
        lambda r: (
            r.id,
            r.name,
            r.team,
            r.status + (f" ({r.error})" if r.error else ""),
            ", ".join(f"{k}={v:.4g}" for k, v in r.metrics.items()),
            r.started_at.strftime("%Y-%m-%d %H:%M"),
        ),
    )


@run_app.command("show")
def run_show(run_id: str, fmt: Format = FormatOption) -> None:
    """One run: parameters, metrics, artifacts, datasets, commit and environment."""
    from andon.registry import service

    run = service.get_run(context(), run_id)
    if fmt is Format.json:
        print_json(run.as_dict())
        return
    say(f"[bold]{run.name}[/] ({run.id}) team {run.team}: {run.status} {run.error}".rstrip())
    say(f"  commit {run.git_commit or '-'}  env {(run.env_hash or '-')[:12]}")
    for title, values in (
        ("params", run.params),
        ("metrics", run.metrics),
        ("artifacts", run.artifacts),
    ):
        for key, value in values.items():
            say(f"  {title}.{key} = {value}")
    for dsv in run.datasets:
        say(f"  dataset {dsv}")


# --------------------------------------------------------------------------- models


@model_app.command("register")
def model_register(
    name: str,
    artifact: Path = typer.Option(..., "--artifact", help="The model file."),
    run: str = typer.Option(None, "--run", help="The run that produced it."),
    team: str = typer.Option(None, "--team", help="Owning team (default: the run's team)."),
    fmt: ArtifactFormat = typer.Option(
        None, "--format", help="onnx, skops or file (default: from the file)."
    ),
    trust_pickle: bool = typer.Option(
        False, "--trust-pickle", help="Accept a pickle/joblib file (platform-admin; audited)."
    ),
    reason: str = ReasonOption,
) -> None:
    """Store an artifact content-addressed and register it as the model's next version."""
    from andon.core.errors import Invalid
    from andon.registry import service

    ctx = context()
    if team is None:
        if run is None:
            raise Invalid("give --team, or --run to use the run's team", field="--team")
        team = service.get_run(ctx, run).team
    version = service.register_model(
        ctx,
        name,
        team=team,
        artifact=artifact,
        run=run,
        fmt=fmt.value if fmt else None,
        trust_pickle=trust_pickle,
        reason=reason,
    )
    say(
        f"registered [bold]{version.ref}[/] ({version.format}, sha256:{version.digest[:12]})"
        + (" [yellow]trusted pickle[/]" if version.trusted_pickle else "")
    )


@model_app.command("alias")
def model_alias(
    ref: str = typer.Argument(..., help="NAME@VERSION"),
    alias: str = typer.Argument(..., help="Alias to point at it, e.g. champion."),
    expect: int = typer.Option(
        None, "--expect", help="Fail unless the alias points at this version now."
    ),
    reason: str = ReasonOption,
) -> None:
    """Point an alias at a version (audited; compare-and-swap)."""
    from andon.registry import service

    move = service.set_alias(context(), ref, alias, expect=expect, reason=reason)
    was = f"{move.model}@{move.previous}" if move.previous is not None else "nothing"
    say(f"{move.alias}: {was} -> [bold]{move.model}@{move.version}[/]")


@model_app.command("show")
def model_show(
    ref: str = typer.Argument(..., help="NAME, NAME@VERSION or NAME@ALIAS"),
    fmt: Format = FormatOption,
) -> None:
    """A model with its versions, or one version."""
    from andon.registry import service

    ctx = context()
    if "@" in ref:
        version = service.get_version(ctx, ref)
        if fmt is Format.json:
            print_json(version.as_dict())
            return
        say(f"[bold]{version.ref}[/] ({version.id}) team {version.team}")
        say(f"  format {version.format}, sha256:{version.digest}, {version.size} bytes")
        if version.trusted_pickle:
            say("  [yellow]trusted pickle: registered with --trust-pickle[/]")
        say(
            f"  run {version.run_id or '-'}, datasets {', '.join(version.dataset_version_ids) or '-'}"
        )
        say(f"  aliases {', '.join(version.aliases) or '-'}")
        for direction in ("inputs", "outputs"):
            for arg in version.signature.get(direction, []):
                say(f"  {direction[:-1]} {arg['name']}: {arg['type']} {arg['shape']}")
        return
    model = service.get_model(ctx, ref)
    if fmt is Format.json:
        print_json(model.as_dict())
        return
    aliases = ", ".join(f"{a}@{v}" for a, v in model.aliases.items()) or "no aliases"
    say(f"[bold]{model.team}/{model.name}[/] ({model.id}): {aliases}")
    for v in model.versions:
        tags = f" [{', '.join(v.aliases)}]" if v.aliases else ""
        say(f"  {v.version}: {v.format} sha256:{v.digest[:12]} run {v.run_id or '-'}{tags}")


@model_app.command("list")
def model_list(
    team: str = typer.Option(None, "--team", help="Only this team's models."),
    fmt: Format = FormatOption,
) -> None:
    """Models you can see."""
    from andon.registry import service

    report(
        fmt,
        service.list_models(context(), team=team),
        "models",
        ["team", "name", "latest", "aliases"],
        lambda m: (
            m.team,
            m.name,
            m.latest_version,
            ", ".join(f"{a}@{v}" for a, v in m.aliases.items()),
        ),
    )


@model_app.command("demo-train", hidden=True)
def model_demo_train(
    team: str = typer.Option("fraud-ml", "--team", help="Team that owns the sample models."),
    out: Path = typer.Option(
        None, "--out", help="Folder for the data, contract and suite (default: ANDON_HOME/fraud)."
    ),
) -> None:
    """Version the sample fraud data, train a baseline and two challengers, register them,
    make the baseline champion, and write the evaluation suite (`make demo`)."""
    from andon.registry import sample

    ctx = context()
    result = sample.train(ctx, team=team, workdir=out or ctx.settings.home / "fraud")
    for line in result.lines():
        say(line)


# --------------------------------------------------------------------------- lineage


@lineage_app.command("show")
def lineage_show(
    obj: str = typer.Argument(
        ..., help="A run, model version (NAME@VERSION) or dataset version id."
    ),
    upstream: bool = typer.Option(False, "--upstream", help="Only what flowed in."),
    downstream: bool = typer.Option(False, "--downstream", help="Only what flowed out."),
    fmt: GraphFormat = typer.Option(GraphFormat.tree, "--format", "-f", help="tree, json or dot."),
) -> None:
    """The lineage graph around an object."""
    from andon.core.errors import Invalid
    from andon.lineage import service as lineage
    from andon.registry import service as registry

    if upstream and downstream:
        raise Invalid("give --upstream or --downstream, not both (omit both for both)")
    ctx = context()
    object_id = registry.get_version(ctx, obj).id if "@" in obj else obj
    direction: lineage.Direction = (
        "upstream" if upstream else "downstream" if downstream else "both"
    )
    graph = lineage.graph(ctx, object_id, direction=direction)
    if fmt is GraphFormat.json:
        print_json(graph.as_dict())
    elif fmt is GraphFormat.dot:
        typer.echo(graph.to_dot(), nl=False)
    else:
        typer.echo(graph.to_tree(), nl=False)


@lineage_app.command("export")
def lineage_export(
    openlineage: Path = typer.Option(
        ..., "--openlineage", help="Write OpenLineage RunEvents (JSON lines) to this file."
    ),
) -> None:
    """Export runs with their input datasets and output model versions as OpenLineage."""
    import json

    from andon.lineage import service as lineage

    events = lineage.openlineage_events(context())
    with openlineage.open("w", encoding="utf-8") as out:
        for event in events:
            out.write(json.dumps(event, sort_keys=True) + "\n")
    say(f"wrote {len(events)} OpenLineage run events to {openlineage}")
