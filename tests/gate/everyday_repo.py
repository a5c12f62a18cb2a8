"""A realistic working repository for the everyday-commands corpus (``everyday.yaml``).

What a platform team's monorepo looks like when an agent works in it: a git
history, a Python package (pyproject, conftest, tox, a venv), a Node package
(package.json scripts, node_modules/.bin), a Makefile and a justfile, Terraform
environments and modules, Kubernetes manifests, a Helm chart, Kustomize
overlays, docs that *mention* dangerous commands, and small helper scripts.
Nothing in it is ever executed by the tests: the gate only reads it.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

PACKAGE_JSON = """{
  "name": "web",
  "version": "1.4.0",
  "private": true,
  "scripts": {
    "build": "tsc -p tsconfig.json",
    "dev": "vite",
    "start": "node dist/index.js",
    "test": "jest --ci",
    "test:watch": "jest --watch",
    "lint": "eslint . --ext .ts,.tsx",
    "format": "prettier --write src",
    "typecheck": "tsc --noEmit",
    "prepare": "husky install",
    "pretest": "npm run lint",
    "clean": "rm -rf dist coverage"
  },
  "devDependencies": {"jest": "^29.0.0", "typescript": "^5.4.0", "eslint": "^8.57.0"}
}
"""

MAKEFILE = """.PHONY: test lint fmt build clean plan validate docs
PY ?= python3
test:
\tpytest -q
lint:
\truff check src tests
\tmypy src
fmt:
\truff format src tests
\tterraform fmt -recursive infra
build:
\t$(PY) -m build
clean:
\trm -rf build dist .pytest_cache .mypy_cache
validate:
\tcd infra/envs/dev && terraform validate
plan:
\tterraform -chdir=infra/envs/dev plan -out=tfplan
docs:
\tmkdocs build
"""

JUSTFILE = """default: test

test:
    pytest -q

lint:
    ruff check .
    mypy src

fmt:
    ruff format .

plan env="dev":
    terraform -chdir=infra/envs/{{env}} plan
"""

TOX_INI = """[tox]
envlist = py311, lint

[testenv]
deps = pytest
commands = pytest {posargs}

[testenv:lint]
deps = ruff
commands = ruff check src tests
"""

PYPROJECT = """[project]
name = "platform-tools"
version = "0.3.0"
requires-python = ">=3.11"
dependencies = ["pyyaml", "requests"]

[project.scripts]
ptools = "platform_tools.cli:main"

[tool.pytest.ini_options]
testpaths = ["tests"]

[tool.ruff]
line-length = 100
"""

CONFTEST = """import pytest


