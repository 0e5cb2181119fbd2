"""The command line: thin, the only package that prints or exits."""
