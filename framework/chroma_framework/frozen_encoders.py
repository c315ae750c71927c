"""Rebuild the frozen encoder behind a modality's precomputed embeddings and check it against their fingerprint.

One check serves three places: ``chroma train`` (the embeddings file against the encoders the config builds
now), ``chroma evaluate`` (the file against the run) and scoring (the rebuilt encoders against the run). A
random-init encoder is identified by its saved weights (``<embeddings_path>.encoders/`` for a file,
``RUN/encoders/`` for a run), never re-derived from a seed. A mismatch names its cause: another plugin, a
changed plugin version, random-init weights that were not saved, or changed weights / options.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import torch

from chroma.capabilities import is_random_init
from chroma.contracts import Encoder
from chroma.errors import ConfigError
from chroma.plugins.errors import PluginError
from chroma.plugins.registry import PluginRegistry
from chroma_framework.config.model import EncoderSection
from chroma_framework.config.schema import ChromaConfig
from chroma_framework.data.fingerprints import (
    COLUMN_ENCODER,
    column_fingerprint,
    encoder_identity,
    frozen_sections,
    identity_of,
    with_data_identity,
)
from chroma_framework.data.paths import resolve
from chroma_framework.data.precompute import frozen_weights_path
from chroma_framework.encoder_weights import EncoderWeightsError, load_encoder_weights

logger = logging.getLogger(__name__)


class EmbeddingsMismatchError(ConfigError):
    """An embeddings file's fingerprint differs from the run's or from the config's encoder."""


@dataclass
class RebuiltEncoder:
    """A frozen encoder built from its config section (with saved random-init weights loaded, if any).

    Attributes:
        encoder: the encoder, in eval mode.
        identity: :func:`~chroma_framework.data.fingerprints.encoder_identity` of it now (the embeddings'
            fingerprint less their data identity, which scoring does not need).
        distribution: the distribution that provided it.
        weights_loaded: whether saved random-init weights were loaded into it.
        weights_error: why the saved weights could not be loaded (they do not fit the encoder), if so.
    """

    encoder: Encoder
    identity: str
    distribution: str
    weights_loaded: bool
    weights_error: str | None = None


def rebuild_encoder(
    config: ChromaConfig,
    modality: str,
    registry: PluginRegistry,
    saved_weights: Path,
    provider: str | None = None,
) -> RebuiltEncoder:
    """Build ``model.<modality>_encoder`` as precompute does, loading ``saved_weights`` when that file exists.

    Args:
        provider: distribution to take the plugin from (default: the section's ``provider``). The
            identity is computed with the section as configured, so pinning does not change it.

    Raises:
        chroma.plugins.errors.PluginError: the plugin cannot be selected or built.
    """
    section = frozen_sections(config)[modality]
    kind = f"{modality}_encoder"
    provider = provider or section.provider
    torch.manual_seed(config.training.seed)  # as precompute seeds it (only an unsaved random init depends on it)
    encoder = registry.build_encoder(kind, section.type, section.plugin_options(), provider)
    error = None
    if saved_weights.is_file():
        try:
            load_encoder_weights(saved_weights, encoder)
        except EncoderWeightsError as exc:
            error = str(exc)
    encoder.eval()
    distribution = registry.get(kind, section.type, provider).distribution
    identity = encoder_identity(encoder, section, config, modality)
    return RebuiltEncoder(encoder, identity, distribution, saved_weights.is_file() and error is None, error)


def _version_of(fingerprint: str, plugin: str) -> str | None:
    """The plugin version inside a ``<plugin>-<version>-<hash>`` fingerprint, ``None`` for another plugin's."""
    if not fingerprint.startswith(f"{plugin}-"):
        return None
    return fingerprint[len(plugin) + 1 :].rsplit("-", 1)[0]


def mismatch_cause(
    rebuilt: RebuiltEncoder, section: EncoderSection, expected: str, saved_weights: Path, saved_with: str
) -> str:
    """Why ``rebuilt`` does not produce the embeddings fingerprinted ``expected``, in words.

    Args:
        saved_with: where random-init weights should have been saved (``"the run"``, ``"the embeddings"``).
    """
    identity = identity_of(expected)
    if identity == rebuilt.identity:
        return (
            "the encoder is the same but the data it was fed differs (data.transcribed_midi's settings or cache, or "
            "which rows take transcribed MIDI: the split, data.split or training.seed)"
        )
    then = _version_of(identity, section.type)
    now = str(getattr(rebuilt.encoder, "version", "0"))
    if then is None:
        return f"they came from another encoder plugin ({identity.rsplit('-', 2)[0]!r}), not {section.type!r}"
    if then != now:
        return (
            f"the plugin version changed: {section.type!r} {then} produced them, {rebuilt.distribution} now "
            f"builds version {now}"
        )
    if rebuilt.weights_error is not None:
        return f"the random-init weights they were computed with do not fit the encoder now ({rebuilt.weights_error})"
    random_init = is_random_init(rebuilt.encoder)
    if random_init and not rebuilt.weights_loaded:
        return (
            f"the encoder is random-init and its frozen weights were not saved with {saved_with} "
            f"({saved_weights} does not exist), so they cannot be rebuilt"
        )
    if random_init:
        return (
            f"the saved random-init weights were loaded, so the plugin's options, the preprocessing settings "
            f"or its code ({type(rebuilt.encoder).__qualname__}, same version {now}) differ"
        )
    return (
        f"its weights changed (fingerprint_extra now {rebuilt.encoder.fingerprint_extra()!r}) or its options / "
        "preprocessing settings differ"
    )


