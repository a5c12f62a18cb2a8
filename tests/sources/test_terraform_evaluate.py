"""Terraform evaluated the way Terraform would: one test per construct.

Each test writes a small configuration (several files, as Terraform reads a
directory) and evaluates it through the same entry points ``check`` uses.
"""

from __future__ import annotations

from typing import Any

import pytest

from agentctl.model.resource import Resource, is_unknown
from agentctl.sources.evaluation import evaluate_terraform
from agentctl.sources.files import FileKind, SourceFile
from agentctl.sources.interface import ParsedFile
from agentctl.sources.loader import ParseCache, parse_all


def evaluate(files: dict[str, str], var_files: tuple[str, ...] = ()) -> dict[str, Resource]:
    parsed = parsed_files(files)
    issues = [i for p in parsed for i in p.issues]
    assert not issues, issues
    evaluate_terraform(parsed, var_files)
    return {r.address: r for p in parsed for r in p.resources}


def parsed_files(files: dict[str, str | bytes]) -> list[ParsedFile]:  # type: ignore[type-arg]
    sources = [
        SourceFile(path, FileKind.TERRAFORM, text.encode() if isinstance(text, str) else text)
        for path, text in files.items()
    ]
    return parse_all(sources, ParseCache(None))


def attrs(files: dict[str, str], address: str, **kwargs: Any) -> dict[str, Any]:
    found = evaluate(files, **kwargs)
    assert address in found, sorted(found)
    return found[address].attributes


def test_variable_default_reaches_the_resource() -> None:
    files = {
        "variables.tf": 'variable "size" {\n  default = 3\n}\n',
        "main.tf": 'resource "aws_instance" "a" {\n  count_hint = var.size\n}\n',
    }
    assert attrs(files, "aws_instance.a")["count_hint"] == 3


def test_tfvars_precedence_terraform_then_auto_then_configured() -> None:
    base = {
        "variables.tf": 'variable "a" {\n  default = "default"\n}\nvariable "b" {\n  default = "default"\n}\n'
        'variable "c" {\n  default = "default"\n}\n',
        "main.tf": 'resource "null_resource" "r" {\n  a = var.a\n  b = var.b\n  c = var.c\n}\n',
        "terraform.tfvars": 'a = "tfvars"\nb = "tfvars"\nc = "tfvars"\n',
        "z.auto.tfvars": 'b = "auto"\nc = "auto"\n',
        "envs/prod.tfvars": 'c = "configured"\n',
    }
    assert attrs(base, "null_resource.r") == {"a": "tfvars", "b": "auto", "c": "auto"}
    configured = attrs(base, "null_resource.r", var_files=("envs/prod.tfvars",))
    assert configured == {"a": "tfvars", "b": "auto", "c": "configured"}


def test_tfvars_json_is_read() -> None:
    files = {
        "variables.tf": 'variable "n" {\n  default = 1\n}\n',
        "main.tf": 'resource "null_resource" "r" {\n  n = var.n\n}\n',
        "terraform.tfvars.json": '{"n": 7}',
    }
    assert attrs(files, "null_resource.r")["n"] == 7


def test_locals_chain_and_reference_variables() -> None:
    files = {
        "main.tf": 'variable "env" {\n  default = "dev"\n}\nlocals {\n  prefix = "app-${var.env}"\n}\n'
        'locals {\n  name = "${local.prefix}-web"\n}\n'
        'resource "aws_s3_bucket" "b" {\n  bucket = local.name\n}\n',
    }
    assert attrs(files, "aws_s3_bucket.b")["bucket"] == "app-dev-web"


def test_local_modules_recursively_with_instantiated_addresses() -> None:
    files = {
        "main.tf": 'module "outer" {\n  source = "./modules/outer"\n  size   = 5\n}\n',
        "modules/outer/main.tf": 'variable "size" {}\nmodule "inner" {\n  source = "../inner"\n'
        "  nodes  = var.size * 2\n}\n",
        "modules/inner/main.tf": 'variable "nodes" {}\nresource "aws_eks_node_group" "ng" {\n'
        "  scaling_config {\n    desired_size = var.nodes\n  }\n}\n",
    }
    found = evaluate(files)
    node_group = found["module.outer.module.inner.aws_eks_node_group.ng"]
    assert node_group.attributes["scaling_config"] == [{"desired_size": 10}]
    assert node_group.location.path == "modules/inner/main.tf"
    assert node_group.key == "tf::module.outer.module.inner.aws_eks_node_group.ng"
    assert "aws_eks_node_group.ng" not in found  # a called module is not also evaluated on its own


