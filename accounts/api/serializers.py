"""The base of every API input serializer: a value must have the JSON type the schema gives its field.

DRF's fields convert what they are given: a text field takes ``5`` as ``"5"``, a UUID field takes an integer as
a UUID, a choice field takes ``1`` for ``"1"``, an integer field takes ``"5"`` and a boolean field ``"true"`` or
``1``. The OpenAPI schema promises a string, an integer or a boolean, so a client that sends another type has a
bug the portal should name rather than guess around, and a pipeline that depends on the guess breaks when the
guess changes. ``StrictSerializer`` checks every field's JSON type before DRF converts it, including the items of
list and dict fields, and refuses a mismatch with a 400 naming the field (together with DRF's own messages for
the other fields). Nested serializers check their own fields, being strict serializers too.

A serializer that sets ``refuses_unknown_fields`` also refuses a field it does not name (the others ignore
such fields), and its schema says so (``additionalProperties: false``).
"""

import re
from collections.abc import Mapping
from typing import Any

from drf_spectacular.extensions import OpenApiSerializerExtension
from rest_framework import serializers
from rest_framework.fields import empty
from rest_framework.settings import api_settings

JSON_KINDS: tuple[tuple[type, str], ...] = (
    (bool, "true or false"),  # before int: a bool is an int in Python
    (str, "text"),
    (int, "a number"),
    (float, "a number"),
    (dict, "an object"),
    (list, "a list"),
)
TEXT_FIELDS = (
    serializers.CharField,
    serializers.DateTimeField,
    serializers.DateField,
    serializers.TimeField,
    serializers.DurationField,
)


def _kind(value: Any) -> str:
    return next((name for python_type, name in JSON_KINDS if isinstance(value, python_type)), type(value).__name__)


def _is_text(value: Any) -> bool:
    return isinstance(value, str)


def _is_integer(value: Any) -> bool:
    # JSON has one number type: 5.0 is the integer 5, as JSON Schema counts it.
    return (isinstance(value, int) and not isinstance(value, bool)) or (isinstance(value, float) and value.is_integer())


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_boolean(value: Any) -> bool:
    return isinstance(value, bool)


#: A decimal as the schema's pattern for it has it: digits and a point, no exponent, sign or spaces around.
DECIMAL_TEXT = re.compile(r"^-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)$")


def _is_decimal_text(value: Any) -> bool:
    return isinstance(value, str) and DECIMAL_TEXT.match(value) is not None


#: A UUID as the schema's ``format: uuid`` has it: hyphenated, without braces or a ``urn:uuid:`` prefix.
UUID_TEXT = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\Z")


def _is_uuid_text(value: Any) -> bool:
    return isinstance(value, str) and UUID_TEXT.match(value) is not None


#: Each check with the JSON type its message names.
TEXT = (_is_text, "text (a JSON string)")
INTEGER = (_is_integer, "a whole number (a JSON integer)")
NUMBER = (_is_number, "a number (a JSON number)")
BOOLEAN = (_is_boolean, "true or false (a JSON boolean)")
DECIMAL = (_is_decimal_text, 'a decimal number as text of digits and a point (a JSON string such as "12.5")')
UUID = (_is_uuid_text, 'a UUID as hyphenated text (a JSON string such as "0b5c1f4e-0a3f-4a43-9f2f-9a1e0d7d7d11")')


def _expected(field: serializers.Field) -> tuple[Any, str] | None:
    """The JSON type the schema gives ``field``, or ``None`` where the field checks its input itself."""
    if isinstance(field, serializers.ChoiceField) and not isinstance(field, serializers.MultipleChoiceField):
        keys = list(field.choices)
        if keys and all(isinstance(key, str) for key in keys):
            return TEXT
        if keys and all(_is_integer(key) for key in keys):
            return INTEGER
        return None
    if isinstance(field, serializers.DecimalField):
        as_text = getattr(field, "coerce_to_string", None)  # set only when the field is given one
        return DECIMAL if (api_settings.COERCE_DECIMAL_TO_STRING if as_text is None else as_text) else NUMBER
    if isinstance(field, serializers.UUIDField):
        return UUID
    if isinstance(field, TEXT_FIELDS):
        return TEXT
    if isinstance(field, serializers.BooleanField):
        return BOOLEAN
    if isinstance(field, serializers.IntegerField):
        return INTEGER
    if isinstance(field, serializers.FloatField):
        return NUMBER
    return None


def json_type_errors(field: serializers.Field, value: Any) -> Any:
    """DRF-shaped errors for ``value`` (and, in a list or dict field, its items) of the wrong JSON type."""
    if value is None:
        return None  # null is the field's own question (allow_null)
    if isinstance(field, serializers.ListField) and isinstance(value, list):
        errors = {index: error for index, item in enumerate(value) if (error := json_type_errors(field.child, item))}
        return errors or None
    if isinstance(field, serializers.DictField) and isinstance(value, dict):
        errors = {key: error for key, item in value.items() if (error := json_type_errors(field.child, item))}
        return errors or None
    expected = _expected(field)
    if expected is None:
        return None
    accepts, what = expected
    if accepts(value):
        return None
    if expected in (DECIMAL, UUID) and isinstance(value, str):
        return [f"Send {what}."]
    return [f"Send {what}, not {_kind(value)}."]


class StrictSerializer(serializers.Serializer):
    # No docstring: drf-spectacular would show it as the description of every input in the schema.

    refuses_unknown_fields: bool = False

    def to_internal_value(self, data: Any) -> Any:
        wrong = {}
        if self.refuses_unknown_fields and isinstance(data, Mapping):
            known = ", ".join(self.fields)
            wrong.update({name: [f"Unknown field; send only {known}."] for name in data if name not in self.fields})
        if isinstance(data, Mapping):
            for field in self._writable_fields:
                value = field.get_value(data)
                if value is not empty and (error := json_type_errors(field, value)):
                    wrong[field.field_name] = error
        try:
            validated = super().to_internal_value(data)
        except serializers.ValidationError as refused:
            if wrong and isinstance(refused.detail, dict):
                raise serializers.ValidationError({**refused.detail, **wrong}) from None
            raise
        if wrong:
            raise serializers.ValidationError(wrong)
        return validated


class StrictSerializerSchema(OpenApiSerializerExtension):
    """The schema of a ``StrictSerializer`` that refuses unknown fields says so."""

    target_class = StrictSerializer
    match_subclasses = True

    def map_serializer(self, auto_schema: Any, direction: str) -> dict[str, Any]:
        schema = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        if self.target.refuses_unknown_fields:
            schema["additionalProperties"] = False
        return schema
