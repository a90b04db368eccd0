"""The CLI renders a service error its own way: the field as the invoked command's option,
the hint after the message, on one line."""

from __future__ import annotations

from tests.cli.conftest import Run


def _line(proc: object) -> str:
    err = proc.stderr.strip()  # type: ignore[attr-defined]
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    return err


def test_a_service_field_is_shown_as_the_commands_option(run: Run) -> None:
    assert run("init").returncode == 0
    proc = run("run", "list", "--where", "metrics.f1 >")
    assert proc.returncode == 2
    assert _line(proc) == "error: --where: each clause is FIELD OP VALUE, such as metrics.f1 > 0.8"
    # The same service raised through another command names that command's option.
    proc = run("eval", "run", "nope@1", "--suite", "/no/such/suite.yaml")
    assert _line(proc) == "error: --suite: no suite file at /no/such/suite.yaml"


def test_a_field_whose_option_has_another_name_is_mapped_by_the_command(run: Run) -> None:
    assert run("init").returncode == 0
    proc = run(
        "catalog", "classify", "x", "--enricher", "llm", "--llm-url", "ftp://h", "--llm-model", "m"
    )
    assert proc.returncode == 2
    assert _line(proc) == "error: --llm-url: 'ftp://h' must be an http(s) URL"


def test_the_hint_follows_the_message(run: Run) -> None:
    assert run("init").returncode == 0
    assert run("team", "create", "risk").returncode == 0
    proc = run("team", "oncall", "risk")
    assert proc.returncode == 1
    assert _line(proc) == (
        "error: --rotation: team 'risk' has no on-call rotation "
        "(add one with `andon team rotation`)"
    )
