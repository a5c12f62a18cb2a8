"""Agent adapters: build the agent's command line and turn its event stream into ``AgentEvent`` values."""
