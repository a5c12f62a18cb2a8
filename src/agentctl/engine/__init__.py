"""Policy evaluation: pure functions from the model (changes, tool calls, rules) to findings."""
