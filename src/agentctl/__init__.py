"""agentctl: the control plane for AI coding agents.

The package is laid out as a pipeline (see CONVENTIONS.md):
``sources`` (parse Terraform, plans, Kubernetes YAML, git) produce the typed
``model``; ``policy`` loads rules and ``engine`` evaluates them (pure: model in,
findings out); ``reports`` render findings; ``cli`` only wires these together.

The version comes from the git tag at build time (setuptools-scm writes
``_version.py``); a source tree that was never built says so.
"""

__all__ = ["__version__"]

try:
    from agentctl._version import __version__
except ImportError:  # a source tree that was never installed
    __version__ = "0.0.0+unknown"
