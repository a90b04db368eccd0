"""The metadata store's tables, one module per domain on one declarative base.

A domain's services and queries write and read its own module; the doors (CLI, API,
console) import none of them (import-linter). :mod:`andon.store.schema` gathers them.
"""
