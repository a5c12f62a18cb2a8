"""Files ``agentctl init`` writes, and the CI snippets it prints (package data)."""
