"""Which Kustomize overlays a change reaches (rendering itself is tested end to end in tests/cli)."""

from __future__ import annotations

from agentctl.sources import kustomize
from agentctl.sources.files import FileKind, SourceFile

TREE = {
    "deploy/base/kustomization.yaml": "resources:\n  - deployment.yaml\n",
    "deploy/overlays/prod/kustomization.yaml": "resources:\n  - ../../base\ncomponents:\n  - ../../components/x\n"
    "patches:\n  - path: ../../shared/patch.yaml\n",
    "deploy/overlays/dev/kustomization.yaml": "resources:\n  - ../../base\n",
    "deploy/components/x/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\n",
    "other/kustomization.yaml": "resources:\n  - https://github.com/example/app//base\n",
    "escape/kustomization.yaml": "resources:\n  - ../../../../../etc/app\n",
}


def read(paths: list[str]) -> dict[str, SourceFile]:
    return {p: SourceFile(p, FileKind.YAML, TREE[p].encode()) for p in paths if p in TREE}


def test_a_base_change_reaches_every_overlay_built_on_it_but_not_the_base_itself() -> None:
    overlays = kustomize.overlays(TREE)
    assert kustomize.affected(overlays, ["deploy/base/deployment.yaml"], read) == [
        "deploy/overlays/dev/kustomization.yaml",
        "deploy/overlays/prod/kustomization.yaml",
    ]


def test_a_patch_named_from_elsewhere_or_a_component_change_reaches_only_its_overlay() -> None:
    overlays = kustomize.overlays(TREE)
    expected = ["deploy/overlays/prod/kustomization.yaml"]
    assert kustomize.affected(overlays, ["deploy/shared/patch.yaml"], read) == expected
    assert kustomize.affected(overlays, ["deploy/components/x/labels.yaml"], read) == expected
    assert kustomize.affected(overlays, ["deploy/unrelated.yaml"], read) == []


def test_remote_bases_are_detected_through_the_chain() -> None:
    sources = {k.rsplit("/", 1)[0]: v for k, v in read(list(TREE)).items()}
    assert kustomize._names_remote("other", sources, set())
    assert kustomize._names_remote("escape", sources, set())
    assert not kustomize._names_remote("deploy/overlays/prod", sources, set())


def test_an_overlay_that_only_lists_manifest_files_is_not_rendered() -> None:
    """Rendering it would give exactly the listed files' objects, which are judged as manifests anyway."""
    tree = {
        "app/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
        "resources:\n  - web.yaml\n  - db.yaml\n",
        "app/web.yaml": "",
        "app/db.yaml": "",
        "labelled/kustomization.yaml": "resources:\n  - web.yaml\ncommonLabels:\n  team: a\n",
        "labelled/web.yaml": "",
        "missing/kustomization.yaml": "resources:\n  - gone.yaml\n",
    }

    def read_tree(paths: list[str]) -> dict[str, SourceFile]:
        return {p: SourceFile(p, FileKind.YAML, tree[p].encode()) for p in paths if p in tree}

    overlays = kustomize.overlays(tree)
    changed = ["app/web.yaml", "labelled/web.yaml", "missing/other.yaml"]
    assert kustomize.affected(overlays, changed, read_tree, frozenset(tree)) == [
        "labelled/kustomization.yaml",  # transforms what it lists: rendered
        "missing/kustomization.yaml",  # names a file that is not there: rendered (kustomize reports the error)
    ]
    assert kustomize.affected(overlays, changed, read_tree) == sorted(overlays)  # no listing: no shortcut
