"""What the contract kit checks: one buildable plugin with small test options.

A :class:`ContractTarget` is made from a registry name, a
:class:`~chroma.plugins.PluginSpec`, a registry record, or directly from a
third party's :class:`~chroma.contracts.FusionModule` / :class:`~chroma.contracts.Encoder`
subclass or factory (see :func:`as_targets`).
"""

from __future__ import annotations

import atexit
import functools
import inspect
import shutil
import tempfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import torch
from torch import nn

from chroma.capabilities import Capabilities, capabilities_type
from chroma.contracts import Encoder, FusionDims, FusionModule
from chroma.frame_heads.base import FrameHead
from chroma.plugins.spec import PLUGIN_KINDS, PluginConfig, PluginSpec, import_object

__all__ = ["ContractTarget", "SkipCheck", "as_targets", "target_from_spec"]

#: Small widths the kit builds fusions with (fast, and unequal so mix-ups show).
SMALL_INPUT_DIMS: dict[str, int] = {"text": 12, "audio": 8, "midi": 10}
SMALL_SEQUENCE_DIMS: dict[str, int] = {"text": 6, "audio": 8, "midi": 5}
SMALL_HIDDEN_DIM = 16
#: Width of the sequences the kit builds frame heads for.
SMALL_FRAME_DIM = 6


class SkipCheck(Exception):
    """Raised by a check that does not apply to its target (reported as skipped)."""


@dataclass(frozen=True)
class ContractTarget:
    """A plugin the kit can build fresh instances of.

    Attributes:
        name: plugin name, used in test ids.
        kind: one of :data:`chroma.plugins.PLUGIN_KINDS` (``None`` allowed only with ``load_error``).
        factory: encoders: ``factory(config) -> Encoder``; fusions: ``factory(config, dims) -> FusionModule``;
            frame heads: ``factory(config, input_dim) -> FrameHead``.
        config_model: the plugin's config model.
        options: small config options to build with (e.g. the spec's ``test_config`` capability).
        capabilities: the spec's typed capabilities (kit settings; ``pretrained``). Which checks run
            also depends on the built module (``returns_sequence``, ``uses_sequences``), see :meth:`module_flag`.
        input_dims: fusion input widths.
        hidden_dim: fusion output width.
        sequence_dims: fusion sequence widths (used when ``uses_sequences``).
        load_error: why the plugin could not be loaded (only a loading check runs then).
        distribution: the distribution providing it (registry targets; ``None`` for classes), shown in
            test ids and messages when several distributions provide one name.
        light_modules: modules that must import without torch (the entry-point module ``chroma plugins``
            imports, and the config model's module); the loading check imports them in a fresh interpreter.
    """

    name: str
    kind: str | None
    factory: Callable[..., nn.Module] | None
    config_model: type[PluginConfig] = PluginConfig
    options: Mapping[str, Any] = field(default_factory=dict)
    capabilities: Capabilities | None = None
    input_dims: Mapping[str, int] = field(default_factory=lambda: dict(SMALL_INPUT_DIMS))
    hidden_dim: int = SMALL_HIDDEN_DIM
    sequence_dims: Mapping[str, int] = field(default_factory=lambda: dict(SMALL_SEQUENCE_DIMS))
    load_error: str | None = None
    distribution: str | None = None
    light_modules: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in PLUGIN_KINDS and self.load_error is None:
            raise ValueError(f"contract target {self.name!r}: kind {self.kind!r} is not one of {PLUGIN_KINDS}")
        if self.capabilities is None:
            object.__setattr__(self, "capabilities", capabilities_type(self.kind or "")())

    def __repr__(self) -> str:  # shown in pytest ids and failure messages
        source = f" from {self.distribution}" if self.distribution else ""
        return f"<{self.kind or 'unloaded'} plugin {self.name!r}{source}>"

    @property
    def selector(self) -> str:
        """``kind:name@distribution`` (what :func:`as_targets` accepts to pick this one provider)."""
        return f"{self.kind}:{self.name}" + (f"@{self.distribution}" if self.distribution else "")

    @property
    def is_fusion(self) -> bool:
        return self.kind == "fusion"

    def capability(self, key: str, default: Any = False) -> Any:
        """A typed capability's value (``default`` when the kind has no such field or it is unset)."""
        value = getattr(self.capabilities, key, None)
        return default if value is None else value

    def module_flag(self, attribute: str) -> bool:
        """``attribute`` of a freshly built module (``False`` when it cannot be built: the load check reports that)."""
        try:
            return bool(getattr(self.build(), attribute, False))
        except Exception:
            return False

    def config(self, options: Mapping[str, Any] | None = None) -> PluginConfig:
        """The validated config for ``options`` (default: the target's small options)."""
        return self.config_model.model_validate(dict(self.options if options is None else options))

    def with_options(self, **options: Any) -> ContractTarget:
        """A copy building with ``options`` merged over the current ones."""
        return replace(self, options={**self.options, **options})

    def build(
        self,
        *,
        seed: int = 0,
        config: PluginConfig | None = None,
        missing: str = "learned_null",
    ) -> nn.Module:
        """A fresh module initialised from ``seed`` (global RNG state is left untouched).

        Args:
            seed: torch seed for parameter initialisation.
            config: config to build with (default: :meth:`config`).
            missing: fusion missing-modality strategy.
        """
        if self.factory is None:
            raise SkipCheck(f"{self!r} did not load: {self.load_error}")
        cfg = self.config() if config is None else config
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            if self.is_fusion:
                dims = FusionDims(dict(self.input_dims), self.hidden_dim, dict(self.sequence_dims), missing)
                module = self.factory(cfg, dims)
            elif self.kind == "frame_head":
                module = self.factory(cfg, SMALL_FRAME_DIM)
            else:
                module = self.factory(cfg)
        expected = FusionModule if self.is_fusion else FrameHead if self.kind == "frame_head" else Encoder
        if not isinstance(module, expected):
            raise AssertionError(
                f"{self!r}: factory returned {type(module).__name__}, not a {expected.__name__} subclass"
            )
        return module.eval()


