"""The IaC a write would leave behind, judged before the write happens, failing closed.

For every Terraform / Kubernetes / plan file a tool call writes, the preview
parses the file as it is and as it would be, pairs the two, and judges the
changes with the same rules ``agentctl check`` uses. What it cannot read is
never waved through: a result that cannot be built or parsed is a *problem*,
and the gate denies the call with the reason.

Speed: a large ``.tf`` edit is judged by the blocks it changed (``gate/blocks.py``).

A Terraform write that changes an input (a ``variable``, ``locals`` or
``module`` block, a tfvars file) or a resource that reads one is judged in its
module's context: the whole directory, the local modules it calls and the
modules that call it, evaluated before and after (``gate/tfmodule.py``). YAML
and JSON writes that a Kustomize overlay reaches are also judged through the
rendered overlay (``gate/overlays.py``); a Helm chart's values file is judged by the
pod security settings it sets (``sources/helmvalues.py``); writes are judged under every IaC name
that leads to them, symlinks included (``gate/links.py``).

Terraform merges ``override.tf`` / ``*_override.tf`` into the blocks of the
other files of its module; when a written file is, or sits beside, an override
file, the module's merged resources are compared. A resource created in a new
file while a sibling file still has the same address (a move) is judged both as
a create (absolute limits) and as an update of the sibling's version.
"""

from __future__ import annotations

import json
import posixpath
import re
from dataclasses import dataclass, field
from pathlib import Path

from agentctl.engine import pairing
from agentctl.engine.evaluate import Evaluator
from agentctl.gate import overlays, tfmodule
from agentctl.gate.blocks import ParseMemo, changed_blocks
from agentctl.model.common import ChangeKind, Target
from agentctl.model.finding import Finding
from agentctl.model.resource import Resource, ResourceChange
from agentctl.sources import files, helmvalues, kubernetes
from agentctl.sources.files import FileKind
from agentctl.sources.interface import ParsedFile
from agentctl.sources.yamldoc import YamlError, load_documents

_TEMPLATE_LINE = re.compile(r"^\s*\{\{-?.*-?\}\}\s*$")
_TEMPLATE_EXPR = re.compile(r"\{\{-?.*?-?\}\}")


@dataclass
class Write:
    path: str
    absolute: Path
    before: str | None
    after: str | None
    """``None``: the file is deleted by the call."""


@dataclass
class Outcome:
    findings: list[Finding] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


TERRAFORM_SUFFIXES = (".tf", ".tf.json", ".tofu", ".tofu.json")
"""Terraform reads ``.tf``/``.tf.json``; OpenTofu also ``.tofu``/``.tofu.json``."""


def is_override(path: str) -> bool:
    stem = path.rsplit("/", 1)[-1].removesuffix(".json").removesuffix(".tf").removesuffix(".tofu")
    return stem == "override" or stem.endswith("_override")


def is_terraform(path: str) -> bool:
    return path.endswith(TERRAFORM_SUFFIXES)


# ---------------------------------------------------------------------------- the preview


