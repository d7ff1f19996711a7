"""Finding inference records by what a complaint or a regulator's request brings: a response id, a trace id, a
conversation id, or the answer itself (matched by its HMAC under every key, current and retired)."""

from django.db.models import Q, QuerySet

from inference import keys
from inference.models import InferenceRecord
from registry.models import Incident


def records_for_answer(answer: str) -> QuerySet[InferenceRecord]:
    """The records whose answer was ``answer`` (after the same normalisation as when they were written)."""
    match = Q()
    for key_id, digest in keys.content_digests(answer).items():
        match |= Q(hmac_key_id=key_id, answer_hmac=digest)
    return InferenceRecord.objects.filter(match)


def identifier_match(identifier: str) -> Q:
    """The records a response id, trace id (hex, in either case) or conversation id names, as a filter that each of
    its three indexes can serve."""
    value = identifier.strip()
    return Q(response_id=value) | Q(trace_id=value.lower()) | Q(conversation_id=value)


def records_for_identifier(identifier: str) -> QuerySet[InferenceRecord]:
    """The records a response id, trace id or conversation id names."""
    return InferenceRecord.objects.filter(identifier_match(identifier))


def records_cited_by(incident: Incident) -> QuerySet[InferenceRecord]:
    """The inference records ``incident`` cites that retention has not purged."""
    return InferenceRecord.objects.filter(pk__in=incident.inference_citations.values("record_id"))
