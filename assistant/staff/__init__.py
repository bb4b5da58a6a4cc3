"""Staff matters in the core: accounts, roles and sign-in (issue 16); no HTTP here."""
