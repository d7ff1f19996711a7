"""The API's error answers, written into its OpenAPI schema once for every operation.

Every pipeline endpoint shares one error shape (``accounts.api.exceptions``: ``detail``, and ``errors`` by field
for a 400) and the same reasons to refuse: a request it cannot read, no or a bad token, a scope or use case the
token lacks, an unknown record, a rate exceeded. Declaring those on each view would repeat them thirteen times
and drift; this drf-spectacular post-processing hook adds them to every operation under the API's prefix, next
to the success answers each view declares itself. A schema-driven client or fuzzer then knows every status code
the API can answer.
"""

from typing import Any

API_PREFIX = "/api/v1/"
ERROR_COMPONENT = "Error"

ERROR_SCHEMA = {
    "type": "object",
    "description": "Why the request was refused, and for a 400 the messages of each field.",
    "properties": {
        "detail": {"type": "string"},
        "errors": {
            "type": "object",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
        },
    },
    "required": ["detail"],
}

#: Answers every operation may give.
EVERY_OPERATION = {
    "400": "The request is invalid: malformed JSON, or the fields' messages say what to fix.",
    "401": "No valid pipeline token (or signed-in session).",
    "403": "The token lacks the scope, or does not reach the record's use case (recorded in the ledger).",
    "404": "No such record.",
    "429": "Above the token's rate; retry after the Retry-After header's seconds.",
}
#: Answers of operations that take a body.
WITH_A_BODY = {
    "409": "The record is not in a state that allows this, or the request conflicts with what is recorded.",
    "413": "The body is larger than the API's limit (API_MAX_REQUEST_BYTES).",
    "415": "The body is not JSON.",
    "422": "The body is well-formed but names a record the portal does not have (the fields' messages name it), "
    "or the Idempotency-Key was used before with another body.",
}


def document_errors(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """``SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"]``: the shared error answers on every API operation."""
    components = result.setdefault("components", {}).setdefault("schemas", {})
    components.setdefault(ERROR_COMPONENT, ERROR_SCHEMA)
    reference = {"$ref": f"#/components/schemas/{ERROR_COMPONENT}"}
    for path, operations in result.get("paths", {}).items():
        if not path.startswith(API_PREFIX):
            continue
        for method, operation in operations.items():
            answers = dict(EVERY_OPERATION)
            if method in ("post", "put", "patch"):
                answers.update(WITH_A_BODY)
            responses = operation.setdefault("responses", {})
            for status, description in answers.items():
                responses.setdefault(
                    status, {"description": description, "content": {"application/json": {"schema": reference}}}
                )
    return result
