"""Kustomize overlays rendered with ``kustomize build`` / ``kubectl kustomize``.

An overlay is a directory with a ``kustomization.yaml``. Its objects exist only
after rendering, so an agent could otherwise hide ``privileged: true`` in a
patch. Each side (BASE, HEAD) is rendered from a private copy of that side's
YAML files in a temporary directory, never from the live tree, with HOME and
KUBECONFIG pointing nowhere. Overlays that name remote bases (URLs, git) are not
rendered: nothing may download at run time. Rendered objects are attributed to
the overlay's kustomization file; their keys carry the overlay, so the same
Deployment rendered by two overlays is two resources.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Collection, Iterable
from pathlib import Path

from agentctl.model.common import Location
from agentctl.model.resource import Note
from agentctl.sources import files, kubernetes
from agentctl.sources.files import SourceFile
from agentctl.sources.interface import ParsedFile, ParseIssue

NAMES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
TIMEOUT = 60.0
NO_RENDERER = "Kustomize overlay; kustomize/kubectl not on PATH, skipped"
_KLOG = re.compile(r"^[EWIF]\d{4} [\d:.]+\s+\d+ \S+\] ")
_REMOTE = ("://", "github.com/", "gitlab.com/", "bitbucket.org/", "git@", "git::")


def tool() -> list[str] | None:
    """The rendering command on PATH (standalone kustomize first), or None."""
    if found := shutil.which("kustomize"):
        return [found, "build"]
    if found := shutil.which("kubectl"):
        return [found, "kustomize"]
    return None


def overlays(paths: Iterable[str]) -> list[str]:
    """The overlay directories among ``paths`` (each named by its kustomization file)."""
    return sorted({p for p in paths if p.rsplit("/", 1)[-1] in NAMES})


def affected(
    kustomizations: list[str],
    changed: list[str],
    read: Callable[[list[str]], dict[str, SourceFile]],
    files: Collection[str] = (),
) -> list[str]:
    """Top-level overlays (built, not referenced by another) that reach a changed file.

    An overlay reaches the files in its own directory, the files its
    kustomization names, and everything reached by the kustomizations it names.
    An overlay that only lists manifest files among ``files`` (the side's
    listing) is left out: rendering it yields exactly those files' objects,
    which are read as manifests anyway, so it would cost a render for nothing.
    """
    if not kustomizations:
        return []
    by_dir = {os.path.dirname(k): k for k in kustomizations}
    refs: dict[str, set[str]] = {}
    components: set[str] = set()
    plain: set[str] = set()
    for path, source in read(kustomizations).items():
        value = _load(source)
        if value.get("kind") == "Component":
            components.add(path)
        base = os.path.dirname(path)
        refs[path] = {os.path.normpath(os.path.join(base, r)) for r in _references(value)}
        if files and _plain_list(value, refs[path], files):
            plain.add(path)
    referenced = {by_dir[r] for targets in refs.values() for r in targets if r in by_dir}
    changed_set = set(changed)

    def reaches(kustomization: str, seen: set[str]) -> bool:
        if kustomization in seen:
            return False
        seen.add(kustomization)
        directory = os.path.dirname(kustomization)
        if any(os.path.dirname(c) == directory for c in changed_set):
            return True
        for target in refs.get(kustomization, ()):
            if target in changed_set or (target in by_dir and reaches(by_dir[target], seen)):
                return True
        return False

    roots = [k for k in kustomizations if k not in referenced and k not in components and k not in plain]
    return [k for k in roots if reaches(k, set())]


_PLAIN_KEYS = frozenset({"apiVersion", "kind", "metadata", "resources"})
_MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")


def _plain_list(value: dict[str, object], targets: set[str], files: Collection[str]) -> bool:
    """A kustomization that only names manifest files in the repository: nothing to transform."""
    resources = value.get("resources")
    return (
        set(value) <= _PLAIN_KEYS
        and value.get("kind", "Kustomization") == "Kustomization"
        and isinstance(resources, list)
        and all(isinstance(r, str) for r in resources)
        and len(targets) == len(resources)
        and all(t in files and t.endswith(_MANIFEST_SUFFIXES) and not t.startswith("../") for t in targets)
    )


def _load(source: SourceFile) -> dict[str, object]:
    return _parse(source.data or b"")


@functools.lru_cache(maxsize=4096)
def _parse(data: bytes) -> dict[str, object]:
    """A kustomization's value (read only: both sides of a diff share the unchanged ones)."""
    import yaml  # only when a change touches Kustomize

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # safe either way; libyaml is ten times faster
    try:
        text = data.decode("utf-8", errors="replace") if data else ""
        value = yaml.load(text, Loader=loader) if text else None
    except yaml.YAMLError:
        return {}
    return value if isinstance(value, dict) else {}


