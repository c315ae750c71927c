"""Entry points of the contract kit: a pytest decorator and a plain function.

Usage in a plugin's tests::

    from chroma.testing import parametrize_with_contract

    @parametrize_with_contract(["my_fusion"], expected_failed_checks={"check_fusion_sequences": "todo #12"})
    def test_contract(plugin, check):
        check(plugin)

Test ids read ``"<plugin>-<check_name>"`` so ``pytest -k check_fusion_gradients``
selects one property across plugins. :func:`check_plugin` runs the same checks
without pytest and returns a :class:`ContractReport`.
"""

from __future__ import annotations

import functools
import traceback
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from chroma.testing.check_helpers import single_threaded
from chroma.testing.encoder_checks import encoder_checks
from chroma.testing.frame_head_checks import frame_head_checks
from chroma.testing.fusion_checks import fusion_checks
from chroma.testing.light_imports import first_heavy_import
from chroma.testing.targets import ContractTarget, SkipCheck, as_targets

Check = Callable[[ContractTarget], None]


def check_plugin_loads(target: ContractTarget) -> None:
    """The plugin's factory imports, the registry marks it active, and its light modules import no torch.

    The light modules (entry point, config model) are imported in a fresh interpreter: ``chroma plugins``
    imports them for every installed plugin, so one importing torch slows every listing by seconds.
    """
    if target.factory is None:
        raise AssertionError(f"{target!r} failed to load: {target.load_error}")
    heavy = first_heavy_import(target.light_modules) if target.light_modules else None
    if heavy is not None:
        module, package = heavy
        raise AssertionError(
            f"{target!r}: importing {module} imports {package}; `chroma plugins` imports every plugin's "
            f"entry-point and config modules, so they must not: import {package} only in the module the "
            "spec's factory names (imported when the plugin is built)"
        )


def yield_checks(target: ContractTarget) -> Iterator[Check]:
    """Every check that applies to ``target`` (only the loading check when it did not load)."""
    yield check_plugin_loads
    if target.factory is None:
        return
    if target.kind == "frame_head":
        yield from frame_head_checks(target)
    else:
        yield from fusion_checks(target) if target.is_fusion else encoder_checks(target)


def _skipping(check: Check) -> Check:
    """Run single-threaded; turn :class:`SkipCheck` into ``pytest.skip`` (pytest imported only when used)."""

    @functools.wraps(check)
    def run(target: ContractTarget) -> None:
        try:
            with single_threaded():
                check(target)
        except SkipCheck as exc:
            import pytest

            pytest.skip(str(exc))

    return run


def _ids(targets: list[ContractTarget]) -> list[str]:
    """Plugin part of the test ids: the name; ``kind:name`` where names clash; ``kind:name@distribution``
    where two distributions provide the same kind and name (:attr:`ContractTarget.selector`, which also
    selects that one provider: ``parametrize_with_contract(["fusion:late@chroma-fusion-late"])``)."""
    names = [t.name for t in targets]
    kinds = [f"{t.kind}:{t.name}" for t in targets]
    return [
        t.name if names.count(t.name) == 1 else kind if kinds.count(kind) == 1 else t.selector
        for t, kind in zip(targets, kinds, strict=True)
    ]


def parametrize_with_contract(
    plugins: Any,
    *,
    expected_failed_checks: Mapping[str, str] | Callable[[ContractTarget], Mapping[str, str]] | None = None,
) -> Any:
    """A ``pytest.mark.parametrize("plugin, check", ...)`` over every applicable contract check.

    Args:
        plugins: ``"installed"`` (every plugin the registry finds), or an iterable of
            registry names (``"late"``, ``"fusion:late"``, ``"fusion:late@chroma-fusion-late"`` for one of
            several providers of a name), :class:`~chroma.plugins.PluginSpec`,
            :class:`~chroma.testing.ContractTarget`, FusionModule/Encoder subclasses,
            or ``(subclass, config)`` pairs.
        expected_failed_checks: ``{check_name: reason}`` (or a callable returning one per
            plugin); those checks are marked ``xfail(strict=True)`` with the reason, so
            they must keep failing until fixed.

    Returns:
        The decorator; the test receives ``plugin`` (a :class:`ContractTarget`) and ``check``
        and should call ``check(plugin)``.
    """
    import pytest

    targets = as_targets(plugins)
    params = []
    for target, plugin_id in zip(targets, _ids(targets), strict=True):
        expected = _expected(expected_failed_checks, target)
        for check in yield_checks(target):
            marks = []
            if check.__name__ in expected:
                marks.append(pytest.mark.xfail(strict=True, reason=expected[check.__name__]))
            params.append(pytest.param(target, _skipping(check), marks=marks, id=f"{plugin_id}-{check.__name__}"))
    return pytest.mark.parametrize("plugin, check", params)


