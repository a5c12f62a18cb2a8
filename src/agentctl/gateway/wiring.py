"""Where each agent's model requests go, and how it is pointed at the gateway instead.

Claude Code reads ``ANTHROPIC_BASE_URL``; Codex uses its model provider's
``base_url`` (a ``-c model_providers.<id>.base_url=…`` override for a custom
provider, ``openai_base_url`` / ``OPENAI_BASE_URL`` for the built-in one). The
upstream is whatever the user had configured, or the provider's public API.

When the API key comes from agentctl's own environment, the agent gets a
per-run placeholder instead; the gateway puts the real key back upstream.
"""

from __future__ import annotations

import os
import secrets
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ANTHROPIC_DEFAULT = "https://api.anthropic.com"
OPENAI_DEFAULT = "https://api.openai.com/v1"
_CLOUD = ("CLAUDE_CODE_USE_BEDROCK", "CLAUDE_CODE_USE_VERTEX", "CLAUDE_CODE_USE_FOUNDRY")
_CODEX_CLOUD = ("amazon-bedrock", "bedrock", "vertex", "azure")


class Unsupported(Exception):
    """The gateway cannot sit in front of this agent's requests (signed cloud requests)."""


@dataclass
class Plan:
    """How one run's agent is wired to the gateway."""

    provider: str
    """``anthropic`` or ``openai``: which stream format to meter."""
    upstream: str
    """Base URL of the real API (scheme, host, port and path prefix)."""
    env: dict[str, str] = field(default_factory=dict)
    """Variables to set in the agent's environment (the gateway's URL goes in at start)."""
    base_url_env: list[str] = field(default_factory=list)
    args: list[str] = field(default_factory=list)
    """``-c`` overrides for Codex; ``{url}`` stands for the gateway's base URL."""
    keys: dict[str, str] = field(default_factory=dict)
    """Placeholder → real key: what the gateway swaps back in, upstream."""

    def local_url(self, origin: str) -> str:
        """The gateway's base URL for the agent: same path prefix as the upstream."""
        return origin + urlsplit(self.upstream).path.rstrip("/")

    @property
    def server(self) -> tuple[str, int]:
        parts = urlsplit(self.upstream)
        return parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80)


def _placeholder(prefix: str) -> str:
    return f"{prefix}agentctl-placeholder-{secrets.token_hex(16)}"


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() not in ("", "0", "false", "no", "off")


def plan_claude(env: dict[str, str]) -> Plan:
    for name in _CLOUD:
        if _truthy(env.get(name)):
            raise Unsupported(f"{name} is set: Claude Code signs its requests for the cloud provider")
    upstream = env.get("ANTHROPIC_BASE_URL") or ANTHROPIC_DEFAULT
    checked_url(upstream, "ANTHROPIC_BASE_URL")
    plan = Plan("anthropic", upstream.rstrip("/"), base_url_env=["ANTHROPIC_BASE_URL"])
    for name, prefix in (("ANTHROPIC_API_KEY", "sk-ant-"), ("ANTHROPIC_AUTH_TOKEN", "")):
        real = env.get(name)
        if real:
            fake = _placeholder(prefix)
            plan.keys[fake] = real
            plan.env[name] = fake
    return plan


def codex_overrides(argv: list[str]) -> dict[str, str]:
    """``-c key=value`` / ``--config key=value`` pairs on the command line (last wins)."""
    out: dict[str, str] = {}
    for index, arg in enumerate(argv):
        value = None
        if arg in ("-c", "--config") and index + 1 < len(argv):
            value = argv[index + 1]
        elif arg.startswith("--config="):
            value = arg.split("=", 1)[1]
        if value and "=" in value:
            key, _, raw = value.partition("=")
            out[key.strip()] = raw.strip()
    return out


def toml_value(raw: str) -> Any:
    try:
        return tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        return raw


