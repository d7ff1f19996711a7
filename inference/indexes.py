"""A hash index on PostgreSQL, a B-tree elsewhere: for the record columns found only by equality.

A response id or an answer's HMAC is looked up by its whole value, never by a range or a prefix, and is close to
random. A B-tree keeps each such key whole, in pages that random inserts leave about two thirds full; a hash index
keeps a four-byte hash code per row. On the record table that is about half the bytes per index entry
(``bench.inference`` measures a record's bytes), and a cheaper insert for every span the intake writes. The lookup
then compares the stored value, so a hash collision never returns a wrong record.

A hash index stores equal keys in one bucket, and an insert walks that bucket's pages for room: an index holding
millions of the same empty value would make every insert walk further. Index only the set values
(``condition=~Q(column="")``); PostgreSQL sees that a lookup of a set value implies the condition.

SQLite has no hash index: the same definition makes a B-tree there.
"""

from typing import Any

from django.db import models


class HashIndex(models.Index):
    """``USING hash`` on PostgreSQL; an ordinary index on any other database."""

    def create_sql(self, model: type[models.Model], schema_editor: Any, using: str = "", **kwargs: Any) -> Any:
        if schema_editor.connection.vendor == "postgresql":
            using = " USING hash"
        return super().create_sql(model, schema_editor, using=using, **kwargs)
