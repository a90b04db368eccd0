"""The ``andon`` command: a thin shell over the services.

One place turns errors into exit codes (DESIGN.md): a deliberate :class:`AndonError` prints one
red line and exits with its code; anything else prints one line too, and the traceback only
with ``--debug``.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from functools import cache, partial
from importlib import import_module

import typer

from andon.cli._shared import (
    COLORS,
    Format,
    FormatOption,
    context,
    database,
    print_json,
    say,
    settings,
)
from andon.cli.lazy_groups import LazyGroup
from andon.core.notices import listening

# Command groups: name -> (module of andon.cli, its Typer app), in help order. A module is
# imported when its group is used (andon.cli.lazy_groups), so `andon team list` pays for teams.
GROUPS = {
    "team": ("teams", "app"),
    "principal": ("access", "principal_app"),
    "role": ("access", "role_app"),
    "token": ("access", "token_app"),
    "asset": ("access", "asset_app"),
    "audit": ("audit", "app"),
    "events": ("audit", "events_app"),
    "run": ("registry", "run_app"),
    "model": ("registry", "model_app"),
    "lineage": ("registry", "lineage_app"),
    "contract": ("data", "contract_app"),
    "check": ("data", "check_app"),
    "data": ("data", "data_app"),
    "connection": ("connections", "app"),
    "eval": ("evaluate", "app"),
    "policy": ("policy", "policy_app"),
    "gate": ("policy", "gate_app"),
    "approval": ("policy", "approval_app"),
    "cord": ("policy", "cord_app"),
    "endpoint": ("serve", "endpoint_app"),
    "budget": ("budget", "app"),
    "catalog": ("catalog", "app"),
    "telemetry": ("telemetry", "app"),
}


@cache
def group_app(name: str) -> typer.Typer:
    """The Typer app of command group ``name``, with the commands other modules add to it
    (added once per process, however often the group is built)."""
    module, attribute = GROUPS[name]
    sub_app: typer.Typer = getattr(import_module(f"andon.cli.{module}"), attribute)
    # `andon model`, `andon lineage`, `andon contract` and `andon data` gather commands of
    # several modules, in help order.
    if name == "model":
        from andon.cli import cards, policy

        cards.add_model_commands(sub_app)
        policy.add_model_commands(sub_app)
    elif name == "lineage":
        from andon.cli import cards

        cards.add_lineage_commands(sub_app)
    elif name == "contract":
        from andon.cli import contract_documents  # noqa: F401 - registers contract upgrade and show
    elif name == "data":
        from andon.cli import roots

        sub_app.add_typer(roots.app, name="root")
    return sub_app


class _AndonGroup(LazyGroup):
    """The root ``andon`` group: its own commands and ``db`` built at once, the rest lazily."""

    groups = {name: partial(group_app, name) for name in GROUPS}


app = typer.Typer(
    name="andon",
    help="andon: if you can't explain it, test it and stop it, you don't ship it.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    cls=_AndonGroup,
)
db_app = typer.Typer(help="The metadata database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")


@app.callback()
def _root(
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks of unexpected errors."),
) -> None:
    """andon: the control plane for your AI line."""


@app.command()
def init(
    admin: str = typer.Option(
        None, "--admin", help="Name of the first administrator (default: ANDON_PRINCIPAL)."
    ),
) -> None:
    """Create ANDON_HOME and its audit key, apply migrations, create the first administrator."""
    from andon.audit import keys
    from andon.auth import service as auth
    from andon.store import migrate

    cfg = settings()
    cfg.home.mkdir(parents=True, exist_ok=True)
    made_key = cfg.audit_key is None and keys.create_key_file(cfg.resolved_audit_key_file)
    keys.load_key(cfg)  # a key that is there but unusable stops init before any write
    db = database(cfg, check_schema=False)
    state = migrate.upgrade(db)
    created = auth.bootstrap(db, cfg, admin or cfg.principal)
    say(f"andon home [bold]{cfg.home}[/]: schema {state.current}")
    if made_key:
        say(
            f"created audit key [bold]{cfg.resolved_audit_key_file}[/] (mode 0600): keep it, "
            "and a copy apart from the database"
        )
    if created:
        say(f"created administrator [bold]{admin or cfg.principal}[/] (platform-admin)")


@app.command()
def status(
    fmt: Format = FormatOption,
    strict: bool = typer.Option(False, "--strict", help="Exit 4 when any area is red."),
) -> None:
    """The andon board: one line per area, green, amber or red."""
    from andon.board.service import board, worst

    lights = board(context())
    if fmt is Format.json:
        print_json({"board": worst(lights), "areas": [light.as_dict() for light in lights]})
    else:
        for light in lights:
            color = COLORS[light.color]
            say(
                f"[{color}]●[/] [bold]{light.area:<18}[/] [{color}]{light.color:<5}[/] {light.detail}"
            )
    if strict and worst(lights) == "red":
        raise typer.Exit(4)


@app.command()
def whoami(fmt: Format = FormatOption) -> None:
    """The acting principal and its role bindings."""
    from andon.auth import service as auth

    info = auth.whoami(context())
    if fmt is Format.json:
        print_json(info)
        return
    say(f"[bold]{info['name']}[/] ({info['kind']}, {info['id']})")
    for grant in info["grants"]:  # type: ignore[attr-defined]
        where = grant["scope"] + (f":{grant['scope_id']}" if grant["scope_id"] else "")
        say(f"  {grant['role']} @ {where}")


@app.command()
def serve(
    host: str = typer.Option(None, "--host", help="Address to bind (default 127.0.0.1)."),
    port: int = typer.Option(None, "--port", help="Port to bind (default 8765).", min=1, max=65535),
) -> None:
    """Serve the REST API (/api/v1) and the console until Ctrl-C."""
    from andon.core.config import load_settings

    overrides = {k: v for k, v in {"host": host, "port": port}.items() if v is not None}
    cfg = load_settings(**overrides)
    database(cfg)

    import uvicorn

    from andon.api.app import create_app

    say(
        f"andon serving on [bold]http://{cfg.host}:{cfg.port}/[/] (console) and /api/v1; Ctrl-C stops"
    )
    uvicorn.run(create_app(cfg), host=cfg.host, port=cfg.port, log_level="warning")


@app.command()
def gateway(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind."),
    port: int = typer.Option(8780, "--port", help="Port to bind.", min=1, max=65535),
    workers: int = typer.Option(2, "--workers", help="Worker processes.", min=1, max=64),
) -> None:
    """Serve the endpoints (predict and the OpenAI protocol) until Ctrl-C."""
    from andon.auth import service as auth
    from andon.core.errors import Unavailable
    from andon.gateway.server import Supervisor, bind, ensure_gateway_principal, housekeeping

    cfg = settings()
    runner = auth.context_for(database(cfg), cfg, cfg.principal)
    missing = ensure_gateway_principal(runner)
    if missing is not None:
        say(f"[yellow]guard violations will be refused but not recorded:[/] {missing}")
    try:
        sock = bind(host, port)
    except OSError as exc:
        raise Unavailable(f"cannot listen on {host}:{port}: {exc.strerror}", field="port") from None
    say(f"andon gateway on [bold]http://{host}:{port}/v1[/] with {workers} worker(s); Ctrl-C stops")
    tick = housekeeping(runner)
    Supervisor(sock, workers, cfg.home / "gateway" / str(port), tick=tick).run()


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply pending migrations."""
    from andon.store import migrate

    cfg = settings()
    state = migrate.upgrade(database(cfg, check_schema=False))
    say(f"schema at {state.current} (head {state.head})")