def _expected(
    expected: Mapping[str, str] | Callable[[ContractTarget], Mapping[str, str]] | None, target: ContractTarget
) -> Mapping[str, str]:
    if expected is None:
        return {}
    return expected(target) if callable(expected) else expected


Status = Literal["passed", "failed", "skipped", "xfailed", "xpassed"]


@dataclass(frozen=True)
class CheckResult:
    """Outcome of one check on one plugin."""

    plugin: str
    check: str
    status: Status
    message: str = ""


@dataclass
class ContractReport:
    """Outcomes of :func:`check_plugin`; ``ok`` when nothing failed or passed unexpectedly."""

    results: list[CheckResult] = field(default_factory=list)

    @property
    def failures(self) -> list[CheckResult]:
        return [r for r in self.results if r.status in ("failed", "xpassed")]

    @property
    def ok(self) -> bool:
        return not self.failures

    def summary(self) -> str:
        """One line per check: ``status  plugin-check  first line of the message``."""
        lines = []
        for r in self.results:
            first = r.message.splitlines()[0] if r.message else ""
            lines.append(f"{r.status:8s} {r.plugin}-{r.check}  {first}".rstrip())
        return "\n".join(lines)


class ContractError(AssertionError):
    """Raised by :func:`check_plugin` with ``on_fail="raise"``; carries the report."""

    def __init__(self, report: ContractReport) -> None:
        failed = "\n\n".join(f"{r.plugin}-{r.check} ({r.status}):\n{r.message}" for r in report.failures)
        super().__init__(f"{len(report.failures)} contract check(s) failed:\n\n{failed}")
        self.report = report


class ContractCheckWarning(UserWarning):
    """Emitted per failing check by :func:`check_plugin` with ``on_fail="warn"``."""


def check_plugin(
    plugin: Any,
    *,
    on_fail: Literal["raise", "warn"] | None = "raise",
    expected_failed_checks: Mapping[str, str] | None = None,
) -> ContractReport:
    """Run every applicable contract check without pytest.

    Args:
        plugin: one plugin in any form :func:`parametrize_with_contract` accepts
            (or a list of them, or ``"installed"``).
        on_fail: ``"raise"`` a :class:`ContractError` after all checks ran,
            ``"warn"`` once per failure, or ``None`` to only report.
        expected_failed_checks: ``{check_name: reason}``; such a failure counts as
            ``xfailed``, a pass as ``xpassed`` (a failure of the report).

    Returns:
        The :class:`ContractReport` (when not raising).
    """
    items = plugin if isinstance(plugin, (list, tuple, str)) and not _is_class_pair(plugin) else [plugin]
    targets = as_targets(items)
    expected = dict(expected_failed_checks or {})
    report = ContractReport()
    for target, plugin_id in zip(targets, _ids(targets), strict=True):
        for check in yield_checks(target):
            report.results.append(_run_one(plugin_id, check, target, expected.get(check.__name__)))
    if on_fail == "warn":
        for r in report.failures:
            warnings.warn(f"{r.plugin}-{r.check} {r.status}: {r.message}", ContractCheckWarning, stacklevel=2)
    elif on_fail == "raise" and report.failures:
        raise ContractError(report)
    return report


def _is_class_pair(obj: Any) -> bool:
    return isinstance(obj, tuple) and len(obj) == 2 and isinstance(obj[0], type)


def _run_one(plugin_id: str, check: Check, target: ContractTarget, expected_reason: str | None) -> CheckResult:
    try:
        with single_threaded():
            check(target)
    except SkipCheck as exc:
        return CheckResult(plugin_id, check.__name__, "skipped", str(exc))
    except Exception as exc:  # noqa: BLE001 - any error is a failed check
        message = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        status: Status = "xfailed" if expected_reason is not None else "failed"
        return CheckResult(plugin_id, check.__name__, status, message)
    if expected_reason is not None:
        return CheckResult(plugin_id, check.__name__, "xpassed", f"expected to fail: {expected_reason}")
    return CheckResult(plugin_id, check.__name__, "passed")
