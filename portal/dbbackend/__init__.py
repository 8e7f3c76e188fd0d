"""PostgreSQL backend that sets the row-level-security context for each transaction (portal.rls)."""