_LISTS = ("resources", "bases", "components", "patchesStrategicMerge", "crds")
_CONFIGS = ("transformers", "generators", "validators", "configurations")
"""Lists of files Kustomize reads as objects: plugin configurations (a PatchTransformer…) shape the output too."""


def _references(value: dict[str, object]) -> list[str]:
    """The local paths a kustomization reads as objects (resources, patches, components, plugin configs)."""
    found: list[str] = []
    for key in (*_LISTS, *_CONFIGS):
        items = value.get(key)
        if isinstance(items, list):
            found += [i for i in items if isinstance(i, str) and not any(m in i for m in _REMOTE) and "\n" not in i]
    for key in ("patches", "patchesJson6902", "replacements"):
        items = value.get(key)
        if isinstance(items, list):
            found += [i["path"] for i in items if isinstance(i, dict) and isinstance(i.get("path"), str)]
    return found


def _data_files(value: dict[str, object]) -> list[str]:
    """Files a generator turns into ConfigMap/Secret data (``files: [key=path]``, ``envs``): data, not objects."""
    found: list[str] = []
    for key in ("configMapGenerator", "secretGenerator"):
        generators = value.get(key)
        for generator in generators if isinstance(generators, list) else []:
            if not isinstance(generator, dict):
                continue
            listed = [*(generator.get("files") or []), *(generator.get("envs") or []), generator.get("env")]
            found += [i.split("=", 1)[-1] for i in listed if isinstance(i, str)]
    return found


MAX_KUSTOMIZATIONS = 5000
"""Kustomization files read to find which files they name (a bound on the work per judgement)."""


def referenced(
    kustomizations: list[str], read: Callable[[list[str]], dict[str, SourceFile]], data: bool = False
) -> set[str]:
    """Repository paths the kustomizations name as objects (and, with ``data``, as generator data)."""
    out: set[str] = set()
    for path, source in read(kustomizations[:MAX_KUSTOMIZATIONS]).items():
        value = _load(source)
        base = os.path.dirname(path)
        names = _references(value) + (_data_files(value) if data else [])
        out |= {os.path.normpath(os.path.join(base, r)) for r in names}
    return out


def reaching(changed: list[str], listing: list[str], read: Callable[[list[str]], dict[str, SourceFile]]) -> list[str]:
    """The changed paths that can change a rendered overlay.

    YAML/JSON files and kustomizations, by name; any other file (``pod.txt``) when a kustomization
    names it as a resource, patch, component or plugin configuration: Kustomize reads it whatever its
    extension. Generator data files (``configMapGenerator`` ``files:``) hold data, not objects.
    """
    named = [p for p in changed if files.classify(p) is not None or p.rsplit("/", 1)[-1] in NAMES]
    others = [p for p in changed if p not in set(named)]
    if not others:
        return named
    found = referenced(overlays(listing), read)
    return named + [p for p in others if p in found]


def _top(path: str) -> str:
    return path.split("/", 1)[0] if "/" in path else ""


def _tops(
    kustomizations: list[str], listing: list[str], read: Callable[[list[str]], dict[str, SourceFile]]
) -> tuple[set[str], set[str]]:
    """The top-level directories the overlays read from (``../base`` may be another one), and the paths named."""
    tops = {_top(k) for k in kustomizations}
    present = set(listing)
    named: set[str] = set()
    for _ in range(20):  # each round adds a directory; a chain of more is not rendered in full (the build fails)
        named = referenced(overlays(p for p in listing if _top(p) in tops), read, data=True)
        more = {_top(n) if n in present else n.split("/", 1)[0] for n in named if not n.startswith("..")} - tops
        if not more:
            break
        tops |= more
    return tops, named


