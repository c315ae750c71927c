"""Frame-level heads: the second head kind beside the per-segment classification heads.

A frame head reads an encoder's frame sequence ``[B, T, D]`` with its mask ``[B, T]`` and returns one value
per frame and output, ``[B, T, K]`` (logits; :func:`~chroma.frame_heads.base.frame_probabilities` turns them
into probabilities in ``[0, 1]``). Head kinds are plugins of kind ``frame_head`` (``PluginSpec(kind=
"frame_head", factory=...)`` with ``factory(config, input_dim) -> FrameHead``), selected by name in
``model.frame_heads``.

* :mod:`chroma.frame_heads.base` -- :class:`~chroma.frame_heads.base.FrameHead`, the base class every kind
  subclasses, :class:`~chroma.frame_heads.base.FrameTiming` and :func:`~chroma.frame_heads.base.frame_timing`
  (the frame rate an encoder declares);
* :mod:`chroma.frame_heads.config` -- the first-party kinds' config models (no torch);
* :mod:`chroma.frame_heads.conv` -- the first-party kinds ``boundary``, ``energy`` and ``event``.

This package module imports nothing, so the light config models load without torch.
"""
