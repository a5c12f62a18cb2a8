"""Load ``agentctl/v1`` PolicySet files into compiled rules.

Every problem is a :class:`PolicyError` naming file, line and field, so the CLI
can print one line and exit 2. Conditions and message placeholders are
compiled here, once per rule.
"""

from __future__ import annotations

import difflib
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from agentctl import __version__
from agentctl.engine import cel
from agentctl.errors import AgentctlError
from agentctl.model.common import Target
from agentctl.model.rule import LoadedRule, PolicySet, Rule
from agentctl.policy import cache as policy_cache
from agentctl.sources.yamldoc import YamlDocument, YamlError, load_documents

_PLACEHOLDER = re.compile(r"\{([^{}]+)\}")
_RELATED_CALL = re.compile(r"(?<![\w.])related\s*\(")
BUILTIN_PREFIX = "builtin:"


class PolicyError(AgentctlError):
    """A policy file is unusable; the check must not run with it."""

    def __init__(self, source: str, line: int, message: str, fieldname: str = "") -> None:
        where = f"{source}:{line}"
        super().__init__(
            f"{where}: {fieldname + ': ' if fieldname else ''}{message}",
            "fix the policy file; the format is described in docs/policies.md",
        )
        self.source = source
        self.line = line
        self.field = fieldname


@dataclass
class CompiledRule:
    """A rule ready to evaluate: its CEL program and message template, compiled on first use.

    Policies from files are compiled when loaded (a syntax error stops the check); the
    built-in pack, whose every rule the test suite compiles, only as rules are needed.
    """

    loaded: LoadedRule
    reads_related: bool = False
    """The rule calls ``related(type)``: its verdict depends on other resources, not on the change alone."""
    _parts: tuple[Any, list[str | Any], frozenset[str]] | None = field(default=None, repr=False)

    @property
    def rule(self) -> Rule:
        return self.loaded.rule

    @property
    def program(self) -> Any:
        return self.compiled()[0]

    @property
    def message(self) -> list[str | Any]:
        return self.compiled()[1]

    @property
    def variables(self) -> frozenset[str]:
        """Names the condition and message read; the engine builds only those."""
        return self.compiled()[2]

    def compiled(self, index_line: int | None = None) -> tuple[Any, list[str | Any], frozenset[str]]:
        if self._parts is None:
            self._parts = _compile(self.loaded, index_line)
        return self._parts


@dataclass
class PolicySetFile:
    """The raw text of a policy file, from disk, git or the package."""

    source: str
    text: str


@dataclass
class RuleBook:
    """All rules of a check, indexed for the cheap pre-filters."""

    rules: list[CompiledRule] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    digest: str = ""
    """Identifies the exact policy texts (and agentctl version) for result caching."""
    allow_tools: list[str] = field(default_factory=list)
    """Tool names (globs) the policies allow although the gate does not know them."""

    def for_target(self, target: Target) -> list[CompiledRule]:
        return [r for r in self.rules if r.rule.target is target]


def parse_policy_file(policy: PolicySetFile, allowed: list[str] | None = None) -> list[LoadedRule]:
    """Validate one file strictly; raise :class:`PolicyError` on the first problem.

    ``allowed`` collects the file's ``allow_tools``.
    """
    allowed = allowed if allowed is not None else []
    try:
        documents = load_documents(policy.text)
    except YamlError as exc:
        raise PolicyError(policy.source, exc.line, exc.message) from None
    documents = [d for d in documents if d.value is not None]
    if not documents:
        raise PolicyError(policy.source, 1, "empty policy file (expected a PolicySet)")
    loaded: list[LoadedRule] = []
    for document in documents:
        try:
            policy_set = PolicySet.model_validate(document.value)
        except ValidationError as exc:
            raise _validation_error(policy.source, document, exc) from None
        for index, rule in enumerate(policy_set.rules):
            line = document.line_of(("rules", index))
            example_lines = tuple(
                (kind, position, document.line_of(("rules", index, "examples", kind, position)))
                for kind in ("match", "not_match")
                for position in range(len(getattr(rule.examples, kind, ())))
            )
            loaded.append(LoadedRule(rule=rule, source=policy.source, line=line, example_lines=example_lines))
        if policy_set.allow_tools:
            allowed.extend(policy_set.allow_tools)
    return loaded


def _validation_error(source: str, document: YamlDocument, exc: ValidationError) -> PolicyError:
    errors = exc.errors()
    # A misspelt key ("mesage") is both unknown and leaves a required one missing: name the typo.
    error = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    loc = tuple(error["loc"])
    if error["type"] == "extra_forbidden":
        missing = [str(e["loc"][-1]) for e in errors if e["type"] == "missing" and e["loc"][:-1] == loc[:-1]]
        close = difflib.get_close_matches(str(loc[-1]), missing, n=1)
        message = f"unknown field '{loc[-1]}'" + (f" (did you mean '{close[0]}'?)" if close else "")
    elif error["type"] == "missing":
        message = f"missing required field '{loc[-1]}'"
    else:
        message = error["msg"]
        if "input" in error and isinstance(error["input"], (str, int, float)):
            message += f" (got {error['input']!r})"
    line = document.line_of(loc)
    fieldname = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".")
    return PolicyError(source, line, message, fieldname)


