"""The typed model every other layer speaks: resources, changes, rules, findings.

Nothing in here parses files or renders output; these are plain values.
"""
