"""Model cards as Markdown, self-contained HTML and JSON.

Every text that came from a person or a file (narrative, run names, parameter values, slice
names) is escaped: HTML with :func:`html.escape`; Markdown has HTML tags and table-breaking
pipes escaped, so a card viewed in a Markdown renderer shows the text, never runs it.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable, Sequence
from typing import Any

from andon.cards.records import DatasetFact, ModelCard
from andon.core.errors import Invalid

FORMATS = ("md", "html", "json")


def render(card: ModelCard, fmt: str) -> str:
    """The card in ``fmt`` (``md``, ``html`` or ``json``)."""
    if fmt == "md":
        return to_markdown(card)
    if fmt == "html":
        return to_html(card)
    if fmt == "json":
        return to_json(card)
    raise Invalid(f"'{fmt}' is not one of {', '.join(FORMATS)}", field="fmt")


def to_json(card: ModelCard) -> str:
    """Stable JSON (sorted keys, schema ``andon.model-card/1``)."""
    return json.dumps(card.as_dict(), indent=2, sort_keys=True) + "\n"


def number(value: Any) -> str:
    """A metric as a person reads it: floats to four significant digits, the rest as text."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def delta(value: Any) -> str:
    """A signed delta (``+0.0123``)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"{value:+.4g}"
    return str(value)


def dataset_line(fact: DatasetFact) -> str:
    """One dataset version in words (plain text: escape it for the output format)."""
    if fact.dataset is None or fact.schema_hash is None:
        return f"{fact.id} (not recorded by the data domain)"
    return f"{fact.id}: {fact.dataset}, {fact.row_count:,} rows, schema {fact.schema_hash[:12]}"


def metric_rows(card: ModelCard) -> list[tuple[str, str, str, str]]:
    """(metric, value, champion, delta) rows of the latest evaluation."""
    ev = card.evaluation
    if ev is None:
        return []
    champion = ev.champion_metrics or {}
    return [
        (
            key,
            number(value),
            number(champion[key]) if key in champion else "",
            delta(ev.deltas[key]) if key in ev.deltas else "",
        )
        for key, value in sorted(ev.metrics.items())
    ]


def slice_table(card: ModelCard) -> tuple[list[str], list[list[str]]]:
    """Columns and rows of the per-slice metrics."""
    ev = card.evaluation
    if ev is None or not ev.slices:
        return [], []
    keys = sorted({k for values in ev.slices.values() for k in values})
    rows = [
        [name] + [number(values[k]) if k in values else "" for k in keys]
        for name, values in ev.slices.items()
    ]
    return ["slice", *keys], rows


def bias_rows(card: ModelCard) -> list[tuple[str, str]]:
    """(measure, value) rows of the fairness results: the attribute and each measure."""
    bias = card.evaluation.bias if card.evaluation else None
    if not bias:
        return []
    return [(k, number(v)) for k, v in sorted(bias.items()) if not isinstance(v, dict)]


def bias_groups(card: ModelCard) -> tuple[list[str], list[list[str]]]:
    """Columns and rows of the per-group rates behind the fairness measures, if recorded."""
    bias = card.evaluation.bias if card.evaluation else None
    groups = (bias or {}).get("groups")
    if not isinstance(groups, dict) or not groups:
        return [], []
    keys = sorted({k for rates in groups.values() if isinstance(rates, dict) for k in rates})
    rows = [
        [str(name)] + [number(rates[k]) if k in rates else "" for k in keys]
        for name, rates in sorted(groups.items())
        if isinstance(rates, dict)
    ]
    return ["group", *keys], rows


def signature_lines(signature: dict[str, Any]) -> list[str]:
    """The artifact's inputs and outputs, one per line (plain text)."""
    out = []
    for direction in ("inputs", "outputs"):
        for arg in signature.get(direction, []) or []:
            if isinstance(arg, dict):
                out.append(
                    f"{direction[:-1]} {arg.get('name', '?')}: {arg.get('type', '?')} "
                    f"{arg.get('shape', '')}".rstrip()
                )
    for key, value in sorted(signature.items()):
        if key not in ("inputs", "outputs"):
            out.append(f"{key}: {value}")
    return out


# --------------------------------------------------------------------------- markdown


def _md(text: object) -> str:
    """Text safe in Markdown: no HTML tags, no table-breaking pipes."""
    return html.escape(str(text), quote=False).replace("|", "\\|")