class Previewer:
    def __init__(self, root: Path, evaluator: Evaluator) -> None:
        self.root = root
        self.evaluator = evaluator
        self.memo = ParseMemo()
        self.modules = tfmodule.ModuleEvaluator(root)

    def judge(self, writes: list[Write]) -> Outcome:
        outcome = Outcome()
        terraform: dict[str, list[Write]] = {}
        charts = {w.path for w in writes if w.path.rsplit("/", 1)[-1] == "Chart.yaml" and w.after is not None}
        for write in writes:
            if is_terraform(write.path) or tfmodule.is_tfvars(write.path):
                if ".terraform" in write.path.split("/")[:-1]:
                    outcome.problems.append(
                        f"{write.path}: a file under .terraform/ is a module `terraform init` installed, and plans "
                        "use it as it is; the gate does not judge installed copies: change the module's source"
                    )
                    continue
                terraform.setdefault(posixpath.dirname(write.path), []).append(write)
                continue
            if helmvalues.is_values(write.path, lambda p: p in charts or (self.root / p).is_file()):
                old_values = helmvalues.resources(write.path, write.before)
                new_values = helmvalues.resources(write.path, write.after)
                self._judge(pairing.pair(old_values, new_values), outcome, helmvalues.RULES)
            kind = files.classify(write.path)
            if kind is None:
                for directory in self.modules.file_readers(write.path):  # a value Terraform reads with file()
                    self._in_context(directory, [write], outcome, own=False)
                continue
            before = self._other(write, write.before, kind, outcome, judged=False)
            after = self._other(write, write.after, kind, outcome, judged=True)
            self._judge(pairing.pair(before, after), outcome)
        for directory, group in terraform.items():
            self._terraform_module(directory, group, outcome)
        others = [w for w in writes if not is_terraform(w.path) and not tfmodule.is_tfvars(w.path)]
        if others:  # Kustomize overlays the writes reach, rendered as they are and as they would be
            old, new, problems = overlays.judge(
                self.root, {w.path: w.before for w in others}, {w.path: w.after for w in others}
            )
            outcome.problems += problems
            self._judge(pairing.pair(old, new), outcome)
        return outcome

    def _judge(self, changes: list[ResourceChange], outcome: Outcome, only: frozenset[str] | None = None) -> None:
        """``only``: the rules kept (a Helm values file's synthetic pods answer only the rules on its settings)."""
        # Deleting what no commit has (a file the agent created during this run) deletes no infrastructure.
        changes = [c for c in changes if c.change is not ChangeKind.DELETE or c.before is None or self._committed(c)]
        seen = {(f.rule_id, f.message) for f in outcome.findings}
        for finding in self.evaluator.judge(changes, diff_mode=True):
            if only is not None and finding.rule_id not in only:
                continue
            if (finding.rule_id, finding.message) not in seen:
                seen.add((finding.rule_id, finding.message))
                outcome.findings.append(finding)

    def _committed(self, change: ResourceChange) -> bool:
        """Whether the deleted resource's file is in HEAD (fails towards judging the deletion)."""
        import subprocess

        assert change.before is not None
        path = change.before.location.path
        try:
            proc = subprocess.run(
                ["git", "-C", str(self.root), "cat-file", "-e", f"HEAD:{path}"],
                capture_output=True,
                timeout=10,
                check=False,
            )
        except (OSError, subprocess.SubprocessError):
            return True
        return proc.returncode == 0

    # -- Kubernetes manifests and plan JSON

    def _other(self, write: Write, text: str | None, kind: FileKind, outcome: Outcome, judged: bool) -> list[Resource]:
        if text is None:
            return []
        parsed = self.memo.parse(write.path, kind, text)
        if judged and (kind is not FileKind.YAML or _looks_like_manifest(text)):
            # YAML that is no manifest (CloudFormation's !Ref, mkdocs' python tags…) is not ours to refuse
            outcome.problems += [f"{i.path}:{i.line}: {i.message}" for i in parsed.issues]
        if kind is FileKind.YAML and not parsed.resources and not parsed.issues and parsed.notes:
            return self._skipped_yaml(write.path, text, outcome if judged else None)
        if kind is FileKind.PLAN and not parsed.resources and not parsed.issues:
            return _json_manifests(write.path, text)  # Kubernetes takes JSON manifests too
        return list(parsed.resources)

    def _skipped_yaml(self, path: str, text: str, outcome: Outcome | None) -> list[Resource]:
        """YAML the manifest reader skipped by name or for ``{{``: judged by what it holds."""
        for candidate in (text, _detemplate(text)):
            try:
                documents = load_documents(candidate, go_bools=True)
            except (YamlError, TypeError, ValueError, RecursionError):
                continue
            resources = []
            for document in documents:
                for obj in kubernetes.manifest_objects(document.value):
                    resources.append(
                        kubernetes.manifest_resource(
                            path, obj, document.start_line, document.end_line, candidate.splitlines()
                        )
                    )
            return resources
        if outcome is not None and _looks_like_manifest(text):
            outcome.problems.append(
                f"{path}: templated YAML that cannot be read even with the template expressions blanked out; "
                "the gate cannot tell whether it is a Kubernetes manifest"
            )
        return []

    # -- Terraform, per module directory

    def _terraform_module(self, directory: str, group: list[Write], outcome: Outcome) -> None:
        written = {w.path for w in group}
        if any(tfmodule.is_tfvars(p) for p in written) or any(
            tfmodule.changes_inputs(w.before, w.after) for w in group
        ):
            self._in_context(directory, group, outcome)
            return
        siblings = self._siblings(directory, written)
        if any(is_override(p) for p in written | set(siblings)):
            self._merged_module(group, siblings, outcome)
            return
        before: list[Resource] = []
        after: list[Resource] = []
        problems = Outcome()
        for write in group:
            old, new = self._terraform_pair(write, problems)
            before += old
            after += new
        changes = pairing.pair(before, after)
        if not problems.problems and tfmodule.reads_inputs([c.after for c in changes if c.after is not None]):
            # what the references resolve to is in other files: only the blocks the writes change, when they can tell
            found = self.modules.focused(directory, {w.path: (w.before, w.after) for w in group})
            if found is not None:
                self._judge(pairing.pair(*found), outcome)
            else:
                self._in_context(directory, group, outcome)
            return
        outcome.problems += problems.problems
        changes += self._moves(changes, siblings)
        self._judge(changes, outcome)

    def _in_context(self, directory: str, group: list[Write], outcome: Outcome, own: bool = True) -> None:
        """The module evaluated as Terraform would, before and after the writes (``gate/tfmodule.py``).

        ``own``: the writes are files of the module (not a file it reads with ``file()``).
        """
        written = {w.path for w in group} if own else set()
        before, _ = self.modules.resources(directory, {w.path: w.before for w in group})
        after, problems = self.modules.resources(directory, {w.path: w.after for w in group})
        outcome.problems += [p for p in problems if p.split(":", 1)[0] in written]
        for write in group:  # JSON the evaluator reads into nothing is not waved through
            if write.after is not None and write.path.endswith(".tf.json") and not problems:
                outcome.problems += _terraform_problems(
                    write.path, write.after, self._terraform_file(write.path, write.after)
                )
        self._judge(pairing.pair(before, after), outcome)

    def _terraform_pair(self, write: Write, outcome: Outcome) -> tuple[list[Resource], list[Resource]]:
        if write.path.endswith(".tf") and write.before is not None and write.after is not None:
            old, new = changed_blocks(write.path, write.before, write.after, self.memo)
        else:
            old = self._terraform_file(write.path, write.before)
            new = self._terraform_file(write.path, write.after)
        if write.after is not None:
            outcome.problems += _terraform_problems(write.path, write.after, new)
        return list(old.resources), list(new.resources)

    def _terraform_file(self, path: str, text: str | None) -> ParsedFile:
        if text is None:
            return ParsedFile(path)
        kind = FileKind.TERRAFORM if path.endswith((".tf", ".tofu")) else files.classify(path) or FileKind.PLAN
        return self.memo.parse(path, kind, text)

    def _siblings(self, directory: str, written: set[str]) -> dict[str, str]:
        """Other Terraform files of the module, by repository path, with their text."""
        folder = self.root / directory if directory else self.root
        out: dict[str, str] = {}
        try:
            entries = sorted(folder.iterdir())
        except OSError:
            return out
        for entry in entries:
            rel = f"{directory}/{entry.name}" if directory else entry.name
            if rel in written or not is_terraform(entry.name) or entry.is_symlink() or not entry.is_file():
                continue
            try:
                if entry.stat().st_size <= files.MAX_FILE_BYTES:
                    out[rel] = entry.read_text(encoding="utf-8", errors="replace")
            except OSError:
                continue
        return out

    def _moves(self, changes: list[ResourceChange], siblings: dict[str, str]) -> list[ResourceChange]:
        """A create whose address a sibling file already has: also judged as an update of that version."""
        extra: list[ResourceChange] = []
        for change in changes:
            if change.change is not ChangeKind.CREATE or change.after is None:
                continue
            new = change.after
            name = new.address.rsplit(".", 1)[-1].split("[", 1)[0]  # without an instance key
            for path, text in siblings.items():
                if new.type not in text or name not in text:
                    continue
                for old in self._terraform_file(path, text).resources:
                    if old.key == new.key and old.attributes != new.attributes:
                        extra.append(ResourceChange(change=ChangeKind.UPDATE, before=old, after=new))
        return extra

    def _merged_module(self, group: list[Write], siblings: dict[str, str], outcome: Outcome) -> None:
        before_files = {p: self._terraform_file(p, t) for p, t in siblings.items()}
        after_files = dict(before_files)
        for write in group:
            before_files[write.path] = self._terraform_file(write.path, write.before)
            after_files[write.path] = parsed = self._terraform_file(write.path, write.after)
            if write.after is not None:
                outcome.problems += _terraform_problems(write.path, write.after, parsed)
        self._judge(pairing.pair(merge_overrides(before_files), merge_overrides(after_files)), outcome)


