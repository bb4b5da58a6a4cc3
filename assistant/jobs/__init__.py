"""Jobs as data: loading and validating dialogs/jobs and the phrases of both languages."""