def test_count_expands_into_indexed_instances() -> None:
    files = {
        "main.tf": 'resource "aws_instance" "web" {\n  count = 2\n  name  = "web-${count.index}"\n}\n'
        'resource "aws_instance" "off" {\n  count = 0\n}\n',
    }
    found = evaluate(files)
    assert found["aws_instance.web[0]"].attributes["name"] == "web-0"
    assert found["aws_instance.web[1]"].attributes == {"count": 2, "name": "web-1"}
    assert not [a for a in found if a.startswith("aws_instance.off")]


def test_for_each_over_a_map_and_a_set() -> None:
    files = {
        "main.tf": 'resource "aws_eks_node_group" "this" {\n'
        '  for_each       = { cpu = "m5.large", gpu = "g5.12xlarge" }\n'
        "  instance_types = [each.value]\n  node_group_name = each.key\n}\n"
        'resource "aws_s3_bucket" "b" {\n  for_each = toset(["logs", "data"])\n  bucket = each.value\n}\n',
    }
    found = evaluate(files)
    assert found['aws_eks_node_group.this["gpu"]'].attributes["instance_types"] == ["g5.12xlarge"]
    assert found['aws_eks_node_group.this["cpu"]'].attributes["node_group_name"] == "cpu"
    assert found['aws_s3_bucket.b["logs"]'].attributes["bucket"] == "logs"


def test_module_for_each_prefixes_instance_keys() -> None:
    files = {
        "main.tf": 'module "env" {\n  for_each = toset(["dev", "prod"])\n  source = "./m"\n  name = each.key\n}\n',
        "m/main.tf": 'variable "name" {}\nresource "aws_s3_bucket" "b" {\n  bucket = "b-${var.name}"\n}\n',
    }
    found = evaluate(files)
    assert found['module.env["prod"].aws_s3_bucket.b'].attributes["bucket"] == "b-prod"


def test_dynamic_blocks_expand() -> None:
    files = {
        "main.tf": 'variable "ports" {\n  default = [22, 443]\n}\nresource "aws_security_group" "sg" {\n'
        '  dynamic "ingress" {\n    for_each = var.ports\n    iterator = port\n    content {\n'
        '      from_port   = port.value\n      to_port     = port.value\n      cidr_blocks = ["0.0.0.0/0"]\n'
        "    }\n  }\n}\n",
    }
    ingress = attrs(files, "aws_security_group.sg")["ingress"]
    assert [i["from_port"] for i in ingress] == [22, 443]


