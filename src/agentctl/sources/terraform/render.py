"""HCL text for an expression node of ``hcl``'s syntax tree.

Used to show what stayed unknown after evaluation (``"${data.aws_ami.x.id}"``).
"""

from __future__ import annotations

from typing import Any


def render(node: Any) -> str:
    """HCL text for an expression node (used to show what stayed unknown)."""
    tag = node[0]
    if tag == "lit":
        value = node[1]
        if isinstance(value, str):
            return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
        return "null" if value is None else ("true" if value is True else "false" if value is False else str(value))
    if tag == "tpl":
        inner = "".join(p if isinstance(p, str) else p[4] if p[0] == "dir" else "${" + render(p) + "}" for p in node[1])
        return '"' + inner.replace('"', '\\"').replace("\n", "\\n") + '"'
    if tag == "ref":
        return str(node[1])
    if tag == "it":
        return ""
    if tag == "get":
        return f"{render(node[1])}.{node[2]}"
    if tag == "idx":
        return f"{render(node[1])}[{render(node[2])}]"
    if tag == "splat":
        return f"{render(node[1])}[*]{render(node[2])}"
    if tag == "call":
        return f"{node[1]}({', '.join(render(a) for a in node[2])}{'...' if node[3] else ''})"
    if tag == "tuple":
        return "[" + ", ".join(render(i) for i in node[1]) + "]"
    if tag == "object":
        return "{" + ", ".join(f"{render(k)} = {render(v)}" for k, v in node[1]) + "}"
    if tag == "cond":
        return f"{render(node[1])} ? {render(node[2])} : {render(node[3])}"
    if tag == "bin":
        return f"{render(node[2])} {node[1]} {render(node[3])}"
    if tag == "not":
        return "!" + render(node[1])
    if tag == "neg":
        return "-" + render(node[1])
    if tag == "paren":
        return f"({render(node[1])})"
    if tag == "for":
        _, key_var, value_var, coll, key, value, cond, group = node
        head = f"for {key_var + ', ' if key_var else ''}{value_var} in {render(coll)} : "
        tail = (" if " + render(cond)) if cond is not None else ""
        if key is not None:
            return "{" + head + f"{render(key)} => {render(value)}{'...' if group else ''}{tail}" + "}"
        return "[" + head + render(value) + tail + "]"
    if tag == "unknown":
        return str(node[1])
    return "?"
