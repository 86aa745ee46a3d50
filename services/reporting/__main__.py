import sys

from allsak.cli import main

main(["run", "reporting", *sys.argv[1:]])
