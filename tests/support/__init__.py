"""The helper servers tests run against, in one place.

Redis, an OpenAI-compatible model, an OpenID provider (oidc/, Node), a Duffel stub and a TCP
proxy that fails on demand: each runs locally, so the real client code talks to it.
"""
