"""A digest or an id stored as its bytes and handled as hex text.

Trace and span ids, HMACs and pseudonyms are fixed-length binary values. Stored as hex text they take twice their
size in the table and in every index that holds them, and inference records are the portal's largest table; stored
as ``bytea`` (a BLOB on SQLite) they take their own size. Everything above the database keeps seeing lower-case hex:
the model's attribute, lookups (``trace_id=...``, ``__in``), the admin, the Merkle leaf (which writes bytes as
hex anyway, so records sealed before the change still prove).
"""

from typing import Any

from django.core.exceptions import ValidationError
from django.db import models

#: What a lookup by a value that is not hex compares with: no length the portal stores (0, 8, 16 or 32 bytes), so
#: it matches nothing, where raising would turn a search for a response id (``records_for_identifier`` tries the
#: same text as a trace id) into an error.
_MATCHES_NOTHING = b"\xff"


class HexBytesField(models.BinaryField):
    """Bytes in the database, hex in Python; ``""`` is the empty value."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("editable", False)
        super().__init__(*args, **kwargs)

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> str | None:
        return None if value is None else bytes(value).hex()

    def to_python(self, value: Any) -> str | None:
        if isinstance(value, bytes | bytearray | memoryview):
            return bytes(value).hex()
        return value

    def get_prep_value(self, value: Any) -> bytes | None:
        if value is None or isinstance(value, bytes):
            return value
        try:
            return bytes.fromhex(value)
        except (TypeError, ValueError):
            return _MATCHES_NOTHING

    def get_db_prep_save(self, value: Any, connection: Any) -> Any:
        if isinstance(value, str):
            try:
                bytes.fromhex(value)
            except ValueError:
                raise ValidationError(f"{self.name}: {value!r} is not hex.") from None
        return super().get_db_prep_save(value, connection)

    def value_to_string(self, obj: models.Model) -> str:
        return self.value_from_object(obj) or ""
