"""``agentctl.yaml`` at the repository root: settings shared by the team.

Sections: ``trust``, ``protect`` and ``terraform``; validation is strict (exit 2 with
file, line and field).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agentctl.errors import AgentctlError
from agentctl.sources.yamldoc import YamlError, load_documents

CONFIG_NAME = "agentctl.yaml"


class TrustScope(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    paths: tuple[str, ...] = Field(min_length=1)


class TrustConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    confidence: float = Field(default=0.95, gt=0, lt=1)
    threshold: float = Field(default=0.90, gt=0, le=1)
    min_runs: int = Field(default=20, ge=1)
    revert_window_days: int = Field(default=7, ge=0)
    scopes: tuple[TrustScope, ...] = (TrustScope(name="repository", paths=("**",)),)


class ProtectConfig(BaseModel):
    """Paths added to the protected set (see ``agentctl.protect``); the built-in set cannot be reduced."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    paths: tuple[str, ...] = ()
    """Read-only for the agent (repository-relative, absolute or ``~/``)."""
    hidden: tuple[str, ...] = ()
    """Not visible to the agent at all."""


class TerraformConfig(BaseModel):
    """How ``check`` evaluates Terraform."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    var_files: tuple[str, ...] = ()
    """Repository-relative ``.tfvars`` files applied (after the auto-loaded ones) to the root they are in or under."""
    mass_change_threshold: int = Field(default=10, ge=0)
    """A change deleting more resources than this needs approval (rule ``mass-deletion``)."""


class Config(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    trust: TrustConfig = TrustConfig()
    protect: ProtectConfig = ProtectConfig()
    terraform: TerraformConfig = TerraformConfig()


class ConfigError(AgentctlError):
    pass


def load(root: Path) -> tuple[Config, str]:
    """The configuration and its raw text ("" when the file does not exist)."""
    path = root / CONFIG_NAME
    if not path.is_file():
        return Config(), ""
    text = path.read_text(encoding="utf-8")
    return parse(text), text


def load_committed(root: Path) -> tuple[Config, str, bool]:
    """The configuration as committed at HEAD (not the working tree): what a run cannot have edited.

    Returns the configuration, its committed text ("" when HEAD has none), and
    whether the working tree's file differs from it.
    """
    import subprocess

    proc = subprocess.run(
        ["git", "show", f"HEAD:{CONFIG_NAME}"], cwd=root, capture_output=True, text=True, encoding="utf-8"
    )
    committed = proc.stdout if proc.returncode == 0 else ""
    path = root / CONFIG_NAME
    try:
        current = path.read_text(encoding="utf-8") if path.is_file() and not path.is_symlink() else ""
    except (OSError, UnicodeDecodeError):
        current = ""
    return (parse(committed) if committed else Config()), committed, current != committed


def parse(text: str) -> Config:
    """Validate ``agentctl.yaml`` text (exit 2 with file, line and field when it is wrong)."""
    try:
        documents = [d for d in load_documents(text) if d.value is not None]
    except YamlError as exc:
        raise ConfigError(f"{CONFIG_NAME}:{exc.line}: {exc.message}", "fix the YAML") from None
    if not documents:
        return Config()
    try:
        return Config.model_validate(documents[0].value)
    except ValidationError as exc:
        error = exc.errors()[0]
        loc = tuple(error["loc"])
        field = ".".join(str(p) for p in loc)
        line = documents[0].line_of(loc)
        raise ConfigError(
            f"{CONFIG_NAME}:{line}: {field}: {error['msg']}",
            f"see the {loc[0] if loc else 'trust'} section in README.md",
        ) from None
