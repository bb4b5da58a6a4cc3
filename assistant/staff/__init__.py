"""Staff matters in the core: accounts, sign-in, roles, audit, and what the console shows."""