def _md_table(columns: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    out = ["| " + " | ".join(_md(c) for c in columns) + " |"]
    out.append("|" + "---|" * len(columns))
    out.extend("| " + " | ".join(_md(v).replace("\n", " ") for v in row) + " |" for row in rows)
    return out


def to_markdown(card: ModelCard) -> str:
    """The card as GitHub-flavoured Markdown."""
    lines = [f"# Model card: {_md(card.ref)}", ""]
    lines.append(f"- Team: {_md(card.team)}; owners: {_md(', '.join(card.owners) or 'none')}")
    lines.append(f"- Aliases: {_md(', '.join(card.aliases) or 'none')}")
    lines.append(f"- Registered by {_md(card.created_by)} at {card.created_at:%Y-%m-%d %H:%M} UTC")
    state = "complete" if card.complete else "incomplete, missing " + ", ".join(card.missing)
    lines.append(f"- Card: {_md(state)}")
    if card.artifact.trusted_pickle:
        who = card.artifact.trusted_by
        by = f" by {_md(who.by)} at {who.at:%Y-%m-%d %H:%M} UTC" if who else ""
        lines += [
            "",
            f"> **Trusted pickle**: registered with --trust-pickle{by}. Loading it runs code.",
        ]
    for section in card.sections:
        title = section.name.replace("_", " ").capitalize()
        lines += ["", f"## {title}", ""]
        if section.text:
            lines.append(_md(section.text))
            if section.from_version not in (None, card.version):
                lines += ["", f"_(written for version {section.from_version})_"]
        else:
            lines.append(
                f"_Not written yet{' (required)' if section.required else ''}:_ "
                f"{_md(section.question)}"
            )
    lines += ["", "## Training", ""]
    run = card.training_run
    if run is None:
        lines.append("No run recorded.")
    else:
        lines.append(
            f"Run {_md(run.name)} ({run.id}), {run.status}; commit "
            f"{_md(run.git_commit or '-')}, environment {_md((run.env_hash or '-')[:12])}"
        )
        if run.params:
            lines += ["", *_md_table(["param", "value"], sorted(run.params.items()))]
        if run.metrics:
            lines += [
                "",
                *_md_table(
                    ["metric", "value"], [(k, number(v)) for k, v in sorted(run.metrics.items())]
                ),
            ]
    lines += ["", "## Training data", ""]
    lines += [f"- {_md(dataset_line(d))}" for d in card.training_data] or ["None recorded."]
    lines += ["", "## Evaluation", ""]
    ev = card.evaluation
    if ev is None:
        lines.append("Not evaluated yet.")
    else:
        vs = f", compared with champion {_md(ev.champion)}" if ev.champion else ", no champion"
        lines.append(
            f"Suite {_md(ev.suite)} ({ev.id}) by {_md(ev.created_by)} at "
            f"{ev.created_at:%Y-%m-%d %H:%M} UTC{vs}."
        )
        lines.append(f"Data: {_md(dataset_line(ev.dataset))}")
        lines += ["", *_md_table(["metric", "value", "champion", "delta"], metric_rows(card))]
        columns, rows = slice_table(card)
        if rows:
            lines += ["", "### Slices", "", *_md_table(columns, rows)]
        lines += ["", "### Fairness", ""]
        if ev.bias:
            lines += [f"- {_md(k)}: {_md(v)}" for k, v in bias_rows(card)]
            columns, rows = bias_groups(card)
            if rows:
                lines += ["", *_md_table(columns, rows)]
        else:
            lines.append("No sensitive attribute declared.")
    lines += ["", "## Approvals", ""]
    if card.approvals:
        lines += _md_table(
            ["stage", "role", "approver", "when", "reason"],
            [
                (a.stage, a.role, a.approver, f"{a.decided_at:%Y-%m-%d %H:%M}", a.reason)
                for a in card.approvals
            ],
        )
    else:
        lines.append("none recorded")
    art = card.artifact
    lines += ["", "## Artifact", ""]
    lines.append(f"- Format {_md(art.format)}, {art.size:,} bytes, {art.digest}")
    lines.append(f"- Trusted pickle: {'yes' if art.trusted_pickle else 'no'}")
    lines += [f"- {_md(s)}" for s in signature_lines(art.signature)]
    lines += ["", f"_Generated by andon at {card.generated_at:%Y-%m-%d %H:%M} UTC from {card.id}._"]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- html

_STYLE = (
    "body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;"
    "color:#1f2328}h1{margin-bottom:.2rem}table{border-collapse:collapse;margin:.5rem 0}"
    "th,td{border:1px solid #d0d7de;padding:.2rem .6rem;text-align:left}"
    ".muted{color:#57606a}.warn{background:#fff8c5;border:1px solid #d4a72c;padding:.5rem}"
    ".missing{color:#9a6700}pre{white-space:pre-wrap;font:inherit;margin:0}"
)


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _html_table(columns: Sequence[str], rows: Iterable[Sequence[str]], cls: str = "") -> str:
    head = "".join(f'<th scope="col">{_e(c)}</th>' for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{_e(v)}</td>" for v in row) + "</tr>" for row in rows)
    attr = f' class="{cls}"' if cls else ""
    return f"<table{attr}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def to_html(card: ModelCard) -> str:
    """The card as one self-contained HTML page (its only style inline, no scripts)."""
    p: list[str] = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>Model card: {_e(card.ref)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>Model card: {_e(card.ref)}</h1>",
        f'<p class="muted">Team {_e(card.team)}; owners {_e(", ".join(card.owners) or "none")}; '
        f"aliases {_e(', '.join(card.aliases) or 'none')}; registered by {_e(card.created_by)} "
        f"at {card.created_at:%Y-%m-%d %H:%M} UTC</p>",
    ]
    if card.complete:
        p.append('<p id="completeness">Card complete.</p>')
    else:
        p.append(
            f'<p id="completeness" class="missing">Card incomplete: missing '
            f"{_e(', '.join(card.missing))}.</p>"
        )
    if card.artifact.trusted_pickle:
        who = card.artifact.trusted_by
        by = f" by {_e(who.by)} at {who.at:%Y-%m-%d %H:%M} UTC" if who else ""
        p.append(
            f'<p class="warn" id="trusted-pickle"><strong>Trusted pickle</strong>: '
            f"registered with --trust-pickle{by}. Loading it runs code.</p>"
        )
    for s in card.sections:
        p.append(
            f'<section id="section-{_e(s.name)}"><h2>{_e(s.name.replace("_", " ").capitalize())}</h2>'
        )
        if s.text:
            p.append(f"<pre>{_e(s.text)}</pre>")
            if s.from_version not in (None, card.version):
                p.append(f'<p class="muted">Written for version {s.from_version}.</p>')
        else:
            req = " (required)" if s.required else ""
            p.append(f'<p class="missing">Not written yet{req}: {_e(s.question)}</p>')
        p.append("</section>")
    p.append('<section id="training"><h2>Training</h2>')
    run = card.training_run
    if run is None:
        p.append("<p>No run recorded.</p>")
    else:
        p.append(
            f"<p>Run {_e(run.name)} ({_e(run.id)}), {_e(run.status)}; commit "
            f"{_e(run.git_commit or '-')}, environment {_e((run.env_hash or '-')[:12])}</p>"
        )
        if run.params:
            p.append(_html_table(["param", "value"], sorted(run.params.items())))
        if run.metrics:
            p.append(
                _html_table(
                    ["metric", "value"], [(k, number(v)) for k, v in sorted(run.metrics.items())]
                )
            )
    p.append("<h3>Training data</h3><ul>")
    p += [f"<li>{_e(dataset_line(d))}</li>" for d in card.training_data] or [
        "<li>None recorded.</li>"
    ]
    p.append("</ul></section>")
    p.append('<section id="evaluation"><h2>Evaluation</h2>')
    ev = card.evaluation
    if ev is None:
        p.append("<p>Not evaluated yet.</p>")
    else:
        vs = f", compared with champion {_e(ev.champion)}" if ev.champion else ", no champion"
        p.append(
            f"<p>Suite {_e(ev.suite)} ({_e(ev.id)}) by {_e(ev.created_by)} at "
            f"{ev.created_at:%Y-%m-%d %H:%M} UTC{vs}.<br>Data: {_e(dataset_line(ev.dataset))}</p>"
        )
        p.append(
            _html_table(["metric", "value", "champion", "delta"], metric_rows(card), "metrics")
        )
        columns, rows = slice_table(card)
        if rows:
            p.append("<h3>Slices</h3>" + _html_table(columns, rows, "slices"))
        p.append("<h3>Fairness</h3>")
        if ev.bias:
            p.append(_html_table(["measure", "value"], bias_rows(card), "bias"))
            columns, rows = bias_groups(card)
            if rows:
                p.append(_html_table(columns, rows, "bias-groups"))
        else:
            p.append("<p>No sensitive attribute declared.</p>")
    p.append("</section>")
    p.append('<section id="approvals"><h2>Approvals</h2>')
    if card.approvals:
        p.append(
            _html_table(
                ["stage", "role", "approver", "when", "reason"],
                [
                    (a.stage, a.role, a.approver, f"{a.decided_at:%Y-%m-%d %H:%M}", a.reason)
                    for a in card.approvals
                ],
            )
        )
    else:
        p.append("<p>none recorded</p>")
    p.append("</section>")
    art = card.artifact
    p.append('<section id="artifact"><h2>Artifact</h2><ul>')
    p.append(f"<li>Format {_e(art.format)}, {art.size:,} bytes, <code>{_e(art.digest)}</code></li>")
    p.append(f"<li>Trusted pickle: {'yes' if art.trusted_pickle else 'no'}</li>")
    p += [f"<li>{_e(s)}</li>" for s in signature_lines(art.signature)]
    p.append("</ul></section>")
    p.append(
        f'<p class="muted">Generated by andon at {card.generated_at:%Y-%m-%d %H:%M} UTC '
        f"from {_e(card.id)}.</p></body></html>"
    )
    return "\n".join(p) + "\n"
