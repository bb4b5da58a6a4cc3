"""Staff matters in the core: accounts, sign-in, roles, the audit log and the figures (issue 16)."""
