"""The PostgreSQL store's migrations: one module ``mNNN_name.py`` each, with ``apply(conn)``.

Migrations are history: one that shipped is never edited or removed, as for SQLite. The later
parts of issue 17 (the Telegram ledger, attempts and retention, staff accounts, the audit
log, review, job versions, the figures) each add their tables as the next numbers.
"""
