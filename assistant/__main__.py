"""``python -m assistant`` runs the command line."""

import sys

from assistant.cli.main import main

sys.exit(main())
