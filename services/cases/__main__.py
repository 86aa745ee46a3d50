import sys

from allsak.cli import main

main(["run", "cases", *sys.argv[1:]])
