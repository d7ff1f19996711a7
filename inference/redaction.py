"""Redacted excerpts of prompts and answers, for the use cases whose records may keep one.

A use case keeps excerpts only when it is listed in ``INFERENCE_EXCERPT_USE_CASES`` (a privacy decision, like the
keys, made by whoever runs the portal; none by default). Before anything is written the text is normalised and
masked: card numbers (runs of 13 to 19 digits, spaces or dashes between, that pass the Luhn check), e-mail
addresses, phone numbers (7 to 15 digits with an optional ``+`` and the usual separators, but not an ISO date), and
what the use case's approved requirements say to redact: each ``redact`` constraint's ``/regular expression/``
between slashes, and IBANs when one names them. Only then is the text cut to ``INFERENCE_EXCERPT_CHARS``. A
constraint whose expression does not compile keeps the record from having an excerpt at all: an excerpt is never
kept less masked than the requirements say.
"""

import re
from dataclasses import dataclass, field

from django.conf import settings

from governance.choices import ConstraintKind, RequirementsState
from governance.models import BehaviorConstraint, UseCase
from inference.keys import normalised

CARD = "[card number]"
EMAIL = "[e-mail]"
PHONE = "[phone]"
REDACTED = "[redacted]"

_CARD_CANDIDATE = re.compile(r"(?<!\d)\d(?:[ -]?\d){12,18}(?!\d)")
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
# Not a piece of a longer run of digits (a reference number that failed the Luhn check stays as it is).
_PHONE = re.compile(r"(?<![\w+])(?<!\d[ -])\+?\(?\d(?:[ ().-]{0,2}\d){6,14}(?!\w|[ -]\d)")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b")
_SLASHED = re.compile(r"/((?:\\/|[^/])+)/")


def luhn_valid(digits: str) -> bool:
    total = 0
    for index, digit in enumerate(reversed(digits)):
        value = int(digit) * (2 if index % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def _mask_cards(text: str) -> str:
    def replace(match: re.Match[str]) -> str:
        digits = re.sub(r"\D", "", match.group())
        return CARD if luhn_valid(digits) else match.group()

    return _CARD_CANDIDATE.sub(replace, text)


@dataclass(frozen=True)
class ExcerptPolicy:
    """Whether a use case's records keep excerpts, and the patterns its requirements add to the built-in ones."""

    allowed: bool
    patterns: tuple[re.Pattern[str], ...] = field(default=())

    def excerpt(self, text: str | None) -> str:
        """The masked excerpt of ``text`` to store, or ``""`` when none may be kept."""
        if not self.allowed or not text:
            return ""
        return masked(text, self.patterns)[: settings.INFERENCE_EXCERPT_CHARS].rstrip()


def masked(text: str, patterns: tuple[re.Pattern[str], ...] = ()) -> str:
    """``text`` normalised, with the use case's patterns, card numbers, e-mail addresses and phone numbers masked."""
    result = normalised(text)
    for pattern in patterns:
        result = pattern.sub(REDACTED, result)
    result = _mask_cards(result)
    result = _EMAIL.sub(EMAIL, result)
    return _PHONE.sub(lambda match: match.group() if _DATE.fullmatch(match.group()) else PHONE, result)


def excerpt_policy(use_case: UseCase) -> ExcerptPolicy:
    if use_case.slug not in settings.INFERENCE_EXCERPT_USE_CASES:
        return ExcerptPolicy(allowed=False)
    statements = BehaviorConstraint.objects.filter(
        document__use_case=use_case, document__state=RequirementsState.APPROVED, kind=ConstraintKind.REDACT
    ).values_list("statement", flat=True)
    patterns: list[re.Pattern[str]] = []
    for statement in statements:
        if "iban" in statement.lower():
            patterns.append(_IBAN)
        for expression in _SLASHED.findall(statement):
            try:
                patterns.append(re.compile(expression.replace("\\/", "/")))
            except re.error:
                return ExcerptPolicy(allowed=False)
    return ExcerptPolicy(allowed=True, patterns=tuple(patterns))