@functools.cache
def fixture_options(fixture: str) -> dict[str, Any]:
    """Options from a ``test_fixture`` capability, made once per process.

    The fixture ``fn(directory) -> options`` may write files (a tiny random-init
    checkpoint) into a fresh temporary directory, removed when the process exits.
    """
    directory = tempfile.mkdtemp(prefix="chroma-kit-")
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    return dict(import_object(fixture)(directory))


def _spec_test_options(spec: PluginSpec) -> dict[str, Any]:
    """The spec's ``test_fixture`` options, else its ``test_config``, else none."""
    caps = spec.kit
    fixture = getattr(caps, "test_fixture", None)
    if fixture:
        return fixture_options(fixture)
    return dict(caps.test_config)


def target_from_spec(
    spec: PluginSpec,
    options: Mapping[str, Any] | None = None,
    *,
    distribution: str | None = None,
    entry_point: str | None = None,
) -> ContractTarget:
    """Target for a spec, built with ``options`` or else its ``test_fixture`` / ``test_config`` capability.

    Args:
        distribution: the providing distribution (default: the installed one whose entry point yields ``spec``).
        entry_point: ``"name = module"`` of its entry point (default: as found with ``distribution``).
    """
    if distribution is None and entry_point is None:
        distribution, entry_point = _installed_provider(spec)
    light = [spec.config_model.__module__]
    if entry_point:
        light.insert(0, entry_point.split(" = ", 1)[-1].split(":", 1)[0])
    try:
        factory = spec.load_factory()
        if spec.kind == "fusion":
            factory = _fusion_factory(factory, spec.api_version)
        test_options = _spec_test_options(spec) if options is None else dict(options)
        error = None
    except Exception as exc:
        factory, test_options = None, {}
        error = f"loading {spec.name!r} ({spec.factory!r}) failed: {type(exc).__name__}: {exc}"
    return ContractTarget(
        name=spec.name,
        kind=spec.kind,
        factory=factory,
        config_model=spec.config_model,
        options=dict(test_options),
        capabilities=spec.kit,
        load_error=error,
        distribution=distribution,
        light_modules=tuple(dict.fromkeys(light)),
    )


def _installed_provider(spec: PluginSpec) -> tuple[str | None, str | None]:
    """``(distribution, entry point)`` of the installed plugin whose entry point yields ``spec``, if one does."""
    from chroma.plugins.errors import PluginError
    from chroma.plugins.registry import get_registry

    try:
        records = get_registry().records(spec.kind)
    except PluginError:  # strict mode and another plugin is broken: that one's own check reports it
        return None, None
    for record in records:
        if record.spec is not None and record.spec == spec:
            return record.distribution, record.entry_point
    return None, None


def _fusion_factory(factory: Callable[..., nn.Module], api_version: int | None) -> Callable[..., nn.Module]:
    """``factory(config, dims)`` for a fusion factory of any supported API version."""
    from chroma.plugins.registry import build_fusion_module

    def build(config: PluginConfig, dims: FusionDims) -> nn.Module:
        return build_fusion_module(factory, config, dims, api_version)

    return build


