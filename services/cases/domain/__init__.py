"""The rules of cases, free of I/O: tested directly."""
