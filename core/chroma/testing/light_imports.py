"""Whether a plugin's light modules import torch, measured in a fresh interpreter with ``sys.modules``.

``chroma plugins`` imports every plugin's entry-point module (its ``plugin.py``) and the config model's
module; one that imports torch makes that listing take seconds for everyone who has the plugin installed.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys

#: Packages a light module must not bring in.
HEAVY_PACKAGES = ("torch",)

_PROBE = """
import importlib, json, sys
heavy = sys.argv[1].split(",")
found = None
for name in sys.argv[2:]:
    importlib.import_module(name)
    loaded = [h for h in heavy if h in sys.modules]
    if loaded:
        found = [name, loaded[0]]
        break
print(json.dumps(found))
"""


@functools.cache
def first_heavy_import(modules: tuple[str, ...]) -> tuple[str, str] | None:
    """``(module, package)``: the first of ``modules`` whose import (in that order) loads a heavy package.

    Raises:
        AssertionError: a module cannot be imported in a fresh interpreter (with this one's ``sys.path``).
    """
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    probe = [sys.executable, "-c", _PROBE, ",".join(HEAVY_PACKAGES), *modules]
    result = subprocess.run(probe, capture_output=True, text=True, env=env, timeout=300)
    if result.returncode != 0:
        tail = "\n".join(result.stderr.strip().splitlines()[-5:])
        raise AssertionError(f"importing {', '.join(modules)} in a fresh interpreter failed:\n{tail}")
    found = json.loads(result.stdout.strip().splitlines()[-1])
    return None if found is None else (str(found[0]), str(found[1]))
