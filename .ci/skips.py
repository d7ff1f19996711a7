"""Reads a pytest JUnit report and fails unless tests ran and every skip is one the pass allows.

    python3 .ci/skips.py REPORT.xml [--allow PREFIX ...]

With no --allow, nothing may be skipped (belt and braces beside the conftest hook that turns skips into failures
when CI is set). Each --allow admits skips whose message starts with PREFIX: a pass without a service lets
exactly the tests that need that service skip, and no others.
"""

import argparse
import sys
import xml.etree.ElementTree as ET


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("report")
    parser.add_argument("--allow", action="append", default=[], metavar="PREFIX")
    arguments = parser.parse_args()

    root = ET.parse(arguments.report).getroot()  # noqa: S314 - the report this run just wrote
    suites = [root] if root.tag == "testsuite" else list(root)
    tests = sum(int(suite.get("tests", 0)) for suite in suites)
    allowed, refused = 0, []
    for case in root.iter("testcase"):
        for skip in case.findall("skipped"):
            message = skip.get("message", "")
            if any(message.startswith(prefix) for prefix in arguments.allow):
                allowed += 1
            else:
                refused.append(f"{case.get('classname')}.{case.get('name')}: {message}")
    if tests == 0:
        sys.exit(f"CI: no test ran ({arguments.report}).")
    if refused:
        listing = "\n  ".join(refused[:50])
        sys.exit(f"CI: {len(refused)} test(s) skipped that must run:\n  {listing}")
    print(f"CI: {tests} tests ran, {allowed} skipped for a service this pass does without, none otherwise.")


if __name__ == "__main__":
    main()
