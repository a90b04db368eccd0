"""Gate decisions for machines: JUnit XML, one testcase per clause (CI goes red on a failure)."""

from __future__ import annotations

import json
from typing import Any
from xml.etree import ElementTree as ET


def to_junit(decision: dict[str, Any]) -> str:
    """The JUnit XML of a gate decision (``GateDecisionRecord.as_dict()``)."""
    name = f"{decision['model']}@{decision['version']} {decision['stage']}"
    root = ET.Element("testsuites", name=f"andon gate {name}")
    suite = ET.SubElement(root, "testsuite", name=name)
    props = ET.SubElement(suite, "properties")
    for key in ("id", "policy_version", "evaluation_id"):
        ET.SubElement(props, "property", name=key, value=str(decision[key]))
    failures = 0
    for clause in decision["clauses"]:
        case = ET.SubElement(suite, "testcase", classname=name, name=clause["clause"])
        if not clause["passed"]:
            failures += 1
            detail = clause["error"] or json.dumps(clause["values"], default=str, sort_keys=True)
            ET.SubElement(case, "failure", message=detail, type="gate")
    suite.set("tests", str(len(decision["clauses"])))
    suite.set("failures", str(failures))
    suite.set("errors", "0")
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode")
