"""Catalog queries: each a module constant with a typed result, in one place.

Queries read ``pg_catalog`` directly (not ``information_schema``) for exactness and speed;
identifiers go through :class:`psycopg.sql.Identifier` and values are parameters.
"""
