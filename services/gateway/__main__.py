import sys

from allsak.cli import main

main(["run", "gateway", *sys.argv[1:]])
