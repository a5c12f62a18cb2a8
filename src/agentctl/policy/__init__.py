"""Policy files: loading, strict validation with file/line errors, and the built-in pack."""