@pytest.fixture
def sample_config(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("region: eu-west-1\\n")
    return path
"""

ACTIVATE = """# This file must be used with "source bin/activate" *from bash*
deactivate () {
    if [ -n "${_OLD_VIRTUAL_PATH:-}" ] ; then
        PATH="${_OLD_VIRTUAL_PATH:-}"
        export PATH
        unset _OLD_VIRTUAL_PATH
    fi
    unset VIRTUAL_ENV
}
deactivate nondestructive
VIRTUAL_ENV="/work/app/.venv"
export VIRTUAL_ENV
_OLD_VIRTUAL_PATH="$PATH"
PATH="$VIRTUAL_ENV/bin:$PATH"
export PATH
"""

MAIN_TF = """terraform {
  required_providers {
    aws = { source = "hashicorp/aws", version = "~> 5.0" }
  }
}

module "network" {
  source = "../../modules/network"
  cidr   = var.cidr
}

resource "aws_instance" "web" {
  ami           = "ami-123"
  instance_type = "t3.micro"
  tags = { Name = "web-${var.env}" }
}
"""

DEPLOYMENT = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: ghcr.io/acme/web:1.4.0
          resources:
            limits: {cpu: 500m, memory: 256Mi}
"""

FILES: dict[str, str] = {
    "README.md": "# platform\n\nRun `make test`. To tear down: `terraform destroy` (never from an agent).\n",
    "docs/runbook.md": "# Runbook\n\n```\nkubectl delete pod web-0\nterraform apply\n```\n",
    "docs/index.md": "# Docs\n",
    "CHANGELOG.md": "## 0.3.0\n- destroy old buckets\n",
    ".gitignore": "node_modules/\n.venv/\n.terraform/\ndist/\nbuild/\n*.tfstate\n",
    "package.json": PACKAGE_JSON,
    "package-lock.json": '{"name": "web", "lockfileVersion": 3, "packages": {}}\n',
    "tsconfig.json": '{"compilerOptions": {"outDir": "dist", "strict": true}}\n',
    "web/index.ts": "export const hello = (n: string) => `hi ${n}`;\n",
    "web/index.test.ts": "import {hello} from './index';\ntest('hi', () => expect(hello('a')).toBe('hi a'));\n",
    "node_modules/.bin/jest": "#!/usr/bin/env node\nrequire('../jest/bin/jest');\n",
    "node_modules/.bin/tsc": "#!/usr/bin/env node\nrequire('../typescript/bin/tsc');\n",
    "node_modules/.bin/eslint": "#!/usr/bin/env node\nrequire('../eslint/bin/eslint.js');\n",
    "node_modules/jest/package.json": '{"name": "jest", "version": "29.7.0"}\n',
    "pyproject.toml": PYPROJECT,
    "tox.ini": TOX_INI,
    "conftest.py": CONFTEST,
    "Makefile": MAKEFILE,
    "justfile": JUSTFILE,
    "requirements.txt": "pyyaml==6.0.1\nrequests==2.32.3\n",
    "requirements-dev.txt": "pytest\nruff\nmypy\n",
    "src/platform_tools/__init__.py": '__version__ = "0.3.0"\n',
    "src/platform_tools/cli.py": "import sys\n\n\ndef main() -> int:\n    print('ok')\n    return 0\n",
    "src/platform_tools/destroy.py": "def destroy_stale(resources):\n    return [r for r in resources if r.stale]\n",
    "tests/__init__.py": "",
    "tests/test_cli.py": "from platform_tools.cli import main\n\n\ndef test_main():\n    assert main() == 0\n",
    "tests/test_destroy.py": "def test_destroy_stale():\n    assert True\n",
    "scripts/check.sh": "#!/bin/sh\nset -e\nruff check src\npytest -q\n",
    "scripts/gen_docs.py": "from pathlib import Path\nPath('docs/api.md').write_text('# API\\n')\n",
    "scripts/validate.sh": "#!/bin/sh\nfor d in infra/envs/*; do terraform -chdir=$d validate; done\n",
    ".venv/bin/activate": ACTIVATE,
    ".venv/bin/pytest": "#!/work/app/.venv/bin/python\nfrom pytest import console_main\nconsole_main()\n",
    ".venv/pyvenv.cfg": "home = /usr/bin\nversion = 3.11.9\n",
    "infra/envs/dev/main.tf": MAIN_TF,
    "infra/envs/dev/variables.tf": 'variable "env" { default = "dev" }\nvariable "cidr" { default = "10.0.0.0/16" }\n',
    "infra/envs/dev/outputs.tf": 'output "ip" { value = aws_instance.web.private_ip }\n',
    "infra/envs/dev/terraform.tfvars": 'env = "dev"\n',
    "infra/envs/prod/main.tf": MAIN_TF.replace("t3.micro", "m6i.large"),
    "infra/envs/prod/variables.tf": (
        'variable "env" { default = "prod" }\nvariable "cidr" { default = "10.1.0.0/16" }\n'
    ),
    "infra/modules/network/main.tf": 'variable "cidr" {}\nresource "aws_vpc" "this" { cidr_block = var.cidr }\n',
    "infra/.tflint.hcl": 'plugin "aws" { enabled = true }\n',
    "k8s/base/deployment.yaml": DEPLOYMENT,
    "k8s/base/service.yaml": "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n  ports: [{port: 80}]\n",
    "k8s/base/kustomization.yaml": "resources: [deployment.yaml, service.yaml]\n",
    "k8s/overlays/dev/kustomization.yaml": "resources: [../../base]\nnamePrefix: dev-\n",
    "charts/web/Chart.yaml": "apiVersion: v2\nname: web\nversion: 0.1.0\n",
    "charts/web/values.yaml": "replicas: 2\nimage: ghcr.io/acme/web:1.4.0\n",
    "charts/web/templates/deployment.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n"
    "  name: {{ .Release.Name }}\nspec:\n  replicas: {{ .Values.replicas }}\n",
    "go/go.mod": "module example.com/svc\n\ngo 1.22\n",
    "go/main.go": 'package main\n\nimport "fmt"\n\nfunc main() { fmt.Println("ok") }\n',
    "rust/Cargo.toml": '[package]\nname = "svc"\nversion = "0.1.0"\nedition = "2021"\n',
    "rust/src/main.rs": 'fn main() { println!("ok"); }\n',
    "Dockerfile": 'FROM python:3.11-slim\nCOPY . /app\nRUN pip install /app\nCMD ["ptools"]\n',
    "docker-compose.yml": "services:\n  web:\n    build: .\n    ports: ['8080:8080']\n",
    ".github/workflows/ci.yml": "on: push\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n"
    "      - uses: actions/checkout@v4\n      - run: make test\n",
    ".pre-commit-config.yaml": "repos:\n  - repo: https://github.com/astral-sh/ruff-pre-commit\n    rev: v0.4.0\n"
    "    hooks: [{id: ruff}]\n",
    "config/app.yaml": "region: eu-west-1\nreplicas: 3\n",
    "config/values.json": '{"replicas": 3, "image": {"tag": "1.4.0"}}\n',
}

EXECUTABLE = ("node_modules/.bin/jest", "node_modules/.bin/tsc", "node_modules/.bin/eslint", ".venv/bin/pytest",
              "scripts/check.sh", "scripts/validate.sh")  # fmt: skip


def build(root: Path) -> Path:
    """Write the repository under ``root`` and commit it (``node_modules`` and ``.venv`` stay untracked)."""
    for rel, text in FILES.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    for rel in EXECUTABLE:
        (root / rel).chmod(0o755)
    git = ["git", "-C", str(root), "-c", "user.email=dev@example.com", "-c", "user.name=Dev",
           "-c", "commit.gpgsign=false"]  # fmt: skip
    subprocess.run([*git, "init", "-q", "-b", "main"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "initial"], check=True)
    # a feature branch to merge, switch to, rebase onto or cherry-pick, a commit on main to revert, and a stash to
    # pop: none touches a protected file
    subprocess.run([*git, "checkout", "-q", "-b", "feature/x"], check=True)
    (root / "src/platform_tools/cli.py").write_text(FILES["src/platform_tools/cli.py"] + "\n# feature\n")
    subprocess.run([*git, "commit", "-q", "-am", "feature"], check=True)
    subprocess.run([*git, "checkout", "-q", "main"], check=True)
    (root / "docs/index.md").write_text(FILES["docs/index.md"] + "\nSee the runbook.\n")  # HEAD: an everyday commit
    subprocess.run([*git, "commit", "-q", "-am", "docs: link the runbook"], check=True)
    (root / "README.md").write_text(FILES["README.md"] + "wip\n")
    subprocess.run([*git, "stash", "-q"], check=True)
    return root
