"""The `travelhub` command line: one module per command group."""
