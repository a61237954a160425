"""``python -m dashcam`` runs the command-line interface."""

import sys

from dashcam.cli import main

sys.exit(main())
