"""``python -m idnode`` runs the command-line interface."""

import sys

from idnode.cli.main import main

sys.exit(main())
