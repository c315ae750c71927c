"""Plugin discovery, selection and building.

Discovery (:meth:`PluginRegistry.discover`) finds the entry points of the ``chroma``
group; each is imported the first time a listing or a selection needs it, one at a time,
so one broken plugin is recorded as an ``error`` instead of taking the tool down
(``CHROMA_STRICT_PLUGINS=1`` raises it instead, from whichever listing or selection
meets it first). An entry point whose distribution (or entry-point name) is disabled, by
``CHROMA_DISABLE_PLUGINS`` or by the config's ``plugins.disable`` on the view
:meth:`PluginRegistry.with_disabled` returns, is never imported: it is listed as
``disabled``, even when importing it would fail.
Each loaded module is registered with a pluggy ``PluginManager`` and its
``chroma_plugins`` hook is called; every returned :class:`PluginSpec` becomes a
:class:`PluginRecord` carrying the providing distribution and version.

Listing imports only the light entry-point modules (never torch): factories are
imported by :meth:`PluginRegistry.build_encoder` / :meth:`PluginRegistry.build_fusion` /
:meth:`PluginRegistry.build_frame_head`.

Status of a record:

* ``active`` -- selectable;
* ``disabled`` -- named in ``CHROMA_DISABLE_PLUGINS`` (plugin, distribution or entry-point
  names, ``*`` for every external plugin) or in the config's ``plugins.disable``;
* ``incompatible`` -- ``spec.api_version`` is not in :data:`SUPPORTED_API_VERSIONS`;
* ``error`` -- the entry point, its hook or a returned spec failed; ``error`` says why.
"""

from __future__ import annotations

import dataclasses
import difflib
import inspect
import os
import re
import traceback
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points
from typing import TYPE_CHECKING, Any, cast

import pluggy
from pydantic import ValidationError

from chroma.errors import ConfigError, error_lines
from chroma.plugins import hookspecs
from chroma.plugins.errors import (
    PluginConflictError,
    PluginDisabledError,
    PluginIncompatibleError,
    PluginLoadError,
    UnknownPluginError,
)
from chroma.plugins.first_party import FIRST_PARTY_DISTRIBUTIONS, FIRST_PARTY_PLUGINS, install_hint
from chroma.plugins.hookspecs import ENTRY_POINT_GROUP, PROJECT_NAME
from chroma.plugins.spec import CHROMA_API_VERSION, PLUGIN_KINDS, SUPPORTED_API_VERSIONS, PluginConfig, PluginSpec

if TYPE_CHECKING:  # torch-backed types, imported lazily at build time
    from chroma.contracts import Encoder, FusionDims, FusionModule
    from chroma.frame_heads.base import FrameHead

#: Comma-separated plugin or distribution names to disable; ``*`` disables every external plugin.
DISABLE_ENV = "CHROMA_DISABLE_PLUGINS"
#: ``1`` makes a plugin load error raise instead of being recorded.
STRICT_ENV = "CHROMA_STRICT_PLUGINS"
#: Distribution name given to specs registered in-process with :meth:`PluginRegistry.register_spec`.
LOCAL_DISTRIBUTION = "<local>"

STATUSES = ("active", "disabled", "error", "incompatible")