def render_side(
    kustomizations: list[str],
    listing: list[str],
    read: Callable[[list[str]], dict[str, SourceFile]],
    cache_dir: Path | None = None,
) -> list[ParsedFile]:
    """Render each overlay from one side's files; failures become notes, never errors."""
    command = tool()
    if not kustomizations:
        return []
    if command is None:
        return [ParsedFile(k, notes=[Note(path=k, message=NO_RENDERER)]) for k in kustomizations]
    tops, named = _tops(kustomizations, listing, read)
    # YAML/JSON by name, and every other file a kustomization names (``pod.txt``, generator data)
    wanted = [p for p in listing if _top(p) in tops and (files.classify(p) is not None or p in named)]
    sources = read(wanted)
    results: list[ParsedFile] = []
    with tempfile.TemporaryDirectory(prefix="agentctl-kustomize-") as tmp:
        root = Path(tmp, "tree")
        kz = {os.path.dirname(p): s for p, s in sources.items() if p.rsplit("/", 1)[-1] in NAMES}
        for path, source in sources.items():
            if source.data is None or ".." in path.split("/") or path.startswith("/"):
                continue
            target = root / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(source.data)
        for kustomization in kustomizations:
            if _names_remote(os.path.dirname(kustomization), kz, set()):
                note = (
                    "Kustomize overlay that names remote bases or paths outside the repository; "
                    "not rendered (nothing is downloaded or read from outside)"
                )
                results.append(ParsedFile(kustomization, notes=[Note(path=kustomization, message=note)]))
                continue
            key = _cache_key(command, kustomization, sources)
            results.append(_render(command, root, kustomization, Path(tmp), cache_dir, key))
    return results


def _cache_key(command: list[str], kustomization: str, sources: dict[str, SourceFile]) -> str:
    digest = hashlib.sha256(f"{os.path.basename(command[0])}\0{kustomization}\0".encode())
    for path in sorted(sources):
        data = sources[path].data or b""
        digest.update(f"{path}\0{len(data)}\0".encode())
        digest.update(data)
    return digest.hexdigest()


def _cached(cache_dir: Path | None, key: str) -> str | None:
    if cache_dir is None:
        return None
    try:
        return (cache_dir / f"kustomize-{key}.yaml").read_text(encoding="utf-8")
    except OSError:
        return None


def _store(cache_dir: Path | None, key: str, text: str) -> None:
    if cache_dir is None:
        return
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=cache_dir, suffix=".tmp")  # mode 0600
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, cache_dir / f"kustomize-{key}.yaml")
    except OSError:
        return


def _names_remote(directory: str, kustomizations: dict[str, SourceFile], seen: set[str]) -> bool:
    """Whether the kustomization in ``directory`` or any it names reaches a remote base or leaves the repository."""
    if directory in seen or directory not in kustomizations:
        return False
    seen.add(directory)
    value = _load(kustomizations[directory])
    for key in ("resources", "bases", "components"):
        items = value.get(key)
        if isinstance(items, list) and any(isinstance(i, str) and any(m in i for m in _REMOTE) for i in items):
            return True
    targets = [os.path.normpath(os.path.join(directory, r)) for r in _references(value)]
    if any(t == ".." or t.startswith(("../", "/")) for t in targets):
        return True  # outside the repository: never read
    return any(_names_remote(t, kustomizations, seen) for t in targets)


def _render(
    command: list[str], root: Path, kustomization: str, home: Path, cache_dir: Path | None, key: str
) -> ParsedFile:
    directory = os.path.dirname(kustomization)
    output = _cached(cache_dir, key)
    if output is None:
        result = _run(command, root, kustomization, home)
        if isinstance(result, ParsedFile):
            return result
        output = result
        _store(cache_dir, key, output)
    return _parsed(kustomization, directory, output)


def _run(command: list[str], root: Path, kustomization: str, home: Path) -> ParsedFile | str:
    directory = os.path.dirname(kustomization)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), "KUBECONFIG": os.devnull}
    try:
        done = subprocess.run(
            [*command, str(root / directory) if directory else str(root)],
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            env=env,
            cwd=home,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return ParsedFile(kustomization, notes=[Note(path=kustomization, message=f"kustomize failed: {exc}")])
    if done.returncode != 0:
        reason = (done.stderr.strip().splitlines() or ["unknown error"])[-1].replace(str(root) + "/", "")
        reason = _KLOG.sub("", reason)  # kubectl's timestamp and pid: the same failure reads the same on both sides
        return ParsedFile(kustomization, issues=[ParseIssue(kustomization, 1, f"kustomize build failed: {reason}")])
    return done.stdout


def _parsed(kustomization: str, directory: str, output: str) -> ParsedFile:
    rendered = kubernetes.parse(kustomization + ".rendered.yaml", output)
    result = ParsedFile(
        kustomization, issues=[ParseIssue(kustomization, 1, i.message, i.rule_id) for i in rendered.issues]
    )
    where = Location(path=kustomization, start_line=1, end_line=1)
    for resource in rendered.resources:
        update = {
            "location": where,
            "key": f"kustomize:{directory}:{resource.key}",
            "address": f"{resource.address} (kustomize {directory or '.'})",
            "suppressions": (),
        }
        result.resources.append(resource.model_copy(update=update))
    return result
