"""Landing-page panels and the record finder: what each role sees first besides its work queues.

An auditor lands on what auditors do (the live model versions and their governance status, the ledger's last
verification, recent evidence packs, a search box); a maker sees what they proposed and where it waits. Panels and
finders belong to the apps that know their records; each app registers them in its ``AppConfig.ready``, so this
module, and the landing page, name no model to their right.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AbstractBaseUser

from accounts.choices import Role
from governance.worklist import user_roles


@dataclass(frozen=True)
class LandingPanel:
    """A block of the landing page for people holding any of ``roles``: ``context(user)`` fills ``template``."""

    key: str
    title: str
    roles: frozenset[Role]
    template: str
    context: Callable[[AbstractBaseUser], dict[str, Any]]
    #: Lower first: what a role does most comes first.
    order: int = 100

    @property
    def html_id(self) -> str:
        return "panel-" + self.key.replace(".", "-").replace("_", "-")


@dataclass(frozen=True)
class FoundRecord:
    label: str
    url: str


#: A finder answers the search box for the identifiers it knows (``support-assistant:7``, ``CT-12``), else None.
RecordFinder = Callable[[str], FoundRecord | None]

_panels: dict[str, LandingPanel] = {}
_finders: dict[str, RecordFinder] = {}


def register_panel(panel: LandingPanel) -> None:
    if panel.key in _panels and _panels[panel.key] != panel:
        raise ValueError(f"A different landing panel is already registered as {panel.key!r}.")
    _panels[panel.key] = panel


def register_finder(key: str, finder: RecordFinder) -> None:
    if key in _finders and _finders[key] is not finder:
        raise ValueError(f"A different record finder is already registered as {key!r}.")
    _finders[key] = finder


def panels_for(user: AbstractBaseUser) -> list[tuple[LandingPanel, dict[str, Any]]]:
    """The panels of the user's roles, each once, with its context."""
    held = set(user_roles(user))
    chosen = sorted((panel for panel in _panels.values() if panel.roles & held), key=lambda panel: panel.order)
    return [(panel, panel.context(user)) for panel in chosen]


def searches_records(user: AbstractBaseUser) -> bool:
    """Whether the landing page offers the record search box: to every portal role, which all read records."""
    return bool(user_roles(user)) and bool(_finders)


def find_records(term: str) -> list[FoundRecord]:
    """Every record a finder recognises ``term`` as naming (usually one)."""
    term = term.strip()
    if not term:
        return []
    return [found for finder in _finders.values() if (found := finder(term)) is not None]


@dataclass(frozen=True)
class Cell:
    """One cell of a panel's table: text, a link when ``url`` is set, a CSS class for a status."""

    text: str
    url: str = ""
    status: str = ""


#: The template every table panel renders with: ``headers``, ``rows`` of ``Cell`` and ``empty`` (the text for none),
#: and optionally ``more_url`` / ``more_label`` for the full list.
TABLE_PANEL = "admin/portal_panel.html"


def table(headers: list[str], rows: list[list[Cell]], *, empty: str, more_url: str = "", more_label: str = "") -> dict:
    return {"headers": headers, "rows": rows, "empty": empty, "more_url": more_url, "more_label": more_label}