def test_conditionals_pick_a_branch() -> None:
    files = {
        "main.tf": 'variable "public" {\n  default = true\n}\nresource "aws_s3_bucket_acl" "a" {\n'
        '  acl = var.public ? "public-read" : "private"\n}\n',
    }
    assert attrs(files, "aws_s3_bucket_acl.a")["acl"] == "public-read"


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ('lookup({a = 1}, "b", 2)', 2),
        ("merge({a = 1, b = 1}, {b = 2})", {"a": 1, "b": 2}),
        ("concat([1], [2, 3])", [1, 2, 3]),
        ('try(local.missing.x, "fallback")', "${local.missing.x}"),  # undeclared: stays unknown
        ('try({a = 1}.b, "fallback")', "fallback"),
        ('coalesce("", "x")', "x"),
        ("tomap({a = 1})", {"a": 1}),
        ('toset(["b", "a", "b"])', ["a", "b"]),
        ("length([1, 2, 3])", 3),
        ('format("%s-%03d", "n", 7)', "n-007"),
        ('jsonencode({Action = "*"})', '{"Action":"*"}'),
        # an unknown part stays visible as its "${...}" text; the known parts can still be read
        ('jsonencode({Resource = [aws_s3_bucket.b.arn, "*"]})', '{"Resource":["${aws_s3_bucket.b.arn}","*"]}'),
        ('jsondecode("{\\"a\\": [1]}")', {"a": [1]}),
        ('cidrsubnet("10.0.0.0/16", 8, 2)', "10.0.2.0/24"),
        ('element(["a", "b"], 3)', "b"),
        ("keys({b = 1, a = 2})", ["a", "b"]),
        ("values({b = 1, a = 2})", [2, 1]),
        ("flatten([[1], [2, [3]]])", [1, 2, 3]),
        ('contains(["a"], "a")', True),
        ('upper("x")', "X"),
        ('lower("X")', "x"),
        ('replace("a-b", "-", "_")', "a_b"),
        ('join(",", ["a", "b"])', "a,b"),
        ('split(",", "a,b")', ["a", "b"]),
        ("[for s in [1, 2, 3] : s * 2 if s > 1]", [4, 6]),
        ("{for k, v in {a = 1} : upper(k) => v}", {"A": 1}),
        ("[{n = 1}, {n = 2}][*].n", [1, 2]),
        ("(\n    1 +\n    2\n  )", 3),
        ("10 / 4", 2.5),
        ('"${1 + 1}x"', "2x"),
    ],
)
def test_functions_and_operators(expression: str, expected: Any) -> None:
    files = {"main.tf": f'resource "null_resource" "r" {{\n  v = {expression}\n}}\n'}
    assert attrs(files, "null_resource.r")["v"] == expected


def test_heredoc_interpolates() -> None:
    files = {
        "main.tf": 'locals {\n  action = "s3:*"\n}\nresource "aws_iam_policy" "p" {\n  policy = <<-EOT\n'
        '    {"Action": "${local.action}"}\n  EOT\n}\n',
    }
    assert attrs(files, "aws_iam_policy.p")["policy"] == '{"Action": "s3:*"}\n'


def test_unknowns_stay_unknown_and_never_become_a_wrong_value() -> None:
    files = {
        "main.tf": 'variable "cidr" {}\ndata "aws_ami" "ubuntu" {\n  most_recent = true\n}\n'
        'resource "aws_instance" "a" {\n  ami = data.aws_ami.ubuntu.id\n  subnet = aws_subnet.x.id\n'
        '  open = var.cidr == "0.0.0.0/0" ? "yes" : "no"\n  cidr = var.cidr\n  fixed = "known"\n}\n',
    }
    resource = attrs(files, "aws_instance.a")
    assert resource["ami"] == "${data.aws_ami.ubuntu.id}"
    assert resource["subnet"] == "${aws_subnet.x.id}"
    assert is_unknown(resource["open"]) and is_unknown(resource["cidr"])
    assert resource["fixed"] == "known" and not is_unknown(resource["fixed"])


def test_module_outputs_flow_into_other_modules() -> None:
    files = {
        "main.tf": 'module "net" {\n  source = "./net"\n}\nmodule "app" {\n  source = "./app"\n'
        "  cidr = module.net.cidr\n}\n",
        "net/main.tf": 'output "cidr" {\n  value = cidrsubnet("10.0.0.0/8", 8, 1)\n}\n',
        "app/main.tf": 'variable "cidr" {}\nresource "aws_security_group_rule" "r" {\n  cidr_blocks = [var.cidr]\n}\n',
    }
    assert attrs(files, "module.app.aws_security_group_rule.r")["cidr_blocks"] == ["10.1.0.0/16"]


def test_inputs_record_file_and_line() -> None:
    files = {
        "variables.tf": 'variable "n" {\n  default = 1\n}\n',
        "terraform.tfvars": "# sizes\nn = 4\n",
        "main.tf": 'resource "aws_autoscaling_group" "g" {\n  max_size = var.n\n  name = "g"\n}\n',
    }
    [site] = evaluate(files)["aws_autoscaling_group.g"].inputs
    assert (site.name, site.path, site.line, site.attrs) == ("var.n", "terraform.tfvars", 2, ("max_size",))


