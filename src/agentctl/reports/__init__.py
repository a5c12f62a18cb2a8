"""Reports: render a :class:`CheckResult` in one output format each.

``Format`` is the single list of formats; ``FORMATTERS`` maps every member to
its class, and a test checks the mapping is exhaustive.
"""
