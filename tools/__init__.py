"""The travel domain: providers, the search cache, search and booking services, agent tools."""
