"""`verify --junit`: JUnit XML for CI, one testcase per check, written atomically."""

from __future__ import annotations

from typing import TYPE_CHECKING

import platform
import re
import xml.etree.ElementTree as ET
from datetime import datetime, timezone

from convcli.engine.verify.verify_results import CHECKS, CheckResult, Skipped
from convcli.files import atomic_write
from convcli.views.verify_view import err_str

if TYPE_CHECKING:
    from convcli.engine.verify.verify_results import VerifyReport


def junit_xml(report: VerifyReport) -> str:
    """JUnit XML for CI: one testcase per check (skipped checks as <skipped/>)."""
    n_tests = len(report.checks) + len(report.skipped)
    n_fail = len(report.failed)
    attrs = {"name": "convcli verify", "tests": str(n_tests), "failures": str(n_fail),
             "errors": "0", "skipped": str(len(report.skipped)),
             "time": f"{report.seconds:.3f}"}
    root = ET.Element("testsuites", attrs)
    suite = ET.SubElement(root, "testsuite", {
        **attrs, "timestamp": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "hostname": platform.node()})
    props = ET.SubElement(suite, "properties")
    for k, v in (("mode", report.mode), ("configuration", report.configuration or ""),
                 ("device", report.device), ("dtype", report.dtype),
                 ("tolerance", report.tolerance.rule()),
                 ("seed", str(report.seed)), ("random_cases", str(report.random_cases)),
                 ("torch", report.torch_version)):
        ET.SubElement(props, "property", {"name": k, "value": v})
    classname = junit_classname(report)
    order = list(CHECKS)
    ran: list[CheckResult | Skipped] = [*report.checks, *report.skipped]
    for c in sorted(ran, key=lambda c: order.index(c.name)):
        if isinstance(c, Skipped):          # a check that did not run
            case = ET.SubElement(suite, "testcase", {
                "classname": classname, "name": c.name, "time": "0"})
            ET.SubElement(case, "skipped", {"message": c.reason})
            continue
        case = ET.SubElement(suite, "testcase", {
            "classname": classname, "name": c.name, "time": f"{c.seconds:.3f}"})
        if not c.passed:
            w = c.worst
            assert w is not None, "a failed check keeps its worst case"
            fail = ET.SubElement(case, "failure", {
                "type": "mismatch",
                "message": f"{c.title}: {c.failures} of {c.cases} cases failed; worst: "
                           f"{w.configuration} at {w.where}"})
            fail.text = "\n".join([
                f"check: {c.title} ({c.tolerance})", f"config: {w.configuration}",
                f"where: {w.where}", f"expected: {w.expected}", f"got: {w.got}",
                f"max abs error: {err_str(w.error)}"] + ([w.message] if w.message else []))
        else:
            out = ET.SubElement(case, "system-out")
            out.text = (f"{c.title}: {c.cases} cases, worst error {err_str(c.worst_error)}"
                        f" ({c.tolerance})")
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def junit_classname(report: VerifyReport) -> str:
    """convcli.verify.DTYPE.DEVICE[.CONFIGURATION]: reports of a dtype or device matrix,
    or of several layers, never share a test id."""
    parts = ["convcli", "verify", report.dtype, report.device]
    if report.configuration:
        parts.append(re.sub(r"[^0-9A-Za-z]+", "_", report.configuration).strip("_"))
    return ".".join(parts)


def write_atomic(path: str, text: str, what: str = "--junit") -> None:
    """Write a text report whole or not at all (see convcli.files)."""
    def write(f) -> None:
        f.write(text.encode("utf-8"))

    atomic_write(path, write, what)
