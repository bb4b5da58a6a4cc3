"""Storage behind the ports: SQLite today (sessions, queue, artifacts, links, ledger), PostgreSQL later."""
