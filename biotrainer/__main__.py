from biotrainer.cli import entry

entry()