def codex_config(env: dict[str, str]) -> dict[str, Any]:
    home = Path(env.get("CODEX_HOME") or Path(env.get("HOME") or Path.home()) / ".codex")
    try:
        return tomllib.loads((home / "config.toml").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def plan_codex(argv: list[str], env: dict[str, str]) -> Plan:
    config = codex_config(env)
    overrides = codex_overrides(argv)
    profile_name = overrides.get("profile") or _flag(argv, "-p", "--profile") or config.get("profile")
    profile = (config.get("profiles") or {}).get(toml_value(str(profile_name)) if profile_name else "", {})
    provider_id = str(
        toml_value(overrides["model_provider"])
        if "model_provider" in overrides
        else profile.get("model_provider") or config.get("model_provider") or "openai"
    )
    if "--oss" in argv or provider_id.lower() in _CODEX_CLOUD:
        raise Unsupported(f"Codex provider '{provider_id}' is not an OpenAI-compatible HTTP API the gateway can meter")
    providers = config.get("model_providers") or {}
    info: dict[str, Any] = dict(providers.get(provider_id) or {})
    prefix = f"model_providers.{provider_id}."
    for key, raw in overrides.items():
        if key.startswith(prefix):
            info[key[len(prefix) :]] = toml_value(raw)
    if provider_id == "openai" and provider_id not in providers:
        if not env.get("OPENAI_API_KEY") and _chatgpt_login(env):
            raise Unsupported("Codex signs in with ChatGPT, whose backend is not the OpenAI API the gateway meters")
        upstream = str(
            toml_value(overrides["openai_base_url"])
            if "openai_base_url" in overrides
            else config.get("openai_base_url") or env.get("OPENAI_BASE_URL") or OPENAI_DEFAULT
        )
        plan = Plan("openai", upstream.rstrip("/"), base_url_env=["OPENAI_BASE_URL"])
        plan.args = ["-c", 'openai_base_url="{url}"']
        key_env = "OPENAI_API_KEY"
    else:
        if not info.get("base_url"):
            raise Unsupported(f"Codex provider '{provider_id}' has no base_url agentctl can read")
        if str(info.get("wire_api") or "responses") != "responses":
            raise Unsupported(f"Codex provider '{provider_id}' uses wire_api={info.get('wire_api')}")
        upstream = str(info["base_url"]).rstrip("/")
        plan = Plan("openai", upstream)
        plan.args = ["-c", f'model_providers.{provider_id}.base_url="{{url}}"']
        key_env = str(info.get("env_key") or "")
    checked_url(upstream, f"the base_url of Codex provider '{provider_id}'")
    real = env.get(key_env) if key_env else None
    if real:
        fake = _placeholder("sk-")
        plan.keys[fake] = real
        plan.env[key_env] = fake
    return plan


def _chatgpt_login(env: dict[str, str]) -> bool:
    home = Path(env.get("CODEX_HOME") or Path(env.get("HOME") or Path.home()) / ".codex")
    try:
        import json

        auth = json.loads((home / "auth.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(auth, dict) and bool(auth.get("tokens")) and not auth.get("OPENAI_API_KEY")


def _flag(argv: list[str], *names: str) -> str | None:
    for index, arg in enumerate(argv):
        if arg in names and index + 1 < len(argv):
            return argv[index + 1]
    return None


def checked_url(url: str, what: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{what} '{url}' is not an http(s) URL")
    return url


def plan_for(agent: str, argv: list[str], env: dict[str, str] | None = None) -> Plan:
    env = dict(os.environ) if env is None else env
    if agent == "claude":
        return plan_claude(env)
    if agent == "codex":
        return plan_codex(argv, env)
    raise Unsupported(f"no gateway wiring for agent '{agent}'")


def apply(plan: Plan, command: list[str], env: dict[str, str], local_url: str) -> tuple[list[str], dict[str, str]]:
    """The agent's command and environment, pointed at the gateway at ``local_url``."""
    env = {**env, **plan.env}
    for name in plan.base_url_env:
        env[name] = local_url
    if not plan.args:
        return command, env
    extra = [a.replace("{url}", local_url) for a in plan.args]
    index = next((i for i, a in enumerate(command) if a in ("exec", "e")), 0)
    return [*command[: index + 1], *extra, *command[index + 1 :]], env
