"""Small enums and value types shared by the whole model."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class Severity(StrEnum):
    """How bad a finding is. Ordered: ``info`` < ``low`` < … < ``critical``."""

    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _SEVERITY_ORDER.index(self)


_SEVERITY_ORDER = list(Severity)


class Action(StrEnum):
    """What the platform does with a finding."""

    WARN = "warn"
    REQUIRE_APPROVAL = "require_approval"
    DENY = "deny"


class ChangeKind(StrEnum):
    """How a resource changed between BASE and the state under review."""

    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    NONE = "none"


class Target(StrEnum):
    """What a rule judges."""

    TERRAFORM = "terraform"
    KUBERNETES = "kubernetes"
    TOOL = "tool"


class Location(BaseModel):
    """A place in a file: repository-relative POSIX path and 1-based lines."""

    model_config = ConfigDict(frozen=True)

    path: str
    start_line: int = 1
    end_line: int = 1
