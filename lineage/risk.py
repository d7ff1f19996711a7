"""A dataset version's risk score, with the reasons that make it up, so a reviewer sees why, not just how much."""

from dataclasses import dataclass

from lineage.choices import LegalBasis, Sensitivity
from lineage.models import LineageRecord

_SENSITIVITY = {
    Sensitivity.PUBLIC: 0,
    Sensitivity.INTERNAL: 10,
    Sensitivity.CONFIDENTIAL: 25,
    Sensitivity.RESTRICTED: 40,
}
_HIGH_RISK_CATEGORIES = {"payment_card": "payment card data", "health": "health data", "biometric": "biometric data"}
_LEVELS = ((25, "low"), (50, "medium"), (75, "high"))


@dataclass(frozen=True)
class RiskAssessment:
    score: int
    level: str
    reasons: tuple[str, ...]


def assess(record: LineageRecord) -> RiskAssessment:
    points: list[tuple[int, str]] = []
    sensitivity = _SENSITIVITY.get(record.sensitivity, 0)
    if sensitivity:
        points.append((sensitivity, f"{record.get_sensitivity_display()} data"))
    sources = list(record.sources.all())
    if any(source.special_category for source in sources):
        points.append((25, "special-category data (GDPR Art. 9)"))
    for category, label in _HIGH_RISK_CATEGORIES.items():
        if category in record.data_categories:
            points.append((10, label))
    if any(source.legal_basis == LegalBasis.CONSENT for source in sources):
        points.append((5, "consent as legal basis: withdrawals and erasure requests are likely"))
    if record.data_categories and not record.privacy_controls:
        points.append((15, "personal data without privacy controls"))
    if record.retention_days and record.retention_days > 3 * 365:
        points.append((5, f"kept {record.retention_days} days, more than three years"))
    score = min(100, sum(value for value, _reason in points))
    level = next((name for limit, name in _LEVELS if score < limit), "critical")
    return RiskAssessment(score=score, level=level, reasons=tuple(f"+{value}: {reason}" for value, reason in points))
