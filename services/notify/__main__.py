"""``python -m services.notify`` runs the notify service alone, as ``allsak run notify``."""

import sys

from allsak.cli import main

main(["run", "notify", *sys.argv[1:]])
