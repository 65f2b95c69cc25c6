"""``python -m pbmatch`` runs the command line."""

import sys

from pbmatch.cli import main

sys.exit(main())
