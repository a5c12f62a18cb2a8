"""Sources: read Terraform, Terraform plans, Kubernetes YAML and git into the model.

Parsers never format and never judge; they return :class:`ParsedFile` values.
"""
