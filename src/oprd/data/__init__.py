"""Pools in, selections out: loading problem files, writing subset + manifest dirs, atomic writes.

``make_problems`` (reasoning-gym / CHAMP) lives in :mod:`oprd.data.make` and imports its generators lazily.
"""

from oprd.data.atomic import atomic_write_json, atomic_write_text, file_sha256
from oprd.data.make import make_problems
from oprd.data.pool import Pool, load_pool, pool_from_source
from oprd.data.row_writer import OUTPUT_FORMATS, WrittenRows, output_name, schema_without, write_rows
from oprd.data.selection_output import invalidate_output, read_manifest, write_selection
from oprd.data.sources import read_source, source_sha256

__all__ = [
    "Pool",
    "load_pool",
    "pool_from_source",
    "read_source",
    "source_sha256",
    "write_rows",
    "schema_without",
    "output_name",
    "WrittenRows",
    "OUTPUT_FORMATS",
    "write_selection",
    "read_manifest",
    "invalidate_output",
    "make_problems",
    "atomic_write_text",
    "atomic_write_json",
    "file_sha256",
]
