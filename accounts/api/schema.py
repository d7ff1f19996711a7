"""The API's error answers, written into its OpenAPI schema once for every operation.

Every pipeline endpoint shares one error shape (``accounts.api.exceptions``: ``detail``, and ``errors`` by field
for a 400) and the same reasons to refuse: a request it cannot read, no or a bad token, a scope or use case the
token lacks, an unknown record, a rate exceeded. Declaring those on each view would repeat them thirteen times
and drift; this drf-spectacular post-processing hook adds them to every operation under the API's prefix, next
to the success answers each view declares itself. A schema-driven client or fuzzer then knows every status code
the API can answer.

A second hook, ``document_storable_input``, says in the request bodies' schemas what the JSON parser
(``accounts.api.parsers``) and the fields refuse, so that every request the schema calls valid is one the API
takes: no NUL character in any text or key, integers within +-(2**53 - 1), text that is not blank once trimmed
where a field needs text, and free-form objects (a run's config, a facet) and unknown fields (read and ignored)
holding only such values.
"""

from typing import Any

from accounts.api.parsers import MAX_SAFE_INTEGER

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


STORABLE_COMPONENT = "StorableJSON"
#: What ``str.strip()`` (DRF's trimming of text fields) takes away, spelled out so every regex engine agrees.
WHITESPACE = r"\t-\r\u001c- \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
NO_NUL = r"^[^\u0000]*$"
NOT_BLANK = rf"^[^\u0000]*[^\u0000{WHITESPACE}][^\u0000]*$"
STORABLE_SCHEMA = {
    "description": "Any JSON value the portal can store: no NUL character in text or keys, and an integer (a "
    f"number written without a point or exponent) within +-{MAX_SAFE_INTEGER}.",
    "nullable": True,
    "anyOf": [
        {"type": "string", "pattern": NO_NUL},
        {"type": "number"},
        {"type": "boolean"},
        {"type": "array", "items": {"$ref": f"#/components/schemas/{STORABLE_COMPONENT}"}},
        {
            "type": "object",
            "propertyNames": {"pattern": NO_NUL},
            "additionalProperties": {"$ref": f"#/components/schemas/{STORABLE_COMPONENT}"},
        },
    ],
}


def _input_components(result: dict[str, Any]) -> set[str]:
    """The names of the components request bodies use, and of those they use in turn."""
    found: set[str] = set()
    pending = [body for operations in result.get("paths", {}).values() for body in _request_bodies(operations.values())]
    components = result.get("components", {}).get("schemas", {})
    while pending:
        node = pending.pop()
        if isinstance(node, dict):
            reference = node.get("$ref", "")
            name = reference.rsplit("/", 1)[-1]
            if reference.startswith("#/components/schemas/") and name not in found and name in components:
                found.add(name)
                pending.append(components[name])
            pending.extend(node.values())
        elif isinstance(node, list):
            pending.extend(node)
    return found


def _request_bodies(operations: Any) -> list[Any]:
    return [operation["requestBody"] for operation in operations if "requestBody" in operation]


def _storable(schema: Any) -> None:
    """``schema`` (in place, with everything in it) as narrow as what the API stores."""
    if isinstance(schema, list):
        for item in schema:
            _storable(item)
        return
    if not isinstance(schema, dict) or "$ref" in schema:
        return
    free = {"$ref": f"#/components/schemas/{STORABLE_COMPONENT}"}
    kind = schema.get("type")
    if kind == "string" and not ({"format", "enum", "pattern"} & set(schema)):
        schema["pattern"] = NOT_BLANK if schema.get("minLength", 0) >= 1 else NO_NUL
    elif kind == "integer":
        schema.setdefault("minimum", -MAX_SAFE_INTEGER)
        schema.setdefault("maximum", MAX_SAFE_INTEGER)
    elif kind == "object" and schema.get("additionalProperties") is not False:
        if schema.get("additionalProperties", True) in (True, {}):
            schema["additionalProperties"] = free
        schema.setdefault("propertyNames", {"pattern": NO_NUL})
    elif kind == "array" and schema.get("items", {}) == {}:
        schema["items"] = free
    for child in schema.get("properties", {}).values():
        _storable(child)
    for key in ("items", "additionalProperties", "allOf", "anyOf", "oneOf"):
        _storable(schema.get(key))


def document_storable_input(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """``SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"]``: request bodies' schemas say what the API can store."""
    components = result.setdefault("components", {}).setdefault("schemas", {})
    for name in _input_components(result):
        _storable(components[name])
    components.setdefault(STORABLE_COMPONENT, STORABLE_SCHEMA)
    return result
