"""``verify-evidence-pack pack.pdf --trust keys.json``: one line per check as it passes, ``FAILED <check>: <reason>``
for the first that does not. An output provenance statement is verified the same way, with its own check beside a
pack's (``checks.CHECKS``).

Exit status: 0 when every check passed, 1 when one failed (the pack does not hold), 2 when the verification could not
run (a usage error, a file that cannot be read, a trusted keys file that is not the published format).
"""

import argparse
import json
import logging
import sys
from pathlib import Path

from evidence_pack_verifier import trust
from evidence_pack_verifier.checks import CHECKS, verify
from evidence_pack_verifier.formats import DOCUMENTS
from evidence_pack_verifier.report import Passed

OK, FAILED, CANNOT_RUN = 0, 1, 2


def parser() -> argparse.ArgumentParser:
    checks = ", ".join(
        check.name
        if check.kinds is None
        else f"{check.name} ({', '.join(DOCUMENTS[k].lower() for k in check.kinds)} only)"
        for check in CHECKS
    )
    parser = argparse.ArgumentParser(
        prog="verify-evidence-pack",
        description="Check an evidence pack or an output provenance statement offline against the portal's published "
        f"verification keys: {checks}.",
        epilog="Exit status: 0 every check passed, 1 a check failed, 2 the verification could not run.",
    )
    parser.add_argument("pack", type=Path, help="the evidence pack or output provenance statement (PDF)")
    parser.add_argument(
        "--trust",
        type=Path,
        required=True,
        metavar="KEYS.json",
        help="the portal's published verification keys (its /verification-keys.json), obtained through a channel "
        "you trust; never keys taken from the pack",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON report instead of lines")
    return parser


def main(argv: list[str] | None = None) -> int:
    arguments = parser().parse_args(argv)
    # pyHanko logs each validation failure with its traceback; the FAILED line below says what failed.
    for library in ("pyhanko", "pyhanko_certvalidator"):
        logging.getLogger(library).setLevel(logging.CRITICAL)
    try:
        trusted = trust.load(arguments.trust)
    except trust.TrustError as error:
        print(f"verify-evidence-pack: trusted keys: {error}", file=sys.stderr)
        return CANNOT_RUN
    try:
        pdf = arguments.pack.read_bytes()
    except OSError as error:
        print(f"verify-evidence-pack: cannot read {arguments.pack}: {error.strerror or error}", file=sys.stderr)
        return CANNOT_RUN

    def passed(step: Passed) -> None:
        print(f"ok  {step.check}: {step.detail}", flush=True)

    report, pack = verify(pdf, trusted, on_pass=None if arguments.json else passed)
    if arguments.json:
        print(json.dumps({"file": str(arguments.pack), **report.as_dict()}, indent=2))
    elif report.failure is not None:
        print(f"FAILED {report.failure.check}: {report.failure.reason}")
    else:
        count = f"{len(report.passed)} checks passed"
        print(f"{DOCUMENTS[pack.kind]} verified: {arguments.pack} (SHA-256 {report.sha256}), {count}")
    return OK if report.ok else FAILED
