"""What the reviewer's page shows beside the record: the changes since the previous version, and the
upstream lineage as a picture (SVG drawn on the server, so it works without scripts and prints in packs)."""

from decimal import Decimal
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.urls import reverse
from django.utils.html import escape

from governance.charts import text_width
from governance.revision_changes import ABSENT
from lineage.graph import upstream_version_ids
from lineage.models import DatasetVersion, LineageEdge, LineageRecord, LineageSource

#: Nodes are at least this wide, and wider when their label needs it (labels are never cut).
MIN_NODE_WIDTH, NODE_HEIGHT, COLUMN_GAP, ROW, NODE_FONT = 220, 34, 40, 50, 11


def changes_since_previous(version: DatasetVersion) -> tuple[DatasetVersion | None, list[tuple[str, Any, Any]]]:
    """(previous version of the same dataset, [(field, before, after)]) over what reviewers sign off: the fields,
    then each source's languages and synthetic marker and each step's marker (``ABSENT`` on the side that has none)."""
    previous = (
        DatasetVersion.objects.filter(dataset=version.dataset, number__lt=version.number)
        .order_by("-number")
        .select_related("lineage")
        .first()
    )
    if previous is None or not hasattr(previous, "lineage"):
        return previous, []
    (before, was), (after, now) = _readable(previous), _readable(version)
    return previous, [
        *((_label(key), before.get(key), after.get(key)) for key in sorted(after) if before.get(key) != after.get(key)),
        *(
            (label, was.get(label, ABSENT), now.get(label, ABSENT))
            for label in dict.fromkeys([*now, *was])
            if was.get(label) != now.get(label)
        ),
    ]


def _label(key: str) -> str:
    """The field's own name as forms show it ("rows", "content digest (SHA-256)"), not its attribute."""
    for model in (DatasetVersion, LineageRecord):
        try:
            field = model._meta.get_field(key)
        except FieldDoesNotExist:
            continue
        if hasattr(field, "verbose_name"):  # a reverse relation (a record's sources) has none
            return str(field.verbose_name)
    return {"steps": "transformations"}.get(key, key.replace("_", " "))


def _readable(version: DatasetVersion) -> tuple[dict[str, Any], dict[str, str]]:
    """What reviewers sign off, in words a reviewer reads (names, not ids): the fields by attribute, and what each
    source and step says its data is (languages, synthetic marker) by the row's own label ("Languages of Zendesk")."""
    content = version.lineage.digest_content()
    names = dict(
        LineageSource.objects.filter(record=version.lineage).values_list("source_system_id", "source_system__name")
    )
    described: dict[str, str] = {}
    sources = []
    for source_id, basis, special, condition, start, end, *data in content["sources"]:
        name = names.get(source_id, source_id)
        sources.append(f"{name}: {basis}{', Art. 9 ' + condition if special else ''}, {start} to {end}")
        what = data[0] if data else {}  # nothing when the source declares neither
        if what.get("languages"):
            described[f"Languages of {name}"] = ", ".join(what["languages"])
        if what.get("synthetic"):
            described[f"{name} marked synthetic"] = _synthetic(what["synthetic"])
    content["sources"] = sources
    steps = []
    for position, kind, tool, code, _parameters, _input, _output, *data in content["steps"]:
        steps.append(f"{position}. {kind} ({tool} {code})")
        if data and data[0].get("synthetic"):
            described[f"Step {position} ({kind}) marked synthetic"] = _synthetic(data[0]["synthetic"])
    content["steps"] = steps
    content["content_digest"] = version.content_digest[:16] + "..."
    for name in ("row_count", "sampling_method", "filters"):
        content[name] = getattr(version, name)
    fields = {
        key: "; ".join(map(str, value)) or "none" if isinstance(value, list) else value
        for key, value in content.items()
    }
    return fields, described


def _synthetic(marker: dict[str, str]) -> str:
    """The synthetic marker as a reviewer reads it: "generator gpt-4o 2024-08-06, 30%, prompt template 3f2a…"."""
    share = (Decimal(marker["share"]) * 100).normalize()
    digest = marker["prompt_template_digest"]
    return (
        f"generator {marker['generator_model']} {marker['generator_version']}, {share:f}%, "
        f"prompt template {digest[:12]}{'…' if len(digest) > 12 else ''}"
    )


