"""Identity: accounts, password hashing, OAuth linking, token encryption."""
