"""Backups of the one data folder (issue 17): an archive made while the service runs, its
restore, and Litestream's continuous replication of the database for a restore to a moment.

``manifest`` says what an archive holds and checks it, ``archive`` makes one, ``restore``
puts one back, ``litestream`` runs and asks Litestream. The command line is ``assistant
backup``, ``assistant restore`` and ``assistant litestream`` (``assistant/cli/``).
"""
