"""What a RACI or threshold revision changes, cell by cell and figure by figure, in the words people use.

A Risk Officer asked to approve a revision needs "Monitoring & retraining, Risk Officer: I → C", not the whole
matrix under raw keys: this compares the revision's content with the revision it replaces (``audit.canonical``'s
``json_differences``) and labels each difference from the fields' choices.
"""

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from audit.canonical import json_differences, to_jsonable
from governance.choices import EvaluationDimension, LifecycleStage, RevisionState
from governance.models import RaciMatrix, ThresholdPolicy
from governance.models.revisions import ChangeControlledRevision

#: How each threshold figure reads: its name after the dimension, and the unit after the value.
THRESHOLD_FIGURES = {
    "min_pass_rate": ("minimum", "%"),
    "borderline_band": ("borderline band", " points"),
    "scope_note": ("scope", ""),
}
ABSENT = "\u2013"  # an en dash, as the admin shows an empty value


@dataclass(frozen=True)
class RevisionChange:
    """One changed cell or figure: ``label: before → after``."""

    label: str
    before: str
    after: str

    def __str__(self) -> str:
        return f"{self.label}: {self.before} → {self.after}"


def replaced_revision(revision: ChangeControlledRevision) -> ChangeControlledRevision | None:
    """The revision this one replaces (or would replace): the newest earlier one that took effect, of the same scope;
    for a use case's first thresholds of its own, the organisation default it inherited until then."""
    earlier = (
        type(revision)
        .objects.filter(
            use_case_id=revision.use_case_id,
            revision__lt=revision.revision,
            state__in=[RevisionState.EFFECTIVE, RevisionState.SUPERSEDED],
        )
        .order_by("-revision")
        .first()
    )
    if earlier is None and isinstance(revision, ThresholdPolicy) and revision.use_case_id is not None:
        return ThresholdPolicy.objects.filter(use_case__isnull=True, state=RevisionState.EFFECTIVE).first()
    return earlier


def revision_changes(
    revision: ChangeControlledRevision, previous: ChangeControlledRevision | None
) -> list[RevisionChange]:
    """Every difference between ``previous`` (None: nothing before) and ``revision``, labelled."""
    before = to_jsonable(previous.content()) if previous is not None else {}
    after = to_jsonable(revision.content())
    describe = getattr(revision, "describe_change", None) or (
        _raci_change if isinstance(revision, RaciMatrix) else _threshold_change
    )
    return [describe(path, old, new) for path, old, new in json_differences(before, after)]


def readable_content(revision: ChangeControlledRevision) -> list[tuple[str, list[str]]]:
    """The whole revision as (heading, ["Risk Officer: C", ...]) rows, for reading it in full.

    A kind of revision from an app downstream (which this module may not name) reads itself: it defines
    ``readable_content()`` and ``describe_change(path, before, after) -> RevisionChange``."""
    if hasattr(revision, "readable_content"):
        return revision.readable_content()
    if isinstance(revision, RaciMatrix):
        return [
            (_stage_label(stage), [f"{role}: {letter}" for role, letter in roles.items()])
            for stage, roles in revision.content().items()
        ]
    return [
        (
            _dimension_label(dimension),
            [
                f"{THRESHOLD_FIGURES[key][0]}: {_figure(key, value)}"
                for key, value in figures.items()
                if key in THRESHOLD_FIGURES and value not in ("", None)
            ],
        )
        for dimension, figures in sorted(revision.content().items())
    ]


def _stage_label(stage: str) -> str:
    return str(LifecycleStage(stage).label) if stage in LifecycleStage.values else stage


def _dimension_label(dimension: str) -> str:
    return str(EvaluationDimension(dimension).label) if dimension in EvaluationDimension.values else dimension


def _raci_change(path: str, before: Any, after: Any) -> RevisionChange:
    stage, _dot, role = path.partition(".")
    if not role:  # a whole stage appeared or went
        return RevisionChange(_stage_label(stage), _letters(before), _letters(after))
    return RevisionChange(f"{_stage_label(stage)}, {role}", before or ABSENT, after or ABSENT)


def _letters(cells: Any) -> str:
    return ", ".join(f"{role}: {letter}" for role, letter in (cells or {}).items()) or ABSENT


def _threshold_change(path: str, before: Any, after: Any) -> RevisionChange:
    dimension, _dot, key = path.partition(".")
    if not key:  # a whole dimension was added or dropped
        return RevisionChange(_dimension_label(dimension), _figures(before), _figures(after))
    name = THRESHOLD_FIGURES.get(key, (key, ""))[0]
    return RevisionChange(f"{_dimension_label(dimension)} {name}", _figure(key, before), _figure(key, after))


def _figures(figures: Any) -> str:
    if not figures:
        return ABSENT
    return ", ".join(
        f"{THRESHOLD_FIGURES[key][0]} {_figure(key, value)}"
        for key, value in figures.items()
        if key in THRESHOLD_FIGURES and value not in ("", None)
    )


def _figure(key: str, value: Any) -> str:
    """``96%`` for ``"96.00"``; text as it is; the absent dash for nothing."""
    if value in ("", None):
        return ABSENT
    unit = THRESHOLD_FIGURES.get(key, ("", ""))[1]
    if not unit:
        return str(value)
    number = Decimal(str(value)).normalize()
    return f"{number:f}{unit}"
