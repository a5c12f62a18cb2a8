"""Supervising an agent run: budgets, circuit breakers, the live view, the record."""
