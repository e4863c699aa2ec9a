"""The web face: FastAPI mounting Chainlit, REST routes, auth middleware, the data layer."""
