"""The travel agent: graph, state, prompts, model choice, replay, evaluation, composition root."""
