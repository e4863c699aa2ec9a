"""`python -m cli` is the `travelhub` command."""

from cli.main import main

main()
