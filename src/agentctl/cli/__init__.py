"""Command-line interface: parses flags, wires the layers, maps errors to exit codes.

Nothing heavy is imported at module level: ``agentctl --version`` must stay fast.
"""
