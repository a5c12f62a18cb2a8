"""agentctl: the control plane for AI coding agents.

The package is laid out as a pipeline (see CONVENTIONS.md):
``sources`` (parse Terraform, plans, Kubernetes YAML, git) produce the typed
``model``; ``policy`` loads rules and ``engine`` evaluates them (pure: model in,
findings out); ``reports`` render findings; ``cli`` only wires these together.
"""

__version__ = "0.1.0"