def _wants_config(cls: type) -> bool:
    params = list(inspect.signature(cls).parameters)
    return bool(params) and params[0] == "config"


def _target_from_class(cls: type, config: PluginConfig | None) -> ContractTarget:
    """Wrap a FusionModule/Encoder subclass (constructor with or without a leading ``config``)."""
    config_model = type(config) if config is not None else PluginConfig
    options = config.model_dump() if config is not None else {}
    takes_config = _wants_config(cls)

    if issubclass(cls, FusionModule):

        def build_fusion(cfg: PluginConfig, dims: FusionDims) -> nn.Module:
            build: Any = cls
            return build(cfg, dims) if takes_config else build(dims)

        return ContractTarget(
            name=getattr(cls, "name", cls.__name__),
            kind="fusion",
            factory=build_fusion,
            config_model=config_model,
            options=options,
        )
    if issubclass(cls, Encoder):

        def build_encoder(cfg: PluginConfig) -> nn.Module:
            return cls(cfg) if takes_config else cls()

        return ContractTarget(
            name=getattr(cls, "name", cls.__name__),
            kind=f"{cls.modality}_encoder",
            factory=build_encoder,
            config_model=config_model,
            options=options,
        )
    if issubclass(cls, FrameHead):

        def build_head(cfg: PluginConfig, input_dim: int) -> nn.Module:
            build: Any = cls
            return build(cfg, input_dim) if takes_config else build(input_dim)

        return ContractTarget(
            name=getattr(cls, "name", cls.__name__),
            kind="frame_head",
            factory=build_head,
            config_model=config_model,
            options=options,
        )
    raise TypeError(f"{cls.__name__} is neither a chroma FusionModule, Encoder nor FrameHead subclass")


def _targets_from_registry(selector: str) -> list[ContractTarget]:
    """Targets for ``"installed"`` or ``"[kind:]name[@distribution]"``."""
    from chroma.plugins.registry import get_registry, normalize_distribution

    records = get_registry().records()
    if selector != "installed":
        plugin, _, distribution = selector.partition("@")
        kind, _, name = plugin.rpartition(":")
        records = [
            r
            for r in records
            if r.name == name
            and (not kind or r.kind == kind)
            and (not distribution or r.distribution == normalize_distribution(distribution))
        ]
        if not records:
            raise ValueError(f"chroma.testing: no installed plugin {selector!r} (as [kind:]name[@distribution])")
    return [_target_from_record(r) for r in records if r.status != "disabled"]


def _target_from_record(record: Any) -> ContractTarget:
    """Target for a registry record; a record that failed to load keeps only its error."""
    distribution = getattr(record, "distribution", None)
    if record.status == "active":
        entry_point = getattr(record, "entry_point", None)
        return target_from_spec(record.spec, distribution=distribution, entry_point=entry_point)
    return ContractTarget(
        name=record.name,
        kind=record.kind,
        factory=None,
        load_error=f"registry status {record.status!r}: {record.error}",
        distribution=distribution,
    )


def as_targets(plugins: Any) -> list[ContractTarget]:
    """Normalise what :func:`~chroma.testing.parametrize_with_contract` accepts.

    Args:
        plugins: ``"installed"`` (every registry plugin), or an iterable of:
            registry names (``"late"``, ``"fusion:late"``, or ``"fusion:late@chroma-fusion-late"`` for one
            provider of a name several distributions provide), :class:`PluginSpec`,
            registry records (anything with a ``.spec``), :class:`ContractTarget`,
            FusionModule/Encoder subclasses, or ``(subclass, config)`` pairs.
    """
    if isinstance(plugins, str):
        return _targets_from_registry(plugins)
    items: Iterable[Any] = plugins
    targets: list[ContractTarget] = []
    for item in items:
        if isinstance(item, ContractTarget):
            targets.append(item)
        elif isinstance(item, PluginSpec):
            targets.append(target_from_spec(item))
        elif isinstance(item, str):
            targets.extend(_targets_from_registry(item))
        elif isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], type):
            targets.append(_target_from_class(item[0], item[1]))
        elif isinstance(item, type):
            targets.append(_target_from_class(item, None))
        elif hasattr(item, "status") and hasattr(item, "spec"):
            targets.append(_target_from_record(item))
        else:
            raise TypeError(f"chroma.testing: cannot check {item!r}; pass a spec, name, target or plugin class")
    return targets