def normalize_distribution(name: str) -> str:
    """PEP 503 normalisation: ``Chroma_Fusion.Late`` -> ``chroma-fusion-late``."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _strict_from_env() -> bool:
    return os.environ.get(STRICT_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def _names_from_env() -> set[str]:
    return {part.strip() for part in os.environ.get(DISABLE_ENV, "").split(",") if part.strip()}


@dataclass(frozen=True)
class PluginRecord:
    """One discovered plugin (or one entry point that failed to load).

    Attributes:
        name: plugin name; for a failed entry point, the entry-point name.
        kind: one of :data:`PLUGIN_KINDS`; ``None`` for a failed entry point.
        distribution: the providing distribution (``"<local>"`` for in-process specs).
        dist_version: that distribution's version.
        status: ``active``, ``disabled``, ``error`` or ``incompatible``.
        error: why the status is not ``active`` (``None`` when active).
        spec: the plugin's spec; ``None`` for a failed entry point.
        entry_point: ``"name = module"`` of the entry point it came from, if any.
    """

    name: str
    kind: str | None
    distribution: str
    dist_version: str
    status: str
    error: str | None = None
    spec: PluginSpec | None = None
    entry_point: str | None = None

    @property
    def provider(self) -> str:
        """``"<distribution> <version>"`` for messages."""
        return f"{self.distribution} {self.dist_version}"

    @property
    def entry_point_name(self) -> str | None:
        """The name part of :attr:`entry_point` (``None`` for in-process specs)."""
        return self.entry_point.split(" = ", 1)[0] if self.entry_point else None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (what ``chroma plugins --json`` prints)."""
        spec = self.spec
        return {
            "name": self.name,
            "kind": self.kind,
            "distribution": self.distribution,
            "version": self.dist_version,
            "status": self.status,
            "error": self.error,
            "api_version": spec.api_version if spec else None,
            "capabilities": _capabilities_dict(spec) if spec else {},
            "description": spec.description if spec else "",
            "entry_point": self.entry_point,
        }


def _entry_point_label(ep: EntryPoint) -> str:
    return f"{ep.name} = {ep.value}"


def _distribution_of(ep: EntryPoint) -> tuple[str, str]:
    dist = getattr(ep, "dist", None)
    # A distribution being installed or removed right now can have its entry points without its METADATA.
    metadata = getattr(dist, "metadata", None) if dist is not None else None
    name = metadata["Name"] if metadata is not None else None
    if dist is None or not name:
        return "<unknown>", "?"
    return normalize_distribution(name), (metadata["Version"] if metadata is not None else None) or "?"


