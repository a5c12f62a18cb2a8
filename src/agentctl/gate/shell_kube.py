"""Which cluster a kubectl/helm command reaches, across the commands of one shell text.

* ``kubectl config use-context X && kubectl apply …``: the apply runs in X (only
  after ``&&``: after ``;`` or ``||`` the switch may have failed), so X is
  given to the later commands as their ``--context``/``--kube-context``;
* ``kubectl proxy & curl -X DELETE localhost:8001/api/…``: a mutating HTTP call
  through the proxy is that kubectl verb on the proxy's cluster, and a client
  talking to a ``kubectl port-forward`` tunnel acts inside the cluster; both are
  added as the kubectl commands they amount to, so the kubectl rule judges them.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from agentctl.engine import argv as argv_rules
from agentctl.gate import shell_kubetools

if TYPE_CHECKING:
    from agentctl.gate.shell import Command, Walker

_KUBE = ("kubectl", "oc", "kubecolor")
_TARGET_FLAGS = ("--context", "--kubeconfig", "--server", "-s", "--cluster", "--user", "--token")
_METHODS = {"DELETE": "delete", "PUT": "replace", "PATCH": "patch", "POST": "create"}
_LOCAL = re.compile(r"^(https?://)?(localhost|127\.0\.0\.1|\[::1\]|0\.0\.0\.0)(:(\d+))?(/.*)?$")
_KUBE_API = re.compile(r"^/(api/v1|apis/[^/]+/[^/]+)(/|$)")
"""The Kubernetes API's path shape (``/api/v1/…``, ``/apis/apps/v1/…``)."""
_HTTP = ("curl", "wget", "http", "https", "xh")


def track(cmd: Command, name: str, walker: Walker) -> None:
    if name in _KUBE:
        _kubectl(cmd, walker)
    elif name == "helm":
        _helm(cmd, walker)
    elif name in _HTTP:
        _http(cmd, walker)
    elif name in shell_kubetools.TOOLS:
        shell_kubetools.judge(cmd, walker)
    if any(kind == "forward" for kind, _, _ in walker.kube_tunnels) and name not in _KUBE:
        _tunnel_client(cmd, walker)


def _helm(cmd: Command, walker: Walker) -> None:
    if walker.kube_context and not argv_rules.has_flag(cmd.argv, "--kube-context"):
        _insert(cmd, f"--kube-context={walker.kube_context}")
    words = argv_rules.args(cmd.argv)
    if words[:1] == ["secrets"] and len(words) > 1:  # the helm-secrets plugin runs ``helm SUB`` after decrypting
        at = cmd.argv.index("secrets")
        cmd.argv, cmd.literal = cmd.argv[:at] + cmd.argv[at + 1 :], cmd.literal[:at] + cmd.literal[at + 1 :]
        words = words[1:]
    if words[:1] == ["plugin"] and words[1:2] in (["install"], ["add"]) and len(words) > 2:
        source = words[2]  # a plugin's install hooks and commands are code from where it comes from
        if "://" in source or re.match(r"^[\w.-]+@[\w.-]+:", source) or not source.startswith((".", "/")):
            cmd.code_from.append("helm plugin install")


def _insert(cmd: Command, word: str) -> None:
    cmd.argv = [cmd.argv[0], word, *cmd.argv[1:]]
    cmd.literal = [cmd.literal[0], True, *cmd.literal[1:]]


def _target(argv: list[str]) -> list[str]:
    """The flags that say which cluster a kubectl command reaches."""
    return [f"{f}={argv_rules.flag(argv, f)}" for f in _TARGET_FLAGS if argv_rules.has_flag(argv, f)]


def _kubectl(cmd: Command, walker: Walker) -> None:
    words = argv_rules.args(cmd.argv)
    if words[:2] == ["config", "use-context"]:
        literal = all(cmd.literal) and not argv_rules.has_flag(cmd.argv, "--kubeconfig")
        walker.pending_context = words[2] if literal and len(words) > 2 else ""  # "": unknown
        return
    if walker.kube_context and not argv_rules.has_flag(cmd.argv, "--context"):
        _insert(cmd, f"--context={walker.kube_context}")
    if words[:1] == ["proxy"]:
        port = argv_rules.flag(cmd.argv, "--port") or argv_rules.flag(cmd.argv, "-p") or "8001"
        walker.kube_tunnels.append(("proxy", [port], _target(cmd.argv)))
    elif words[:1] == ["port-forward"]:
        ports = [p.split(":")[0] for p in words[2:] if re.fullmatch(r"\d*:?\d+", p)]
        walker.kube_tunnels.append(("forward", [p for p in ports if p], _target(cmd.argv)))


def _method(cmd: Command) -> str:
    """The HTTP method a curl/wget/httpie command uses ("" for a GET)."""
    args = cmd.argv[1:]
    method = ""
    for i, arg in enumerate(args):
        if arg in ("-X", "--request") and i + 1 < len(args):
            method = args[i + 1].upper()
        elif arg.startswith("-X") and len(arg) > 2:
            method = arg[2:].upper()
        elif arg.startswith(("--request=", "--method=")):
            method = arg.split("=", 1)[1].upper()
        elif arg in ("-d", "--data", "--data-binary", "--data-raw", "-F", "--form", "--json") and not method:
            method = "POST"
        elif arg in ("-T", "--upload-file") and not method:
            method = "PUT"
        elif arg.startswith(("--post-data", "--post-file")) and not method:
            method = "POST"
        elif arg.upper() in _METHODS and cmd.name in ("http", "https", "xh") and not method:
            method = arg.upper()
    return method


def _http(cmd: Command, walker: Walker) -> None:
    args = cmd.argv[1:]
    verb = _METHODS.get(_method(cmd))
    if verb is None:
        return
    for url in (a for a in args if _LOCAL.match(a)):
        match = _LOCAL.match(url)
        assert match is not None
        port, path = match.group(4) or "80", match.group(5) or "/"
        for kind, ports, target in walker.kube_tunnels:
            if kind == "proxy" and (port in ports or _KUBE_API.match(path)):
                _add(cmd, walker, ["kubectl", *target, verb, url], "kubectl proxy")
                return
        if port == "8001" and _KUBE_API.match(
            path
        ):  # kubectl proxy's port and the API's shape: a proxy started earlier
            _add(cmd, walker, ["kubectl", verb, url], "kubectl proxy")
            return
    shell_kubetools.api_call(cmd, walker, verb)


def _tunnel_client(cmd: Command, walker: Walker) -> None:
    """A client of a port-forward tunnel acts inside the cluster (an HTTP client only when it changes things)."""
    if cmd.name in _HTTP and _method(cmd) not in _METHODS:
        return
    text = " ".join(cmd.argv[1:])
    for kind, ports, target in walker.kube_tunnels:
        if kind != "forward":
            continue
        local = re.search(r"\b(localhost|127\.0\.0\.1|0\.0\.0\.0)\b|\[::1\]", text)
        if local or any(re.search(rf"(^|[\s:=]){re.escape(p)}(\b|$)", text) for p in ports):
            _add(cmd, walker, ["kubectl", *target, "exec", f"(through port-forward: {cmd.name})"], "port-forward")
            return


def _add(cmd: Command, walker: Walker, argv: list[str], label: str) -> None:
    from agentctl.gate.shell import Command as Cmd

    walker.out.append(Cmd(argv=argv, name="kubectl", literal=[True] * len(argv), cwd=cmd.cwd, via=[*cmd.via, label]))
