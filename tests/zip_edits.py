"""Editing a saved zip archive (.neurona, .keras) in tests: its config.json rewritten, every other member kept."""

import json
import zipfile


def rewrite_config(path, edit) -> None:
    """Apply `edit` (a function changing the parsed dict in place) to the archive's config.json."""
    with zipfile.ZipFile(path) as z:
        members = {n: z.read(n) for n in z.namelist()}
    config = json.loads(members["config.json"])
    edit(config)
    members["config.json"] = json.dumps(config).encode()
    with zipfile.ZipFile(path, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