def merge_overrides(parsed: dict[str, ParsedFile]) -> list[Resource]:
    """A module's resources as Terraform sees them: override files merged into the others, by address."""
    base = [r for path, p in sorted(parsed.items()) if not is_override(path) for r in p.resources]
    merged: dict[str, Resource] = {}
    order: list[str] = []
    for resource in base:
        key = resource.key if resource.key not in merged else f"{resource.key}@{resource.location.path}"
        merged[key] = resource
        order.append(key)
    for path in sorted((p for p in parsed if is_override(p)), key=lambda p: p.rsplit("/", 1)[-1]):
        for resource in parsed[path].resources:
            target = merged.get(resource.key)
            if target is None:
                merged[resource.key] = resource
                order.append(resource.key)
            else:
                attributes = {**target.attributes, **resource.attributes}
                merged[resource.key] = target.model_copy(update={"attributes": attributes})
    return [merged[k] for k in order]


def _terraform_problems(path: str, text: str, parsed: ParsedFile) -> list[str]:
    problems = [f"{i.path}:{i.line}: {i.message}" for i in parsed.issues]
    if problems or not path.endswith(".json"):
        return problems
    try:
        document = json.loads(text)
    except (ValueError, RecursionError) as exc:
        return [f"{path}: invalid Terraform JSON ({exc})"]
    wanted = {"resource", "data", "module"}
    if (
        isinstance(document, dict)
        and wanted & set(document)
        and not any(r.target is Target.TERRAFORM for r in parsed.resources)
    ):
        return [f"{path}: Terraform JSON configuration the gate could not read into resources"]
    return problems


def _json_manifests(path: str, text: str) -> list[Resource]:
    try:
        document = json.loads(text)
    except (ValueError, RecursionError):
        return []  # not JSON: not a manifest kubectl would apply either
    lines = text.splitlines()
    return [
        kubernetes.manifest_resource(path, obj, 1, len(lines), lines) for obj in kubernetes.manifest_objects(document)
    ]


_API_VERSION = re.compile(r"""\bapiVersion["']?\s*:""")
_KIND = re.compile(r"""\bkind["']?\s*:""")


def _looks_like_manifest(text: str) -> bool:
    """Could kubectl take this as an object? It needs an apiVersion and a kind."""
    return bool(_API_VERSION.search(text) and _KIND.search(text))


def _detemplate(text: str) -> str:
    """Template control lines dropped and ``{{ … }}`` expressions replaced by a placeholder."""
    lines = ["" if _TEMPLATE_LINE.match(line) else _TEMPLATE_EXPR.sub("TEMPLATED", line) for line in text.split("\n")]
    return "\n".join(lines)