def test_reference_cycles_and_runaway_counts_do_not_hang() -> None:
    files = {
        "main.tf": 'locals {\n  a = local.b\n  b = local.a\n}\nresource "null_resource" "r" {\n  v = local.a\n}\n'
        'resource "null_resource" "many" {\n  count = 100000\n}\n',
    }
    found = evaluate(files)
    assert is_unknown(found["null_resource.r"].attributes["v"])
    assert len([a for a in found if a.startswith("null_resource.many")]) == 1000


def test_terraform_json_syntax() -> None:
    files = {
        "main.tf.json": '{\n  "variable": {"env": {"default": "dev"}},\n  "resource": {\n'
        '    "aws_s3_bucket": {"b": {"bucket": "logs-${var.env}", "tags": {"a": "b"}}}\n  }\n}\n',
    }
    found = evaluate(files)
    bucket = found["aws_s3_bucket.b"]
    assert bucket.attributes == {"bucket": "logs-dev", "tags": {"a": "b"}}
    assert bucket.location.start_line == 4


def test_override_files_merge_attribute_by_attribute() -> None:
    files = {
        "main.tf": 'resource "aws_db_instance" "db" {\n  engine = "postgres"\n  publicly_accessible = false\n'
        "  lifecycle {\n    prevent_destroy = true\n  }\n}\n",
        "override.tf": 'resource "aws_db_instance" "db" {\n  publicly_accessible = true\n}\n',
        "z_override.tf.json": '{"resource": {"aws_db_instance": {"db": {"lifecycle": {"prevent_destroy": false}}}}}',
    }
    db = attrs(files, "aws_db_instance.db")
    assert db == {"engine": "postgres", "publicly_accessible": True, "lifecycle": [{"prevent_destroy": False}]}


def test_crlf_nul_in_comments_and_odd_bytes_are_read() -> None:
    text = b'resource "aws_s3_bucket" "b" {\r\n  # odd \x00 bytes \xff here\r\n  bucket = "x"\r\n}\r\n'
    [parsed] = parsed_files({"main.tf": text})
    evaluate_terraform([parsed])
    assert not parsed.issues
    [bucket] = parsed.resources
    assert bucket.attributes == {"bucket": "x"}
    assert (bucket.location.start_line, bucket.location.end_line) == (1, 4)


def test_one_malformed_block_keeps_the_good_ones() -> None:
    text = (
        'resource "aws_s3_bucket" "good" {\n  bucket = "a"\n}\n\n'
        'resource "aws_s3_bucket" "bad" {\n  bucket = = "b"\n}\n\n'
        'resource "aws_s3_bucket" "also_good" {\n  bucket = "c"\n}\n'
    )
    [parsed] = parsed_files({"main.tf": text})
    evaluate_terraform([parsed])
    assert [i.line for i in parsed.issues] == [6]
    assert sorted(r.address for r in parsed.resources) == ["aws_s3_bucket.also_good", "aws_s3_bucket.good"]


def test_a_single_file_preview_evaluates_on_its_own() -> None:
    from agentctl.sources.loader import parse_source

    source = SourceFile(
        "main.tf",
        FileKind.TERRAFORM,
        b'locals {\n  t = "g5.xlarge"\n}\nresource "aws_instance" "a" {\n  instance_type = local.t\n}\n',
    )
    [resource] = parse_source(source).resources
    assert resource.attributes == {"instance_type": "g5.xlarge"}