def compile_rule(loaded: LoadedRule, index_line: int | None = None, *, lazy: bool = False) -> CompiledRule:
    rule = loaded.rule
    compiled = CompiledRule(loaded, _RELATED_CALL.search(f"{rule.condition} {rule.message}") is not None)
    if not lazy:
        compiled.compiled(index_line)
    return compiled


def _compile(loaded: LoadedRule, index_line: int | None) -> tuple[Any, list[str | Any], frozenset[str]]:
    rule = loaded.rule
    try:
        program = cel.compile_expression(rule.condition)
        message: list[str | Any] = []
        cursor = 0
        for match in _PLACEHOLDER.finditer(rule.message):
            message.append(rule.message[cursor : match.start()])
            message.append(cel.compile_expression(match.group(1)))
            cursor = match.end()
        message.append(rule.message[cursor:])
    except cel.CelError as exc:
        raise PolicyError(loaded.source, index_line or loaded.line, str(exc), f"rules[{rule.id}].condition") from None
    names = set(program.variables())
    for part in message:
        if not isinstance(part, str):
            names.update(part.variables())
    return program, message, frozenset(names)


def builtin_files() -> list[PolicySetFile]:
    package = resources.files("agentctl.policy") / "builtin"
    return [
        PolicySetFile(f"{BUILTIN_PREFIX}{entry.name}", entry.read_text(encoding="utf-8"))
        for entry in sorted(package.iterdir(), key=lambda e: e.name)
        if entry.name.endswith((".yaml", ".yml"))
    ]


def build(
    files: Iterable[PolicySetFile],
    *,
    check_examples: bool = True,
    skip_builtin_examples: bool = True,
    cache_dir: Path | None = None,
) -> RuleBook:
    """Parse, de-duplicate and compile. A repeated id is an error unless identical.

    Identical repeats happen by design: the repository's ``policies/`` mirrors
    the built-in pack, so the same rule can arrive from both places.

    Each rule's ``examples`` are checked (the built-in pack's are checked by
    agentctl's own tests, so loading it stays fast). With ``cache_dir``, the
    built-in pack's parsed rules are kept there between runs (:mod:`agentctl.policy.cache`).
    """
    files = list(files)
    builtin = [(f.source, f.text) for f in files if f.source.startswith(BUILTIN_PREFIX)]
    cache_file = policy_cache.cache_path(cache_dir, builtin) if cache_dir is not None and builtin else None
    cached = policy_cache.load(cache_file, [s for s, _ in builtin]) if cache_file is not None else None
    fresh: dict[str, policy_cache.Parsed] = {}
    book = RuleBook()
    seen: dict[str, LoadedRule] = {}
    hasher = hashlib.sha256(f"agentctl {__version__}".encode())
    for policy in files:
        book.files.append(policy.source)
        hasher.update(f"\0{policy.source}\0{policy.text}".encode())
        parsed = cached.get(policy.source) if cached is not None else None
        if parsed is None:
            allowed: list[str] = []
            parsed = parse_policy_file(policy, allowed), allowed
            if policy.source.startswith(BUILTIN_PREFIX):
                fresh[policy.source] = parsed
        book.allow_tools.extend(parsed[1])
        for loaded in parsed[0]:
            previous = seen.get(loaded.rule.id)
            if previous is not None:
                if previous.rule == loaded.rule:
                    continue
                raise PolicyError(
                    loaded.source,
                    loaded.line,
                    f"duplicate rule id '{loaded.rule.id}' (also defined at {previous.source}:{previous.line})",
                    "id",
                )
            seen[loaded.rule.id] = loaded
            compiled = compile_rule(loaded, lazy=loaded.source.startswith(BUILTIN_PREFIX))
            if check_examples and not (skip_builtin_examples and loaded.source.startswith(BUILTIN_PREFIX)):
                verify_examples(compiled)
            book.rules.append(compiled)
    if cache_file is not None and cached is None and len(fresh) == len(builtin):
        policy_cache.save(cache_file, fresh)
    book.digest = hasher.hexdigest()
    return book


def verify_examples(compiled: CompiledRule) -> None:
    """A rule that disagrees with its own ``examples`` is a policy error."""
    rule, loaded = compiled.rule, compiled.loaded
    if rule.examples is None:
        return
    if rule.target is not Target.TOOL:
        raise PolicyError(loaded.source, loaded.line, "examples are only supported for target: tool", "examples")
    from agentctl.gate.examples import fires

    lines = {(kind, index): line for kind, index, line in loaded.example_lines}
    for kind, expected in (("match", True), ("not_match", False)):
        for index, example in enumerate(getattr(rule.examples, kind)):
            try:
                verdict = fires(compiled, example)
            except ValueError as exc:
                raise PolicyError(
                    loaded.source, lines.get((kind, index), loaded.line), str(exc), f"examples.{kind}[{index}]"
                ) from None
            if verdict is not expected:
                shown = example if isinstance(example, str) else f"{example}"
                says = "does not fire on" if expected else "fires on"
                raise PolicyError(
                    loaded.source,
                    lines.get((kind, index), loaded.line),
                    f"rule {rule.id} {says} its own example {shown!r}",
                    f"rules[{rule.id}].examples.{kind}[{index}]",
                )