@db_app.command("current")
def db_current(fmt: Format = FormatOption) -> None:
    """Show the schema revision of the database and of this andon."""
    from andon.store import migrate
    from andon.store.db import redact_url

    cfg = settings()
    state = migrate.state(database(cfg, check_schema=False))
    info = {
        "database": redact_url(cfg.resolved_database_url),
        "current": state.current,
        "head": state.head,
        "up_to_date": state.up_to_date,
    }
    if fmt is Format.json:
        print_json(info)
    else:
        say(f"{info['database']}: {state.current or 'empty'} (head {state.head})")


@app.command("demo-seed", hidden=True)
def demo_seed() -> None:
    """Create the sample teams and principals (used by `make demo`)."""
    from andon import demo

    made = demo.seed(context())
    say(f"sample line: {len(made)} objects created" + (f" ({', '.join(made)})" if made else ""))


@app.command("demo-llm", hidden=True)
def demo_llm(
    port: int = typer.Option(8781, "--port", help="Port to bind on 127.0.0.1.", min=1, max=65535),
    key_env: str = typer.Option(
        "", "--key-env", help="Environment variable holding the key callers must send."
    ),
) -> None:
    """Serve an OpenAI-compatible loopback LLM until Ctrl-C (used by `make demo`)."""
    import os

    from andon.gateway.loopback import serve_forever

    say(f"loopback LLM on http://127.0.0.1:{port}/v1")
    serve_forever(port, os.environ.get(key_env) if key_env else None)


