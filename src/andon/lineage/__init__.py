"""Lineage: typed edges between any two objects, graph queries and OpenLineage export."""