def _load_error_text(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" at {frames[-1].filename}:{frames[-1].lineno}" if frames else ""
    return f"{type(exc).__name__}: {exc}{where}"


@dataclass
class _Shared:
    """What a registry and its :meth:`PluginRegistry.with_disabled` views share.

    Attributes:
        records: loaded plugins and failed entry points.
        pending: entry points not imported yet (loaded by the first view that does not disable them).
        failures: ``{entry point label: exception}`` of the failed ones (re-raised in strict mode).
        strict: raise load errors (``None``: read ``CHROMA_STRICT_PLUGINS`` when one is met).
    """

    records: list[PluginRecord]
    pending: list[EntryPoint] = field(default_factory=list)
    failures: dict[str, BaseException] = field(default_factory=dict)
    strict: bool | None = None
    pm: pluggy.PluginManager = field(default_factory=lambda: _plugin_manager())


def _plugin_manager() -> pluggy.PluginManager:
    pm = pluggy.PluginManager(PROJECT_NAME)
    pm.add_hookspecs(hookspecs)
    return pm


class PluginRegistry:
    """The installed plugins, with selection and building.

    Args:
        records: initial records (``discover()`` finds entry points to load as they are needed).
        disabled: names disabled on top of ``CHROMA_DISABLE_PLUGINS`` (e.g. from the config).
    """

    def __init__(self, records: Iterable[PluginRecord] = (), disabled: Iterable[str] = ()) -> None:
        self._shared = _Shared(list(records))
        self._disabled = frozenset(disabled)

    # ----------------------------------------------------------------- discovery
    @classmethod
    def discover(cls, group: str = ENTRY_POINT_GROUP, strict: bool | None = None) -> PluginRegistry:
        """Find the entry points of ``group``; each is imported when a listing or selection first needs it.

        Args:
            group: entry-point group to scan.
            strict: raise a load error as :class:`PluginLoadError` from the listing or selection that
                meets it, instead of recording it (default: ``CHROMA_STRICT_PLUGINS`` at that time).
        """
        registry = cls()
        registry._shared.strict = strict
        registry._shared.pending = sorted(entry_points(group=group), key=lambda e: (e.name, e.value))
        return registry

    def _load_pending(self) -> None:
        """Import every pending entry point this view does not disable; disabled ones stay unimported."""
        shared = self._shared
        waiting: list[EntryPoint] = []
        for ep in shared.pending:
            dist, version = _distribution_of(ep)
            label = _entry_point_label(ep)
            if self._disabled_by(PluginRecord(ep.name, None, dist, version, "pending", entry_point=label)):
                waiting.append(ep)
                continue
            try:
                specs = self._load_entry_point(shared.pm, ep, f"{dist}:{ep.name}")
            except Exception as exc:
                shared.records.append(
                    PluginRecord(ep.name, None, dist, version, "error", _load_error_text(exc), None, label)
                )
                shared.failures[label] = exc
                continue
            shared.records.extend(self._record_for(spec, dist, version, label) for spec in specs)
        shared.pending = waiting

    def _raise_if_strict(self, records: Iterable[PluginRecord]) -> None:
        """In strict mode, raise the first entry point among ``records`` that failed to load (and is not disabled)."""
        strict = _strict_from_env() if self._shared.strict is None else self._shared.strict
        if not strict:
            return
        for record in records:
            if record.status == "error" and record.entry_point in self._shared.failures:
                exc = self._shared.failures[record.entry_point]
                raise PluginLoadError(
                    f"plugin entry point {record.entry_point!r} of {record.provider} failed to load: {exc} "
                    f"({STRICT_ENV}=1; disable it with {DISABLE_ENV}={record.distribution} or uninstall it)"
                ) from exc

    @staticmethod
    def _load_entry_point(pm: pluggy.PluginManager, ep: EntryPoint, plugin_name: str) -> list[PluginSpec]:
        """Import ``ep``, register it with ``pm``, validate it and return its specs."""
        module = ep.load()
        registered_as = pm.get_name(module)  # another distribution's entry point may name the same module
        if registered_as is None:
            pm.register(module, name=plugin_name)
            try:
                pm.check_pending()
            except Exception:
                pm.unregister(name=plugin_name)
                raise
            registered_as = plugin_name
        specs: list[PluginSpec] = []
        for impl in pm.hook.chroma_plugins.get_hookimpls():
            if impl.plugin_name == registered_as:
                specs.extend(cast(Iterable[PluginSpec], impl.function() or ()))
        if not specs:
            raise PluginLoadError(f"module {module.__name__!r} implements no chroma_plugins hook returning specs")
        bad = [s for s in specs if not isinstance(s, PluginSpec)]
        if bad:
            raise PluginLoadError(
                f"chroma_plugins returned {type(bad[0]).__name__}, expected chroma.plugins.PluginSpec"
            )
        return specs

    @staticmethod
    def _record_for(spec: PluginSpec, dist: str, version: str, entry_point: str | None) -> PluginRecord:
        api = spec.api_version or CHROMA_API_VERSION
        if api not in SUPPORTED_API_VERSIONS:
            newer = api > CHROMA_API_VERSION
            return PluginRecord(
                spec.name,
                spec.kind,
                dist,
                version,
                "incompatible",
                f"written for chroma plugin API v{spec.api_version}, this chroma-core implements "
                f"v{CHROMA_API_VERSION}; "
                + ("upgrade chroma-core" if newer else f"upgrade {dist} to a release for API v{CHROMA_API_VERSION}"),
                spec,
                entry_point,
            )
        return PluginRecord(spec.name, spec.kind, dist, version, "active", None, spec, entry_point)

    def register_spec(
        self, spec: PluginSpec, distribution: str = LOCAL_DISTRIBUTION, version: str = "0"
    ) -> PluginRecord:
        """Add a spec in-process (tests, notebooks); replaces one of the same kind, name and distribution."""
        if not isinstance(spec, PluginSpec):
            raise TypeError(f"register_spec expects a PluginSpec, got {type(spec).__name__}")
        dist = distribution if distribution == LOCAL_DISTRIBUTION else normalize_distribution(distribution)
        self._shared.records[:] = [
            r
            for r in self._shared.records
            if not (r.kind == spec.kind and r.name == spec.name and r.distribution == dist)
        ]
        record = self._record_for(spec, dist, version, None)
        self._shared.records.append(record)
        return record

    def with_disabled(self, names: Iterable[str]) -> PluginRegistry:
        """A view of this registry with ``names`` (plugin or distribution names, ``*``) also disabled."""
        names = frozenset(names)
        if not names:
            return self
        view = PluginRegistry(disabled=self._disabled | names)
        view._shared = self._shared  # shared: later loads and register_spec calls are seen by both
        return view

    # ------------------------------------------------------------------ listing
    def _disabled_by(self, record: PluginRecord) -> tuple[str, str] | None:
        """``(where, matching entry)`` when ``record`` is disabled, else ``None``.

        An entry matches the plugin name, the distribution or the entry-point name; ``*`` matches every
        external plugin. ``where`` is ``CHROMA_DISABLE_PLUGINS`` or ``plugins.disable`` (the config).
        """
        external = record.distribution not in FIRST_PARTY_DISTRIBUTIONS | {LOCAL_DISTRIBUTION}
        for source, names in ((DISABLE_ENV, _names_from_env()), ("plugins.disable", self._disabled)):
            for entry in sorted(names):
                if (
                    entry in (record.name, record.entry_point_name)
                    or normalize_distribution(entry) == record.distribution
                    or (entry == "*" and external)
                ):
                    return source, entry
        return None

    def _with_status(self, record: PluginRecord) -> PluginRecord:
        found = self._disabled_by(record)
        if found is None:
            return record
        source, entry = found
        return dataclasses.replace(
            record,
            status="disabled",
            error=f"disabled by {entry!r} in {source}; remove {entry!r} from {source} to re-enable it",
        )

    def _unimported(self) -> list[PluginRecord]:
        """One ``disabled`` record per pending entry point (this view disables all that are left)."""
        out = []
        for ep in self._shared.pending:
            dist, version = _distribution_of(ep)
            record = self._with_status(
                PluginRecord(ep.name, None, dist, version, "disabled", entry_point=_entry_point_label(ep))
            )
            out.append(dataclasses.replace(record, error=f"{record.error} (not imported)"))
        return out

    def records(self, kind: str | None = None) -> list[PluginRecord]:
        """Every record (sorted by kind, name, distribution), with its current status.

        Imports the entry points this view does not disable first. With ``kind``, entry points of
        unknown kind (failed or disabled before import) are included too.

        Raises:
            PluginLoadError: in strict mode, when an entry point this view does not disable failed to load.
        """
        if kind is not None and kind not in PLUGIN_KINDS:
            raise ValueError(f"unknown plugin kind {kind!r}; expected one of {', '.join(PLUGIN_KINDS)}")
        self._load_pending()
        every = [self._with_status(r) for r in self._shared.records] + self._unimported()
        self._raise_if_strict(every)
        out = [r for r in every if kind is None or r.kind == kind or r.kind is None]
        return sorted(out, key=lambda r: (r.kind or "", r.name, r.distribution))

    def errors(self) -> list[PluginRecord]:
        """Entry points or specs that failed to load."""
        return [r for r in self.records() if r.status == "error"]

    # ---------------------------------------------------------------- selection
    def get(self, kind: str, name: str, provider: str | None = None, *, yaml_path: str | None = None) -> PluginRecord:
        """The active plugin ``(kind, name)``, optionally from distribution ``provider``.

        Raises:
            UnknownPluginError: no such plugin (with did-you-mean, installed names, install hint).
            PluginConflictError: several distributions provide it and ``provider`` is not set.
            PluginDisabledError / PluginIncompatibleError: it exists but cannot be selected.
        """
        if kind not in PLUGIN_KINDS:
            raise ValueError(f"unknown plugin kind {kind!r}; expected one of {', '.join(PLUGIN_KINDS)}")
        where = f" (selected at {yaml_path})" if yaml_path else ""
        candidates = [r for r in self.records(kind) if r.kind == kind and r.name == name]
        if provider is not None:
            wanted = normalize_distribution(provider) if provider != LOCAL_DISTRIBUTION else provider
            pinned = [r for r in candidates if r.distribution == wanted]
            if not pinned:
                offered = ", ".join(r.provider for r in candidates) or "none installed"
                raise UnknownPluginError(
                    f"{kind} plugin {name!r}{where} is pinned to provider {provider!r}, which does not provide it; "
                    f"providers of {name!r}: {offered}"
                )
            candidates = pinned
        if not candidates:
            first_party = FIRST_PARTY_PLUGINS.get(name)
            for r in self._unimported():
                if first_party is not None and (first_party.kind, first_party.distribution) == (kind, r.distribution):
                    raise PluginDisabledError(f"{kind} plugin {name!r}{where} from {r.provider} is {r.error}")
            raise UnknownPluginError(self._unknown_message(kind, name, where))
        selectable = [r for r in candidates if r.status != "disabled"]
        if not selectable:
            r = candidates[0]
            raise PluginDisabledError(f"{kind} plugin {name!r}{where} from {r.provider} is {r.error}")
        if len(selectable) > 1:
            section = yaml_path.rsplit(".", 1)[0] if yaml_path else f"the model.{kind} section"
            providers = "\n".join(f"  - {r.provider} (status: {r.status})" for r in selectable)
            raise PluginConflictError(
                f"{kind} plugin {name!r}{where} is provided by {len(selectable)} distributions:\n{providers}\n"
                f"Pin one by adding `provider: <distribution>` to {section}, e.g. "
                f"`provider: {selectable[0].distribution}`, or disable the others with "
                f"{DISABLE_ENV}=<distribution>."
            )
        record = selectable[0]
        if record.status == "incompatible":
            raise PluginIncompatibleError(f"{kind} plugin {name!r}{where} from {record.provider} is {record.error}")
        return record

    def _unknown_message(self, kind: str, name: str, where: str) -> str:
        installed = sorted({r.name for r in self.records(kind) if r.kind == kind})
        known = sorted(set(installed) | {n for n, fp in FIRST_PARTY_PLUGINS.items() if fp.kind == kind})
        parts = [f"unknown {kind} plugin {name!r}{where}."]
        suggestion = difflib.get_close_matches(name, [k for k in known if k != name], n=1, cutoff=0.7)
        if suggestion:
            parts.append(f"Did you mean {suggestion[0]!r}?")
        listing = ", ".join(
            f"{r.name} ({r.provider}{'' if r.status == 'active' else ', ' + r.status})"
            for r in self.records(kind)
            if r.kind == kind
        )
        parts.append(f"Installed {kind} plugins: {listing or 'none'}.")
        for candidate in dict.fromkeys([name, *suggestion]):
            fp = FIRST_PARTY_PLUGINS.get(candidate)
            if fp is None or candidate in installed:
                continue
            if fp.kind == kind:
                parts.append(f"{candidate!r} is provided by {fp.distribution}: {install_hint(fp.distribution)}.")
            elif candidate == name:
                parts.append(f"{candidate!r} is a {fp.kind} plugin (from {fp.distribution}), not a {kind} plugin.")
        if kind == "fusion" and not installed:
            parts.append(
                "chroma-core ships no fusion plugin and every config selects one (model.fusion.strategy, default "
                f"'late'), so no config validates until one is installed; {install_hint('chroma-fusion-late')}."
            )
        failed = self.errors()
        if failed:
            parts.append(
                f"{len(failed)} plugin entry point(s) failed to load "
                f"({', '.join(r.name for r in failed)}); see `chroma plugins --errors`."
            )
        unimported = self._unimported()
        if unimported:
            parts.append(
                "Disabled, so not imported (one may provide it): "
                + "; ".join(f"{r.provider} ({r.error})" for r in unimported)
                + "."
            )
        return " ".join(parts)

    # ----------------------------------------------------------------- building
    def plugin_config(
        self,
        record: PluginRecord,
        options: Mapping[str, Any] | PluginConfig | None,
        yaml_path: str,
        section_keys: Iterable[str] = (),
    ) -> PluginConfig:
        """Validate ``options`` with the plugin's own config model.

        ``section_keys`` are the keys the surrounding YAML section takes besides the plugin's own
        (named in the message, so a misplaced framework key is easy to spot).

        Raises:
            ConfigError: with the YAML path of each bad key, the plugin and its allowed keys.
        """
        spec = record.spec
        assert spec is not None
        if isinstance(options, PluginConfig):
            if isinstance(options, spec.config_model):
                return options
            options = options.model_dump()
        try:
            return spec.parse_config(dict(options or {}))
        except ValidationError as exc:
            context = f" for {record.kind} plugin {record.name!r} ({record.provider})"
            lines = error_lines(exc, root=spec.config_model, prefix=yaml_path, context=context)
            keys = ", ".join(sorted(spec.config_model.model_fields)) or "none"
            section = sorted(section_keys)
            raise ConfigError(
                "\n".join(
                    [
                        f"invalid options{context}:",
                        *(f"  {line}" for line in lines),
                        *(
                            []
                            if any("; allowed keys:" in line for line in lines)
                            else [f"  allowed keys of {record.name!r}: {keys}"]
                        ),
                        *([f"  (keys every {yaml_path} section takes: {', '.join(section)})"] if section else []),
                    ]
                )
            ) from None

    def _factory(self, record: PluginRecord) -> Any:
        assert record.spec is not None
        try:
            return record.spec.load_factory()
        except Exception as exc:
            raise PluginLoadError(
                f"{record.kind} plugin {record.name!r} ({record.provider}): cannot import factory "
                f"{record.spec.factory!r}: {type(exc).__name__}: {exc}"
            ) from exc

    def build_encoder(
        self,
        kind: str,
        name: str,
        options: Mapping[str, Any] | PluginConfig | None = None,
        provider: str | None = None,
        *,
        yaml_path: str | None = None,
        section_keys: Iterable[str] = (),
    ) -> Encoder:
        """Build encoder plugin ``name`` of ``kind`` (``audio_encoder``/``midi_encoder``/``text_encoder``).

        Args:
            options: the plugin's own keys (validated by its config model).
            provider: distribution to take it from when several provide ``name``.
            yaml_path: where the section lives in the YAML (default ``model.<kind>``).
        """
        from chroma.contracts import Encoder

        if not kind.endswith("_encoder"):
            raise ValueError(f"build_encoder: {kind!r} is not an encoder kind")
        path = yaml_path or f"model.{kind}"
        record = self.get(kind, name, provider, yaml_path=f"{path}.type")
        config = self.plugin_config(record, options, path, section_keys)
        encoder = self._factory(record)(config)
        modality = kind.removesuffix("_encoder")
        if not isinstance(encoder, Encoder):
            raise PluginLoadError(
                f"{kind} plugin {name!r} ({record.provider}) built a {type(encoder).__name__}, "
                "expected a chroma.contracts.Encoder subclass"
            )
        if getattr(encoder, "modality", None) != modality:
            raise PluginLoadError(
                f"{kind} plugin {name!r} ({record.provider}) built an encoder for modality "
                f"{getattr(encoder, 'modality', None)!r}, expected {modality!r}"
            )
        return encoder

    def build_fusion(
        self,
        name: str,
        options: Mapping[str, Any] | PluginConfig | None = None,
        *,
        dims: FusionDims,
        provider: str | None = None,
        yaml_path: str = "model.fusion",
        section_keys: Iterable[str] = (),
    ) -> FusionModule:
        """Build fusion plugin ``name`` for ``dims`` (input, hidden and sequence widths, missing strategy)."""
        from chroma.contracts import FusionModule

        record = self.get("fusion", name, provider, yaml_path=f"{yaml_path}.strategy")
        config = self.plugin_config(record, options, yaml_path, section_keys)
        fusion = build_fusion_module(
            self._factory(record), config, dims, record.spec.api_version if record.spec else None
        )
        if not isinstance(fusion, FusionModule):
            raise PluginLoadError(
                f"fusion plugin {name!r} ({record.provider}) built a {type(fusion).__name__}, "
                "expected a chroma.contracts.FusionModule subclass"
            )
        return fusion

    def build_frame_head(
        self,
        name: str,
        options: Mapping[str, Any] | PluginConfig | None = None,
        *,
        input_dim: int,
        provider: str | None = None,
        yaml_path: str = "model.frame_heads",
        section_keys: Iterable[str] = (),
    ) -> FrameHead:
        """Build frame head plugin ``name`` reading sequences ``input_dim`` wide (``factory(config, input_dim)``)."""
        from chroma.frame_heads.base import FrameHead

        record = self.get("frame_head", name, provider, yaml_path=f"{yaml_path}.type")
        config = self.plugin_config(record, options, yaml_path, section_keys)
        head = self._factory(record)(config, int(input_dim))
        if not isinstance(head, FrameHead):
            raise PluginLoadError(
                f"frame_head plugin {name!r} ({record.provider}) built a {type(head).__name__}, "
                "expected a chroma.frame_heads.base.FrameHead subclass"
            )
        return head


def _takes_version1_keywords(factory: Any) -> bool:
    """Whether ``factory`` has the version-1 signature ``(config, *, input_dims, hidden_dim, ...)``."""
    try:
        parameters = inspect.signature(factory).parameters
    except (TypeError, ValueError):
        return False
    return "input_dims" in parameters or (
        "dims" not in parameters and any(p.kind is p.VAR_KEYWORD for p in parameters.values())
    )


def build_fusion_module(factory: Any, config: PluginConfig, dims: FusionDims, api_version: int | None) -> FusionModule:
    """Call a fusion factory the way its API version expects.

    Version 1 (declared, or recognised by its ``input_dims`` / ``**kwargs`` signature, since version-1 specs
    did not have to state their version) gets four loose keywords and a DeprecationWarning.
    """
    if api_version == 1 or _takes_version1_keywords(factory):
        warnings.warn(
            f"fusion factory {getattr(factory, '__qualname__', factory)!r} has the version-1 signature "
            "(config, *, input_dims, hidden_dim, missing, sequence_dims); take (config, dims: chroma.FusionDims)",
            DeprecationWarning,
            stacklevel=3,
        )
        return factory(
            config,
            input_dims=dict(dims.inputs),
            hidden_dim=dims.hidden,
            missing=dims.missing,
            sequence_dims=dict(dims.sequences),
        )
    return factory(config, dims)


def _capabilities_dict(spec: PluginSpec) -> dict[str, Any]:
    """The spec's capabilities as JSON-ready values, defaults left out."""
    caps = spec.kit
    defaults = type(caps)()
    return {
        f.name: value for f in dataclasses.fields(caps) if (value := getattr(caps, f.name)) != getattr(defaults, f.name)
    }


_REGISTRY: PluginRegistry | None = None


def get_registry(refresh: bool = False) -> PluginRegistry:
    """The process-wide registry, discovered on first use (``refresh=True`` re-scans entry points)."""
    global _REGISTRY
    if _REGISTRY is None or refresh:
        _REGISTRY = PluginRegistry.discover()
    return _REGISTRY
