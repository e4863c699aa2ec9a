"""The travel agent: graph, models, persistence of turns, composition root and CLI."""