def check_config_embeddings(
    config: ChromaConfig,
    fingerprints: Mapping[str, str],
    registry: PluginRegistry,
    embeddings_path: Path,
    config_path: str | None = None,
) -> None:
    """Fail when a modality of the embeddings file was not produced by the encoder the config builds now.

    Modalities with no frozen encoder section (and no lyric-vector column) are not checked: nothing in the
    config says what produced them. One whose plugin cannot be built here (not installed, disabled) is
    not checked either, with a warning: training reads the vectors only.

    Args:
        fingerprints: ``{modality: fingerprint}`` the file holds for the modalities the run reads.
        config_path: the config's file, named in the fix (``CONFIG`` when unknown).

    Raises:
        EmbeddingsMismatchError: naming the modality, both fingerprints, the cause and the fix.
    """
    sections = frozen_sections(config)
    fix = (
        f"run `chroma precompute {config_path or 'CONFIG'}` to recompute them (add --force to recompute "
        "every modality), or point data.embeddings_path at the file precomputed for this config"
    )
    for modality, found in sorted(fingerprints.items()):
        if modality in sections:
            saved = frozen_weights_path(config, modality, found)
            try:
                rebuilt = rebuild_encoder(config, modality, registry, saved)
            except PluginError as exc:  # e.g. precomputed elsewhere: training needs the vectors, not the plugin
                logger.warning(
                    "the %s embeddings in %s are not checked against model.%s_encoder, which cannot be built "
                    "here (%s); scoring raw %s with the run will need it",
                    modality,
                    embeddings_path,
                    modality,
                    exc,
                    modality,
                )
                continue
            now = with_data_identity(rebuilt.identity, config, modality)
            if now == found:
                continue
            cause = mismatch_cause(rebuilt, sections[modality], found, saved, "the embeddings")
            built = f"model.{modality}_encoder ({sections[modality].type!r}) builds {now}"
        elif modality == "text" and found.startswith(f"{COLUMN_ENCODER}-") and config.data.columns.lyric_embedding:
            now = column_fingerprint(config)
            if now == found:
                continue
            cause = "data.columns.lyric_embedding or the data.text settings differ from the precomputed ones"
            built = f"the config's lyric-vector column gives {now}"
        else:
            continue
        raise EmbeddingsMismatchError(
            f"the {modality} embeddings in {embeddings_path} are {found}, but {built}: {cause}; {fix}"
        )


def check_training_embeddings(
    config: ChromaConfig,
    fingerprints: Mapping[str, str],
    registry: PluginRegistry,
    config_path: str | None = None,
    resumed_run: tuple[Path, Mapping[str, str]] | None = None,
) -> None:
    """What ``chroma train`` checks before training on the embeddings file (a no-op when it reads none).

    The file must match the encoders ``config`` builds now (:func:`check_config_embeddings`) and, for
    ``resumed_run`` (``(run directory, fingerprints its run.json records)``), the embeddings that run was
    trained on so far (:func:`check_run_embeddings`).
    """
    if not fingerprints:
        return
    embeddings_path = resolve(config.data, config.data.embeddings_path)
    if resumed_run is not None:
        check_run_embeddings(resumed_run[0], resumed_run[1], fingerprints, embeddings_path)
    check_config_embeddings(
        config, fingerprints, registry.with_disabled(config.plugins.disable), embeddings_path, config_path
    )


def check_run_embeddings(
    run_path: Path, recorded: Mapping[str, str], found: Mapping[str, str], embeddings_path: Path
) -> None:
    """Fail when the embeddings file's fingerprints differ from those run ``run_path`` was trained on.

    Raises:
        EmbeddingsMismatchError: naming the modality, both fingerprints and the fix.
    """
    for modality, expected in sorted(recorded.items()):
        now = found.get(modality)
        if now is None or now == expected:
            continue
        raise EmbeddingsMismatchError(
            f"the {modality} embeddings in {embeddings_path} are {now}, but run {run_path} was trained on {expected}: "
            f"the file was precomputed again since (another config, seed or encoder). Re-create the run's "
            f"embeddings with `chroma precompute CONFIG` from the config they were precomputed with (the run's "
            f"is {run_path / 'config.yaml'}), or give each config its own data.embeddings_path"
        )


__all__ = [
    "EmbeddingsMismatchError",
    "RebuiltEncoder",
    "check_config_embeddings",
    "check_run_embeddings",
    "check_training_embeddings",
    "mismatch_cause",
    "rebuild_encoder",
]
