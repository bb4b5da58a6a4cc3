"""Staff matters: accounts, sign-in, roles, audit, and the review, publishing and sending of
artifacts (issue 16)."""
