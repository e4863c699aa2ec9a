"""`python -m agent` is the `travelhub` command."""

from agent.cli import main

main()