def test_edge_case_fixtures_read_as_terraform_reads_them() -> None:
    """The files of tests/fixtures/terraform/edge (terraform fmt accepts all but the malformed one)."""
    from tests.conftest import REPO_ROOT

    edge = REPO_ROOT / "tests" / "fixtures" / "terraform" / "edge"
    assert b"\r\n" in (edge / "crlf.tf").read_bytes()  # a checkout must not normalise what is tested
    assert b"\x00" in (edge / "odd-bytes.tf").read_bytes() and b"\xff" in (edge / "odd-bytes.tf").read_bytes()
    parsed = parsed_files({f"edge/{p.name}": p.read_bytes() for p in sorted(edge.iterdir())})
    evaluate_terraform(parsed)
    issues = [(i.path, i.line) for p in parsed for i in p.issues]
    assert issues == [("edge/malformed-block.tf", 6)]
    found = {r.address: r for p in parsed for r in p.resources}
    assert found["aws_s3_bucket.crlf"].attributes == {"bucket": "crlf"}
    assert found["aws_s3_bucket.odd"].attributes == {"bucket": "odd"}
    assert found["aws_autoscaling_group.parens"].attributes == {"max_size": 7, "min_size": 2}
    assert found["aws_s3_bucket.json"].attributes == {"bucket": "json-6"}
    assert {"aws_s3_bucket.before_bad", "aws_s3_bucket.after_bad"} <= set(found)
    assert "aws_s3_bucket.bad" not in found


def test_the_evaluation_cache_follows_every_input_file(tmp_path: Any) -> None:
    cache = ParseCache(tmp_path)
    main = SourceFile(
        "main.tf", FileKind.TERRAFORM, b'variable "n" {}\nresource "null_resource" "r" {\n  n = var.n\n}\n'
    )

    def value(tfvars: bytes) -> Any:
        parsed = parse_all([main, SourceFile("terraform.tfvars", FileKind.TERRAFORM, tfvars)], cache)
        evaluate_terraform(parsed, (), cache)
        return parsed[0].resources[0].attributes["n"]

    assert value(b"n = 1\n") == 1
    assert value(b"n = 2\n") == 2  # only the tfvars changed: a new evaluation, not the cached one
    assert value(b"n = 1\n") == 1
    assert len(list(tmp_path.glob("eval-*.json"))) == 2


def test_hostile_expressions_stay_bounded() -> None:
    doubling = "".join(f'  s{i} = "${{local.s{i - 1}}}${{local.s{i - 1}}}"\n' for i in range(1, 64))
    lists = "".join(f"  l{i} = concat(local.l{i - 1}, local.l{i - 1})\n" for i in range(1, 64))
    files = {
        "main.tf": f'locals {{\n  s0 = "ab"\n{doubling}  l0 = [1]\n{lists}}}\n'
        'resource "null_resource" "r" {\n  s = local.s63\n  l = local.l63\n'
        '  f = format("%0999999999d", 1)\n  p = pow(10, 100000)\n  r = regexall("(a+)+$", "${local.s20}b")\n}\n',
    }
    resource = attrs(files, "null_resource.r")
    assert all(is_unknown(resource[k]) for k in ("s", "l", "p", "r")), resource
    assert len(str(resource["f"])) < 100


def test_a_damaged_evaluation_cache_entry_is_evaluated_afresh(tmp_path: Any) -> None:
    cache = ParseCache(tmp_path)
    source = SourceFile("main.tf", FileKind.TERRAFORM, b'resource "aws_s3_bucket" "b" {\n  bucket = "x"\n}\n')
    parsed = parse_all([source], cache)
    evaluate_terraform(parsed, (), cache)
    [entry] = tmp_path.glob("eval-*.json")
    entry.write_text('{"resources": [{"key": "k", "origin": "hcl"}], "notes": []}')
    again = parse_all([source], cache)
    evaluate_terraform(again, (), cache)
    assert [r.attributes for r in again[0].resources] == [{"bucket": "x"}]


def test_the_fast_cache_form_of_a_resource_is_exactly_its_json_dump() -> None:
    from agentctl.sources import terraform
    from agentctl.sources.evaluation import _raw, _resource

    text = (
        'variable "n" {\n  default = 2\n}\n# agentctl:ignore=aws-x reason="ok"\nresource "aws_instance" "a" {\n'
        "  count = var.n\n  tags  = { a = [1, 2.5, true, null] }\n}\nmoved {\n  from = aws_instance.b\n"
        "  to   = aws_instance.a\n}\n"
    )
    resources = terraform.parse("m/main.tf", text).resources
    assert resources and all(r.suppressions and r.inputs and r.moved_from for r in resources)
    for resource in resources:
        assert _raw(resource) == resource.model_dump(mode="json")
        assert _resource(_raw(resource)) == resource
