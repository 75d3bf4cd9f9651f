"""Entry point of the frozen desktop bundle (PyInstaller): the same ``biotrainer`` command as the installed one."""

import multiprocessing

from biotrainer.cli import entry

if __name__ == "__main__":
    multiprocessing.freeze_support()  # worker processes of a frozen app start through this executable
    entry()
