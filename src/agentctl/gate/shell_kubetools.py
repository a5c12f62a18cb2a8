"""Cluster tools other than kubectl that change a cluster: judged as the kubectl verb they amount to.

Called by :func:`agentctl.gate.shell_kube.track`. ``skaffold run`` deploys like
``kubectl apply``, ``tilt down`` deletes like ``kubectl delete``, ``flux
delete``, ``kapp deploy``, ``eksctl delete cluster``…: each mutating
subcommand adds a kubectl command (with the tool's context as ``--context``),
so the kubectl rule decides it (a local context such as ``kind-dev`` is allowed
there). A direct call to the Kubernetes API (``curl -X DELETE
https://host:6443/api/v1/namespaces/x``) is the kubectl verb of its method.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from agentctl.engine import argv as argv_rules

if TYPE_CHECKING:
    from agentctl.gate.shell import Command, Walker

_APPLY, _DELETE, _PATCH = "apply", "delete", "patch"
TOOLS: dict[str, tuple[dict[str, str], tuple[str, ...], frozenset[str]]] = {
    # name: (mutating subcommand -> kubectl verb, flags naming the context, options that take a value)
    "kapp": (
        {"deploy": _APPLY, "delete": _DELETE, "rename": _PATCH, "app-change": _PATCH},
        ("--kubeconfig-context",),
        frozenset({"-a", "--app", "-f", "--file", "-n", "--namespace", "--kubeconfig-context", "--kubeconfig"}),
    ),
    "skaffold": (
        {"run": _APPLY, "dev": _APPLY, "deploy": _APPLY, "apply": _APPLY, "debug": _APPLY, "delete": _DELETE},
        ("--kube-context",),
        frozenset({"-p", "--profile", "-f", "--filename", "-n", "--namespace", "--kube-context", "--kubeconfig",
                   "-m", "--module", "-t", "--tag", "-d", "--default-repo"}),
    ),
    "tilt": (
        {"up": _APPLY, "ci": _APPLY, "down": _DELETE},
        ("--context",),
        frozenset({"-f", "--file", "--context", "--namespace", "--port"}),
    ),
    "flux": (
        {"create": "create", "delete": _DELETE, "reconcile": _PATCH, "suspend": _PATCH, "resume": _PATCH,
         "bootstrap": _APPLY, "install": _APPLY, "uninstall": _DELETE},
        ("--context",),
        frozenset({"-n", "--namespace", "--context", "--kubeconfig", "--timeout"}),
    ),
    "eksctl": (
        {"create": "create", "delete": _DELETE, "scale": "scale", "upgrade": _PATCH, "drain": "drain",
         "set": _PATCH, "unset": _PATCH, "update": _PATCH, "enable": _PATCH, "disable": _PATCH,
         "register": "create", "deregister": _DELETE, "associate": _PATCH},
        (),
        frozenset({"-f", "--config-file", "-r", "--region", "-p", "--profile", "-c", "--cluster", "-n", "--name"}),
    ),
}  # fmt: skip
"""Tools that deploy to or delete from a cluster, and how their argv names the subcommand and the context."""


def judge(cmd: Command, walker: Walker) -> None:
    name = cmd.name
    verbs, context_flags, valued = TOOLS[name]
    argv = cmd.argv
    if argv_rules.asks_help(argv) or "--export" in argv or "--dry-run" in argv:
        return
    i, sub = 1, ""
    while i < len(argv):
        word = argv[i]
        if word.startswith("-"):
            i += 2 if word in valued else 1
            continue
        sub = word
        break
    verb = verbs.get(sub)
    if verb is None:
        return
    target = [f"--context={value}" for value in _values(argv, context_flags)]
    if not target and walker.kube_context and context_flags:
        target.append(f"--context={walker.kube_context}")
    target += [f"--kubeconfig={value}" for value in _values(argv, ("--kubeconfig",))]
    add(cmd, walker, ["kubectl", *target, verb, f"({name} {sub})"], name)


def _values(argv: list[str], flags: tuple[str, ...]) -> list[str]:
    """The values given to ``flags`` (``--flag VALUE`` or ``--flag=VALUE``), last one last."""
    found: list[str] = []
    for i, word in enumerate(argv):
        key, eq, value = word.partition("=")
        if key in flags:
            found.append(value if eq else argv[i + 1] if i + 1 < len(argv) else "")
    return found[-1:]


_URL = re.compile(r"^(?:https?://)([^/:]+|\[[^\]]+\])(?::(\d+))?(/[^?#]*)?")
_API_PORTS = {"6443", "8443", "16443"}
_KUBE_API = re.compile(r"^/(api/v1|apis/[^/]+/[^/]+)(/|$)")
_KUBE_RESOURCES = re.compile(r"^/(api/v1|apis/[^/]+/[^/]+)/(namespaces|nodes|persistentvolumes|clusterroles|"
                             r"clusterrolebindings|customresourcedefinitions|storageclasses)(/|$)")  # fmt: skip


def api_call(cmd: Command, walker: Walker, verb: str) -> bool:
    """A mutating HTTP call to a Kubernetes API server (its port, or a cluster resource's path)."""
    for word in cmd.argv[1:]:
        match = _URL.match(word)
        if match is None:
            continue
        port, path = match.group(2) or "", match.group(3) or "/"
        if (port in _API_PORTS and _KUBE_API.match(path)) or _KUBE_RESOURCES.match(path):
            add(cmd, walker, ["kubectl", f"--server={match.group(0)}", verb, word], f"{cmd.name} (Kubernetes API)")
            return True
    return False


def add(cmd: Command, walker: Walker, argv: list[str], label: str) -> None:
    from agentctl.gate.shell import Command as Cmd

    walker.out.append(Cmd(argv=argv, name="kubectl", literal=[True] * len(argv), cwd=cmd.cwd, via=[*cmd.via, label]))
