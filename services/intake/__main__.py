"""``python -m services.intake``: run the intake service on its own, as ``allsak run intake``."""

import sys

from allsak.cli import main

if __name__ == "__main__":
    main(["run", "intake", *sys.argv[1:]])
