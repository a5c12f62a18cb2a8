"""The model gateway: a local streaming proxy between the agent and its model API.

``wiring`` says where an agent's requests go and how to point it here,
``streams`` reads usage from the provider's response stream, ``budget``
decides before and during each request, ``server`` is the proxy itself.
"""
