"""Finding ledger entries by what people know: a record's label or human ID, a person's name.

The ledger repeats labels and names as text, but a LIKE over millions of entries reads every one. So the term is
first resolved against the tables that hold labels and names (each governed model through its admin's own search,
which knows human IDs such as ``support-chats@3``; the people table), a bounded number of ids per table; the ledger
is then filtered by ``(object_type, object_id)`` and ``actor``, which its indexes serve. The cost is one query per
searchable table, whatever the size of the ledger.
"""

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet, Value
from django.db.models.functions import Concat
from django.http import HttpRequest

from audit.canonical import ledger_labels
from audit.models.base import GovernedModel

#: Records (and people) of one table a term may match before the rest are left out: a term that matches more is
#: too vague to browse the ledger by, and the search says so by showing the first ones' entries only.
MATCH_LIMIT = 200


def people_matching(term: str) -> list[int]:
    """People whose username, first, last or full name contains the term."""
    users = get_user_model()._base_manager.annotate(full_name=Concat("first_name", Value(" "), "last_name"))
    query = Q(username__iexact=term) | Q(full_name__icontains=term) | Q(email__iexact=term)
    return list(users.filter(query).order_by("pk").values_list("pk", flat=True)[:MATCH_LIMIT])


def records_matching(request: HttpRequest, term: str) -> dict[type, list[str]]:
    """Governed records whose admin search finds the term, by model: ids as the ledger writes them (text)."""
    found: dict[type, list[str]] = {}
    for model, model_admin in admin.site._registry.items():
        if not issubclass(model, GovernedModel) or not model_admin.search_fields:
            continue
        everything = model._default_manager.all()
        # A human ID (``support-chats@3``) names one record exactly, which a substring search of its parts cannot find.
        exact = everything.filter_identifier(term) if hasattr(everything, "filter_identifier") else None
        if exact is not None:
            queryset = exact
        else:
            queryset, _duplicates = model_admin.get_search_results(request, everything, term)
        ids = [str(pk) for pk in queryset.order_by("pk").values_list("pk", flat=True).distinct()[:MATCH_LIMIT]]
        if ids:
            found[model] = ids
    return found


def ledger_search(request: HttpRequest, queryset: QuerySet, term: str) -> QuerySet:
    """Entries about a record the term names (by id, label or human ID), about a person it names, or by them."""
    term = term.strip()
    if not term:
        return queryset
    query = Q(object_id=term)
    people = people_matching(term)
    if people:
        user_model = get_user_model()
        query |= Q(actor_id__in=people)
        query |= Q(object_type__in=ledger_labels(user_model), object_id__in=[str(pk) for pk in people])
    for model, ids in records_matching(request, term).items():
        query |= Q(object_type__in=ledger_labels(model), object_id__in=ids)
    return queryset.filter(query)
