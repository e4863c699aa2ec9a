"""Alembic migrations of the Global Travel Hub schema."""