def sources_in_effect(version: DatasetVersion) -> list[LineageSource]:
    """The version's own sources, then those it reaches through the versions it was derived from, each with the
    record it is written on (``record.version``), so a reviewer reads every legal basis, Art. 9 condition, consent
    scope and retention the data carries without opening each parent. Two queries, whatever the depth."""
    ids = upstream_version_ids([version.pk]) | {version.pk}
    sources = LineageSource.objects.filter(record__version_id__in=ids).select_related(
        "source_system", "record__version__dataset"
    )
    return sorted(
        sources, key=lambda source: (source.record.version_id != version.pk, str(source.record.version), source.pk)
    )


def lineage_svg(version: DatasetVersion) -> str:
    """Sources on the left, then each generation of dataset versions, ending with this one on the right."""
    ids = upstream_version_ids([version.pk]) | {version.pk}
    versions = {v.pk: v for v in DatasetVersion.objects.filter(pk__in=ids).select_related("dataset")}
    edges = list(LineageEdge.objects.filter(child_id__in=ids, parent_id__in=ids).values_list("parent_id", "child_id"))
    sources = list(
        LineageSource.objects.filter(record__version_id__in=ids).values_list(
            "source_system__name", "source_system_id", "record__version_id"
        )
    )
    depth = {pk: 0 for pk in ids}
    for _ in range(len(ids)):  # longest path from a root; the graph is acyclic and small
        for parent, child in edges:
            depth[child] = max(depth[child], depth[parent] + 1)
    source_ids = {name: source_id for name, source_id, _version in sources}
    labels: dict[str, tuple[str, str]] = {}  # key -> (label, admin URL)
    for name, source_id in source_ids.items():
        labels[f"s:{name}"] = (name, reverse("admin:lineage_sourcesystem_change", args=[source_id]))
    for pk, node in versions.items():
        labels[f"v:{pk}"] = (
            f"{node} · {node.get_state_display()}",
            reverse("admin:lineage_datasetversion_change", args=[pk]),
        )
    node_width = max(MIN_NODE_WIDTH, *(int(text_width(label, NODE_FONT)) + 12 for label, _url in labels.values()))
    column_width = node_width + COLUMN_GAP
    columns: dict[int, list[str]] = {}
    position: dict[str, tuple[int, int]] = {}

    def place(key: str, column: int) -> None:
        row = len(columns.setdefault(column, []))
        columns[column].append(key)
        position[key] = (10 + column * column_width, 10 + row * ROW)

    for name in sorted(source_ids):
        place(f"s:{name}", 0)
    for pk in sorted(ids, key=lambda pk: (depth[pk], str(versions[pk]))):
        place(f"v:{pk}", depth[pk] + 1)
    links = [(f"s:{name}", f"v:{pk}") for name, _source_id, pk in sources] + [(f"v:{p}", f"v:{c}") for p, c in edges]
    width = 20 + (max(columns) + 1) * column_width - COLUMN_GAP
    height = 20 + max(len(keys) for keys in columns.values()) * ROW
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="lineage-graph" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="Lineage of {escape(str(version))}">'
    ]
    for start, end in links:
        (x1, y1), (x2, y2) = position[start], position[end]
        parts.append(
            f'<line x1="{x1 + node_width}" y1="{y1 + NODE_HEIGHT // 2}" x2="{x2}" y2="{y2 + NODE_HEIGHT // 2}" '
            'stroke="#79aec8" stroke-width="1.5"/>'
        )
    for key, (x, y) in position.items():
        label, url = labels[key]
        fill = "#f4e7c5" if key.startswith("s:") else "#c9e7c9" if key == f"v:{version.pk}" else "#e8f1f6"
        parts.append(
            f'<a href="{escape(url)}"><rect x="{x}" y="{y}" width="{node_width}" height="{NODE_HEIGHT}" rx="4" '
            f'fill="{fill}" stroke="#417690"/><text x="{x + 6}" y="{y + 21}" font-size="{NODE_FONT}" '
            f'font-family="sans-serif">{escape(label)}</text></a>'
        )
    parts.append("</svg>")
    return "".join(parts)
