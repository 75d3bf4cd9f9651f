"""Session-level use cases that the CLI and the GUI both call: reading inputs, comparing phases and sessions."""
