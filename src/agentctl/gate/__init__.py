"""The execution gateway: every proposed tool call is judged by policy before it runs.

Kept import-light: ``agentctl.gate.hook`` is what the agent runs before each tool
call and must start in milliseconds.
"""
