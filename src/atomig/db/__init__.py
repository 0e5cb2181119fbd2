"""Everything that talks to PostgreSQL: connections, DSNs, catalog queries, local servers."""
