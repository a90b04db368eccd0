"""Check run output for machines: JUnit XML (one testsuite per dataset, one testcase per check).

Error-severity checks that fail become ``<failure>``, checks that could not run ``<error>``;
a failing warning stays a passing testcase with the finding in ``<system-out>``, so CI goes
red exactly when ``andon check run`` exits 4.
"""

from __future__ import annotations

import json
from typing import Any
from xml.etree import ElementTree as ET


def to_junit(report: dict[str, Any]) -> str:
    """The JUnit XML of a run report (``RunReport.as_dict()``)."""
    root = ET.Element("testsuites", name=f"andon contract {report['contract']}")
    suites: dict[str, ET.Element] = {}
    for r in report["results"]:
        dataset = r["dataset"] or report["contract"]  # not_checked items of no one table
        suite = suites.get(dataset)
        if suite is None:
            suite = ET.SubElement(root, "testsuite", name=dataset)
            props = ET.SubElement(suite, "properties")
            version = report["dataset_version"].get(dataset, "")
            ET.SubElement(props, "property", name="dataset_version", value=version)
            suites[dataset] = suite
        case = ET.SubElement(suite, "testcase", classname=dataset, name=r["check"])
        detail = (
            f"observed {json.dumps(r['observed'])}, threshold {json.dumps(r['threshold'])}"
            + (f", {r['failed_rows']} failed rows" if r["failed_rows"] else "")
            + (f": {r['message']}" if r["message"] else "")
        )
        if r["status"] == "error":
            ET.SubElement(case, "error", message=detail)
        elif r["status"] == "fail" and r["severity"] == "error":
            node = ET.SubElement(case, "failure", message=detail, type=r["kind"])
            if r["samples"]:
                node.text = json.dumps(r["samples"], default=str)
        elif r["status"] == "fail":
            ET.SubElement(case, "system-out").text = f"WARNING {detail}"
        elif r["status"] == "not_checked":
            ET.SubElement(case, "skipped", message=r["message"])
    for suite in suites.values():
        cases = suite.findall("testcase")
        suite.set("tests", str(len(cases)))
        suite.set("failures", str(sum(1 for c in cases if c.find("failure") is not None)))
        suite.set("errors", str(sum(1 for c in cases if c.find("error") is not None)))
        suite.set("skipped", str(sum(1 for c in cases if c.find("skipped") is not None)))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode")
