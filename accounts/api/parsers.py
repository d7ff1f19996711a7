"""The API's JSON parser: DRF's, refusing what JSON can carry but the portal cannot keep.

- A NUL character (``\\u0000``): PostgreSQL stores it neither in text nor in ``jsonb``.
- A number outside I-JSON (RFC 7493): an integer beyond +-(2**53 - 1) or a float too large to be finite. The
  ledger hashes RFC 8785 canonical JSON, which has no representation for them.
- A document nested deeper than ``MAX_JSON_DEPTH`` levels of objects and lists. No record the API takes needs
  more, and deeper ones exhaust Python's recursion (in the parser itself, or later in the serializers and the
  ledger's canonical form) and would answer a server error.

Either would fail deep inside a service, as a server error; here the request is refused before anything runs,
with a 400 that says what to change. The NUL check is one scan of the raw body, and numbers are checked as they
are parsed, so a bulk request of 100,000 validation results costs no second walk over its values.

The body is read up to ``API_MAX_REQUEST_BYTES`` (413 above it). The parser is deliberately not a subclass of
DRF's: for those DRF reads the body through ``request.body``, which Django caps at ``DATA_UPLOAD_MAX_MEMORY_SIZE``
(2.5 MiB, the admin's limit for form posts), far below what the API promises.
"""

import json
import math
import re
import zlib
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from rest_framework import parsers, renderers
from rest_framework.exceptions import ParseError
from rest_framework.settings import api_settings
from rest_framework.utils import json as drf_json

from audit.canonical import json_depth

#: ``\\u0000`` as a JSON escape: preceded by an even number of backslashes (``\\\\u0000`` is the text "\\u0000").
_NUL_ESCAPE = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")
MAX_SAFE_INTEGER = 2**53 - 1
#: The deepest nesting of objects and lists a request may have (an OpenLineage event needs about ten).
MAX_JSON_DEPTH = 64
TOO_DEEP = f"The JSON is nested deeper than {MAX_JSON_DEPTH} levels of objects and lists; flatten it."


class UnstorableNumber(ValueError):
    pass


def _integer(text: str) -> int:
    value = int(text)
    if abs(value) > MAX_SAFE_INTEGER:
        raise UnstorableNumber(f"The number {text[:30]} is beyond +-{MAX_SAFE_INTEGER}, the most the portal keeps.")
    return value


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise UnstorableNumber(f"The number {text[:30]} is too large to be stored.")
    return value


class JSONParser(parsers.BaseParser):
    media_type = "application/json"
    renderer_class = renderers.JSONRenderer
    strict = api_settings.STRICT_JSON

    def parse(self, stream: Any, media_type: str | None = None, parser_context: dict | None = None) -> Any:
        limit = settings.API_MAX_REQUEST_BYTES
        body = stream.read(limit + 1) if stream is not None else b""
        if len(body) > limit:
            # Imported here: the exceptions module imports DRF's views, which import this parser from the settings.
            from accounts.api.exceptions import RequestTooLarge

            raise RequestTooLarge(f"The request body is larger than {limit} bytes. Send fewer records per request.")
        if _NUL_ESCAPE.search(body):
            raise ParseError("The request contains a NUL character (\\u0000), which cannot be stored; remove it.")
        encoding = parsers.get_encoding(parser_context or {})
        try:
            data = json.loads(
                body.decode(encoding),
                parse_constant=drf_json.strict_constant if self.strict else None,
                parse_int=_integer,
                parse_float=_float,
            )
        except RecursionError:
            raise ParseError(TOO_DEEP) from None
        except UnstorableNumber as exc:
            raise ParseError(str(exc)) from None
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
        if json_depth(data, stop_after=MAX_JSON_DEPTH) > MAX_JSON_DEPTH:
            raise ParseError(TOO_DEEP)
        return data


def inflate(raw: bytes, *, content_encoding: str, limit: int) -> bytes:
    """The body as sent before compression; gzip is inflated to at most ``limit`` bytes, so a small compressed body
    cannot expand without bound. A body that inflates past it is too large (413), as one sent that large is: the
    limit is on what the portal would have to read, however it came."""
    encoding = content_encoding.strip().lower()
    if encoding in ("", "identity"):
        return raw
    if encoding != "gzip":
        raise ValidationError({"body": f"Unsupported Content-Encoding {content_encoding!r}; send gzip or none."})
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        inflated = inflater.decompress(raw, limit + 1)
    except zlib.error as error:
        raise ValidationError({"body": f"The body is not valid gzip: {error}."}) from None
    if len(inflated) > limit or inflater.unconsumed_tail:
        from accounts.api.exceptions import RequestTooLarge  # here, as in ``JSONParser.parse``

        raise RequestTooLarge(f"The inflated body is larger than {limit} bytes. Send fewer records per request.")
    return inflated
