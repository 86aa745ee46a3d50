import sys

from allsak.cli import main

main(["run", "integration", *sys.argv[1:]])
