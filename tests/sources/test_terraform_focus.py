"""A diff that edits only resource/data blocks instantiates only those blocks, with the same result.

``sources.terraform.focus`` decides when that holds; these tests pin both the
decision and that a focused diff finds exactly the changes a full evaluation finds.
"""

from __future__ import annotations

from agentctl.engine import pairing
from agentctl.sources.evaluation import evaluate_sides
from agentctl.sources.files import FileKind, SourceFile
from agentctl.sources.loader import ParseCache, parse_all
from agentctl.sources.terraform.focus import focus

MODULE = {
    "main.tf": 'module "app" {\n  source = "./app"\n  size   = var.size\n}\n'
    'variable "size" {\n  default = 2\n}\n'
    'resource "aws_s3_bucket" "root" {\n  bucket = "r"\n}\n',
    "terraform.tfvars": "size = 3\n",
    "app/main.tf": 'variable "size" {}\nlocals {\n  name = "app"\n}\n'
    'resource "aws_instance" "web" {\n  count         = var.size\n  instance_type = "t3.micro"\n'
    "  tags          = { name = local.name }\n}\n"
    'data "aws_ami" "u" {\n  most_recent = true\n}\n',
}


def side(files: dict[str, str]) -> list:
    sources = [SourceFile(path, FileKind.TERRAFORM, text.encode()) for path, text in sorted(files.items())]
    return parse_all(sources, ParseCache(None))


def changes(before: dict[str, str], after: dict[str, str], changed: list[str] | None) -> list[tuple[str, str, str]]:
    base, head = side(before), side(after)
    evaluate_sides(base, head, changed=changed)
    found = pairing.pair([r for p in base for r in p.resources], [r for p in head for r in p.resources])
    return sorted((c.change.value, c.current.address, str(c.current.attributes)) for c in found)


def edited(path: str, old: str, new: str) -> dict[str, str]:
    assert old in MODULE[path]
    return {**MODULE, path: MODULE[path].replace(old, new)}


def test_only_edited_resource_and_data_blocks_are_instantiated() -> None:
    after = edited("app/main.tf", '"t3.micro"', '"g5.12xlarge"')
    after["app/extra.tf"] = 'resource "aws_s3_bucket" "new" {\n  bucket = "n"\n}\n'
    assert focus(side(MODULE), side(after), ["app/main.tf", "app/extra.tf"]) == {
        "app": {"aws_instance.web", "aws_s3_bucket.new"}
    }
    gone = edited("app/main.tf", 'data "aws_ami" "u" {\n  most_recent = true\n}\n', "")
    assert focus(side(MODULE), side(gone), ["app/main.tf"]) == {"app": {"data.aws_ami.u"}}


def test_anything_but_a_resource_block_means_a_full_evaluation() -> None:
    cases = {
        "a variable default": ("main.tf", "default = 2", "default = 9"),
        "a local": ("app/main.tf", 'name = "app"', 'name = "web"'),
        "a module argument": ("main.tf", "size   = var.size", "size   = 7"),
        "a tfvars entry": ("terraform.tfvars", "size = 3", "size = 60"),
    }
    for what, (path, old, new) in cases.items():
        assert focus(side(MODULE), side(edited(path, old, new)), [path]) is None, what
    override = {**MODULE, "app/web_override.tf": 'resource "aws_instance" "web" {\n  instance_type = "p4d"\n}\n'}
    assert focus(side(MODULE), side(override), ["app/web_override.tf"]) is None


def test_a_suppression_comment_alone_is_a_change_of_its_block() -> None:
    after = edited(
        "main.tf",
        'resource "aws_s3_bucket" "root" {\n',
        'resource "aws_s3_bucket" "root" {\n  # agentctl:ignore=aws-s3-no-public-access-block reason="logs"\n',
    )
    assert focus(side(MODULE), side(after), ["main.tf"]) == {"": {"aws_s3_bucket.root"}}


def test_a_focused_diff_finds_the_same_changes_as_a_full_evaluation() -> None:
    cases = [
        (edited("app/main.tf", '"t3.micro"', '"g5.12xlarge"'), ["app/main.tf"]),
        (edited("main.tf", 'bucket = "r"', 'bucket = "renamed"'), ["main.tf"]),
        (
            {k: v for k, v in MODULE.items() if k != "main.tf"} | {"main.tf": MODULE["main.tf"].split("resource")[0]},
            ["main.tf"],
        ),
        ({**MODULE, "app/more.tf": 'resource "aws_eks_cluster" "c" {\n  name = "c"\n}\n'}, ["app/more.tf"]),
        (edited("app/main.tf", 'name = "app"', 'name = "web"'), ["app/main.tf"]),  # a full evaluation
    ]
    for after, changed in cases:
        focused = changes(MODULE, after, changed)
        assert focused, changed
        assert focused == changes(MODULE, after, None), changed