@app.command("demo-traffic", hidden=True)
def demo_traffic(
    step: str = typer.Argument(..., help="serve, guard, budget, stopped or predict."),
    gateway_url: str = typer.Option("http://127.0.0.1:8780", "--gateway", help="Gateway URL."),
) -> None:
    """Send the demo's requests through a running gateway (used by `make demo`); the token
    is read from ANDON_GATEWAY_TOKEN."""
    import os

    from andon.core.errors import Invalid
    from andon.gateway import tour

    token = os.environ.get("ANDON_GATEWAY_TOKEN", "")
    if not token:
        raise Invalid("set ANDON_GATEWAY_TOKEN to a token of a caller", field="token")
    if step not in ("serve", "guard", "budget", "stopped", "predict"):
        raise Invalid(
            f"'{step}' is not one of serve, guard, budget, stopped, predict", field="step"
        )
    tour.wait_until_up(gateway_url)
    tour.run(step, gateway_url, token, say)


@app.command("demo-otlp", hidden=True)
def demo_otlp(
    receiver: str = typer.Option("http://127.0.0.1:4318", "--receiver", help="Receiver URL."),
    team: str = typer.Option(..., "--team", help="The team the traces belong to."),
) -> None:
    """Send the demo's OTLP/JSON traces to a running `andon telemetry serve` (used by `make
    demo`); the token is read from ANDON_TELEMETRY_TOKEN."""
    import os

    from andon.core.errors import Invalid
    from andon.telemetry import tour

    token = os.environ.get("ANDON_TELEMETRY_TOKEN", "")
    if not token:
        raise Invalid("set ANDON_TELEMETRY_TOKEN to a token that may send telemetry", field="token")
    tour.send(receiver, token, team, say)


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI and map errors to exit codes."""
    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args
    said: set[str] = set()

    def warn(message: str) -> None:
        if message not in said:
            said.add(message)
            sys.stderr.write(f"warning: {message}\n")

    try:
        with listening(warn):
            result = app(args=args, prog_name="andon", standalone_mode=False)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.TyperException as exc:  # usage errors: Typer prints them with the usage line
        show = getattr(exc, "show", None)
        if callable(show):
            show()
        else:
            sys.stderr.write(f"error: {exc.format_message()}\n")
        sys.exit(exc.exit_code)
    except typer.Abort:
        sys.stderr.write("aborted\n")
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:
        if debug:
            raise
        _fail(exc, args)
    if isinstance(result, int) and result:
        sys.exit(result)


def _option(field: str, args: list[str]) -> str:
    """The option of the invoked command whose parameter is the service's ``field``
    (``dataset_version`` is ``--dataset-version``), or ``field`` itself."""
    command = typer.main.get_command(app)
    rest = list(args)
    # Typer's command classes carry click's shape (``commands``, ``params``): read them so.
    while isinstance(getattr(command, "commands", None), Mapping):
        commands = command.commands  # type: ignore[attr-defined]
        step = next((i for i, word in enumerate(rest) if word in commands), None)
        if step is None:
            return field
        command, rest = commands[rest[step]], rest[step + 1 :]
    for param in command.params:
        if param.param_type_name == "option" and param.name == field:
            return max((o for o in param.opts if o.startswith("--")), key=len, default=field)
    return field


def _fail(exc: Exception, args: list[str]) -> None:
    from rich.console import Console
    from rich.markup import escape

    from andon.core.errors import AndonError

    err = Console(stderr=True, highlight=False)
    if isinstance(exc, AndonError):
        if exc.field and not exc.field.startswith("-"):
            exc.field = _option(exc.field, args)
        hint = exc.details.get("hint")
        shown = f"{exc} ({hint})" if isinstance(hint, str) and hint else str(exc)
        err.print(f"[red]error:[/] {escape(shown)}", soft_wrap=True)
        sys.exit(exc.exit_code)
    err.print(
        f"[red]internal error:[/] {type(exc).__name__}: {escape(str(exc).splitlines()[0]) if str(exc) else ''}"
        " (run with --debug for the traceback)",
        soft_wrap=True,
    )
    sys.exit(1)
