"""The command line: one module per command group, all of them composition roots."""
