"""Reading a command's argv the way the command itself does (CEL helpers for tool rules).

Rules over ``tool.commands`` ask questions like "what is kubectl's verb" or
"which --context applies". Answering them needs to know which flags take a
separate value (``kubectl -n prod delete`` has the verb ``delete``, not
``prod``); that knowledge lives here, per command, so rules stay short:

* ``args(argv)``: the positional words after argv[0], flags and their values skipped;
* ``arg(argv, i)``: the i-th of them, or ``""``;
* ``has_flag(argv, name)``: whether a flag (``--x``, ``--x=v``, ``-x``) is given;
* ``flag(argv, name)``: the value of its LAST occurrence (``""`` when bare or absent);
* ``asks_help(argv)``: ``-h``/``-help``/``--help`` before ``--`` (the tool prints help and does nothing else).
"""

from __future__ import annotations

import posixpath
from typing import Any

_KUBE = (
    "-n --namespace --context --kubeconfig --cluster --user -s --server --token --as --as-group --as-uid "
    "-l --selector -o --output -f --filename -c --container --field-selector --request-timeout --cache-dir "
    "--certificate-authority --client-certificate --client-key --tls-server-name --username --password "
    "--profile --profile-output --log-file --log-dir -v --v --vmodule --template --type -p --patch "
    "--patch-file --image --replicas --port --timeout --grace-period --sort-by --chunk-size --subresource "
    "-k --kustomize --field-manager --overrides --env -e --from --restart --cascade --local-ssd-count"
)
_HELM = (
    "-n --namespace --kube-context --kubeconfig --kube-as-user --kube-as-group --kube-apiserver --kube-ca-file "
    "--kube-token --registry-config --repository-cache --repository-config --burst-limit --qps -f --values "
    "--set --set-string --set-file --set-json --version --repo --timeout --description --post-renderer -o --output"
)
_GIT = "-C -c --git-dir --work-tree --namespace -m -b -B -F --message --file --author --date -o --depth --branch"
_AWS = (
    "--region --profile --output --endpoint-url --query --ca-bundle --cli-read-timeout --cli-connect-timeout "
    "--color --cli-binary-format --secret-id --name --names --path --version-id --version-stage"
)
_GCLOUD = "--project --account --configuration --format --impersonate-service-account --secret"
_VAULT = "-address -namespace -mount -field -format -version -output-curl-string"
_OP = "--account --vault --fields --format --session --cache --config --encoding"
_AZ = "--vault-name --name -n --subscription --version --query -o --output --id --file -f"
VALUED: dict[str, frozenset[str]] = {
    "kubectl": frozenset(_KUBE.split()),
    "oc": frozenset(_KUBE.split()),
    "kubecolor": frozenset(_KUBE.split()),
    "helm": frozenset(_HELM.split()),
    "git": frozenset(_GIT.split()),
    "terraform": frozenset({"-chdir"}),
    "tofu": frozenset({"-chdir"}),
    "terragrunt": frozenset({"-chdir", "--terragrunt-working-dir", "--working-dir"}),
    "pulumi": frozenset({"-s", "--stack", "-C", "--cwd", "--config-file", "-m", "--message", "--target", "-t"}),
    "cdktf": frozenset({"-a", "--app", "-o", "--output"}),
    "argocd": frozenset(
        {
            "--server",
            "--auth-token",
            "--config",
            "--header",
            "-H",
            "--logformat",
            "--loglevel",
            "--port-forward-namespace",
            "--kube-context",
            "--grpc-web-root-path",
            "--client-crt",
            "--client-crt-key",
            "--server-crt",
            "--redis-haproxy-name",
            "--repo-server-name",
            "--server-name",
            "--redis-name",
            "--http-retry-max",
            "-o",
            "--output",
            "-p",
            "--project",
            "-l",
            "--selector",
            "-N",
            "--app-namespace",
            "--context",
        }
    ),
    "aws": frozenset(_AWS.split()),
    "gcloud": frozenset(_GCLOUD.split()),
    "vault": frozenset(_VAULT.split()),
    "op": frozenset(_OP.split()),
    "az": frozenset(_AZ.split()),
    "gh": frozenset({"--hostname", "-h", "-R", "--repo"}),
    "sops": frozenset({"--output", "--input-type", "--output-type", "--extract", "--config", "--keyservice"}),
    "helmfile": frozenset(
        {
            "-f",
            "--file",
            "-e",
            "--environment",
            "-n",
            "--namespace",
            "--kube-context",
            "-l",
            "--selector",
            "--state-values-set",
            "--state-values-file",
            "-c",
            "--chart",
        }
    ),
}
"""Flags that take their value as the next word, per command (``--flag=value`` always works)."""

OPTIONAL_VALUE = frozenset({"--dry-run"})
"""Flags whose value, if any, must be attached with ``=`` (pflag's NoOptDefVal)."""


def _name(argv: list[Any]) -> str:
    return posixpath.basename(str(argv[0]).rstrip("/")) if argv else ""


def args(argv: Any) -> list[str]:
    words = [str(w) for w in (argv or [])]
    valued = VALUED.get(_name(words), frozenset())
    out: list[str] = []
    i, ended = 1, False
    while i < len(words):
        word = words[i]
        if ended or word == "-" or not word.startswith("-"):
            out.append(word)
        elif word == "--":
            ended = True
        elif word in valued and word not in OPTIONAL_VALUE:
            i += 1
        i += 1
    return out


def arg(argv: Any, index: Any) -> str:
    positional = args(argv)
    i = int(index)
    return positional[i] if -len(positional) <= i < len(positional) else ""


def _occurrences(argv: Any, name: str) -> list[str]:
    words = [str(w) for w in (argv or [])]
    valued = VALUED.get(_name(words), frozenset())
    found: list[str] = []
    i = 1
    while i < len(words):
        word = words[i]
        if word == "--":
            break
        if word == name:
            takes = name in valued and name not in OPTIONAL_VALUE and i + 1 < len(words)
            found.append(words[i + 1] if takes else "")
            i += 2 if takes else 1
            continue
        if word.startswith(name + "="):
            found.append(word[len(name) + 1 :])
        elif len(name) == 2 and name.startswith("-") and word.startswith(name) and not word.startswith("--"):
            found.append(word[2:].lstrip("="))
        elif word in valued:
            i += 1
        i += 1
    return found


def has_flag(argv: Any, name: Any) -> bool:
    return bool(_occurrences(argv, str(name)))


def flag(argv: Any, name: Any) -> str:
    found = _occurrences(argv, str(name))
    return found[-1] if found else ""


def asks_help(argv: Any) -> bool:
    for word in argv or []:
        if word == "--":
            return False
        if word in ("-h", "-help", "--help"):
            return True
    return False


FUNCTIONS = {"args": args, "arg": arg, "has_flag": has_flag, "flag": flag, "asks_help": asks_help}
