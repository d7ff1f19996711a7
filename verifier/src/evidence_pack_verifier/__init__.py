"""An evidence pack checked with nothing but the pack and a trusted list of published keys.

``verify(pdf, trust)`` runs every check of ``checks.CHECKS`` that applies to the document (an evidence pack, or an
output provenance statement) in order and returns a ``Report`` (what passed, and the
first failure if one did not) with the ``Pack`` as it was read (its manifest, checkpoint statement and ledger slice).
``trust.load(path)`` (or ``trust.parse(document)``) reads the published verification keys. The command line is
``verify-evidence-pack pack.pdf --trust keys.json``.
"""

from evidence_pack_verifier.checks import CHECKS, checks_for, verify
from evidence_pack_verifier.report import Failure, Passed, Report
from evidence_pack_verifier.trust import Trust, TrustError

__all__ = ["CHECKS", "Failure", "Passed", "Report", "Trust", "TrustError", "checks_for", "verify"]
