"""The offline travel model: a deterministic chat model that understands travel requests."""
