"""Agentic-engineering maturity: criteria declared as data, measured from evidence only."""
