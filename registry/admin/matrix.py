"""The evaluation matrix of a validation run: policies down, test categories across, each cell the results of
the cases that prove that policy in that category. Counted by the database: two grouped queries whatever the
number of results, cases, policies or categories."""

from dataclasses import dataclass, field

from django.db.models import Count, Q

from registry.choices import ResultOutcome, ValidationCategory
from registry.models import GateDecision, ValidationResult, ValidationRun

NO_POLICY = "(no policy)"


@dataclass(frozen=True)
class Cell:
    passed: int = 0
    total: int = 0

    @property
    def outcome(self) -> str:
        """``pass`` when every result passed, ``fail`` when any failed, ``none`` when nothing was tested."""
        if not self.total:
            return "none"
        return ResultOutcome.PASS.value if self.passed == self.total else ResultOutcome.FAIL.value


@dataclass
class MatrixRow:
    code: str
    title: str
    cells: list[Cell] = field(default_factory=list)

    @property
    def total(self) -> Cell:
        return Cell(sum(cell.passed for cell in self.cells), sum(cell.total for cell in self.cells))


@dataclass
class Matrix:
    categories: list[tuple[str, str]]
    rows: list[MatrixRow]


def _counts(queryset, *keys: str) -> list[tuple]:
    """(*keys, passed, total) per group; a result counted once per group even if several constraints of its
    case map to the same policy."""
    return list(
        queryset.values_list(*keys)
        .annotate(
            passed=Count("pk", filter=Q(outcome=ResultOutcome.PASS), distinct=True),
            total=Count("pk", distinct=True),
        )
        .order_by()
    )


def evaluation_matrix(run: ValidationRun) -> Matrix:
    """Rows: the policies the run's cases prove (through their behaviour constraints), by code, and last the
    cases tied to no policy. A case proving several policies counts in each of their rows."""
    results = ValidationResult.objects.filter(run=run)
    policy = "case__constraints__policies"
    by_policy = _counts(
        results.filter(**{f"{policy}__isnull": False}), f"{policy}__code", f"{policy}__title", "case__category"
    )
    unmapped = _counts(results.exclude(**{f"{policy}__isnull": False}), "case__category")
    categories = list(ValidationCategory.choices)
    column = {value: index for index, (value, _label) in enumerate(categories)}

    rows: dict[str, MatrixRow] = {}
    for code, title, category, passed, total in by_policy:
        row = rows.setdefault(code, MatrixRow(code, title, [Cell() for _ in categories]))
        row.cells[column[category]] = Cell(passed, total)
    ordered = [rows[code] for code in sorted(rows)]
    if unmapped:
        row = MatrixRow(NO_POLICY, "Cases tied to no policy", [Cell() for _ in categories])
        for category, passed, total in unmapped:
            row.cells[column[category]] = Cell(passed, total)
        ordered.append(row)
    return Matrix(categories=categories, rows=ordered)


def gate_rows(gate: GateDecision) -> list[dict]:
    """The gate's figures per dimension, gated dimensions first, then by name."""
    rows = [{"dimension": dimension, **figures} for dimension, figures in gate.figures.items()]
    return sorted(rows, key=lambda row: (row.get("outcome") is None, row.get("label", "")))
