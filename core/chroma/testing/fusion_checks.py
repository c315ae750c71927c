"""Contract checks every fusion plugin must pass.

Each check takes a :class:`~chroma.testing.targets.ContractTarget` of kind
``fusion``, builds fresh modules from it and raises ``AssertionError`` naming
the plugin and the broken property. :func:`fusion_checks` selects the checks
that apply to a target from its capabilities.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import torch
from hypothesis import strategies as st
from torch import Tensor

from chroma.contracts import FusionModule, FusionOutput
from chroma.modality import modality_index
from chroma.testing import strategies as cst
from chroma.testing.check_helpers import (
    assert_close,
    assert_finite,
    json_round_trip_config,
    param_shapes,
    run_examples,
    state_round_trip,
)
from chroma.testing.targets import ContractTarget

Check = Callable[[ContractTarget], None]
Embeddings = dict[str, Tensor]


def _fusion(target: ContractTarget, **kwargs: object) -> FusionModule:
    module = target.build(**kwargs)  # type: ignore[arg-type]
    assert isinstance(module, FusionModule)
    return module


def _all_patterns(target: ContractTarget, repeat: int = 2) -> Tensor:
    """``[repeat * 2**M, 3]`` mask with every presence pattern of the target's modalities."""
    return cst.every_mask_pattern(tuple(target.input_dims)).repeat(repeat, 1)


def _refill_absent(embeddings: Embeddings, mask: Tensor, other: Embeddings) -> Embeddings:
    """``embeddings`` with absent rows taken from ``other`` (present rows unchanged)."""
    return {
        name: torch.where(mask[:, modality_index(name)].unsqueeze(1), emb, other[name])
        for name, emb in embeddings.items()
    }


def _check_output(target: ContractTarget, out: FusionOutput, batch: int, what: str) -> None:
    if not isinstance(out, FusionOutput):
        raise AssertionError(f"{target!r}: forward returned {type(out).__name__}, not FusionOutput")
    if tuple(out.hidden.shape) != (batch, target.hidden_dim):
        raise AssertionError(
            f"{target!r}: hidden must be [{batch}, {target.hidden_dim}], got {tuple(out.hidden.shape)} ({what})"
        )
    if out.hidden.dtype != torch.float32:
        raise AssertionError(f"{target!r}: hidden dtype {out.hidden.dtype} for float32 inputs ({what})")
    assert_finite(target, f"hidden ({what})", out.hidden)
    for key, value in out.weights.items():
        if not isinstance(value, Tensor) or value.dim() == 0 or value.shape[0] != batch:
            raise AssertionError(f"{target!r}: weights[{key!r}] must be a tensor with leading batch dim {batch}")
        assert_finite(target, f"weights[{key!r}] ({what})", value)


def check_fusion_declares_contract(target: ContractTarget) -> None:
    """The built module is a FusionModule whose declared attributes match the plugin's spec."""
    fusion = _fusion(target)
    if fusion.hidden_dim != target.hidden_dim:
        raise AssertionError(f"{target!r}: hidden_dim {fusion.hidden_dim} != requested {target.hidden_dim}")
    if dict(fusion.input_dims) != dict(target.input_dims):
        raise AssertionError(f"{target!r}: input_dims {fusion.input_dims} != requested {dict(target.input_dims)}")
    declared = getattr(type(fusion), "name", target.name)
    if declared != target.name:
        raise AssertionError(f"{target!r}: class name attribute {declared!r} != plugin name {target.name!r}")


def check_fusion_output_shape(target: ContractTarget) -> None:
    """``hidden`` is ``[B, hidden_dim]`` float32 and finite for any batch size (incl. 1) and mask."""
    fusion = _fusion(target)

    @run_examples(target, cst.multimodal_batches(target.input_dims))
    def _(batch: tuple[Embeddings, Tensor]) -> None:
        embeddings, mask = batch
        with torch.no_grad():
            _check_output(target, fusion(embeddings, mask), mask.shape[0], f"mask {mask.int().tolist()}")


def check_fusion_finite_every_mask_pattern(target: ContractTarget) -> None:
    """Finite output, in eval and train mode, for every presence pattern incl. none and one present."""
    fusion = _fusion(target)
    mask = _all_patterns(target)

    @run_examples(target, cst.multimodal_batches(target.input_dims, mask=mask))
    def _(batch: tuple[Embeddings, Tensor]) -> None:
        embeddings, mask_ = batch
        for training in (False, True):
            fusion.train(training)
            with torch.no_grad():
                _check_output(target, fusion(embeddings, mask_), mask_.shape[0], f"training={training}")
        fusion.eval()


def check_fusion_ignores_absent_slots(target: ContractTarget) -> None:
    """Whatever sits in an absent slot (NaN, inf, huge, noise) leaves the output unchanged."""
    fusion = _fusion(target)
    dims = target.input_dims

    @run_examples(target, cst.multimodal_batches(dims), st.data())
    def _(batch: tuple[Embeddings, Tensor], data: st.DataObject) -> None:
        embeddings, mask = batch
        other, _mask = data.draw(cst.multimodal_batches(dims, mask=mask), label="other garbage")
        nan_fill = {k: torch.full_like(v, float("nan")) for k, v in embeddings.items()}
        with torch.no_grad():
            reference = fusion(embeddings, mask).hidden
            for label, fill in (("other garbage", other), ("NaN", nan_fill)):
                out = fusion(_refill_absent(embeddings, mask, fill), mask).hidden
                assert_close(
                    target, f"output changed with {label} in absent slots", out, reference, atol=1e-6, rtol=1e-5
                )


def check_fusion_batch_independence(target: ContractTarget) -> None:
    """In eval mode row ``i``'s output equals the output for row ``i`` alone."""
    fusion = _fusion(target)

    @run_examples(target, cst.multimodal_batches(target.input_dims, cst.batch_sizes(2, 6)))
    def _(batch: tuple[Embeddings, Tensor]) -> None:
        embeddings, mask = batch
        with torch.no_grad():
            together = fusion(embeddings, mask).hidden
            for row in range(mask.shape[0]):
                alone = fusion({k: v[row : row + 1] for k, v in embeddings.items()}, mask[row : row + 1]).hidden
                assert_close(target, f"row {row} depends on other rows of the batch", together[row : row + 1], alone)


def check_fusion_eval_determinism(target: ContractTarget) -> None:
    """Two eval-mode forward passes on the same input agree exactly."""
    fusion = _fusion(target)

    @run_examples(target, cst.multimodal_batches(target.input_dims))
    def _(batch: tuple[Embeddings, Tensor]) -> None:
        embeddings, mask = batch
        with torch.no_grad():
            first = fusion(embeddings, mask).hidden
            second = fusion(embeddings, mask).hidden
        assert_close(target, "eval-mode output is not deterministic", second, first, atol=0.0, rtol=0.0)


def check_fusion_gradients(target: ContractTarget) -> None:
    """Gradients are finite, reach every present input row, never absent rows, and reach the null embeddings."""
    fusion = _fusion(target)
    mask = _all_patterns(target)

    @run_examples(target, cst.embeddings(target.input_dims, mask.shape[0]), st.integers(0, 2**31 - 1))
    def _(values: Embeddings, seed: int) -> None:
        fusion.zero_grad(set_to_none=True)
        inputs = {k: v.clone().requires_grad_(True) for k, v in values.items()}
        hidden = fusion(inputs, mask).hidden
        probe = torch.randn(hidden.shape, generator=torch.Generator().manual_seed(seed))
        (hidden * probe).sum().backward()
        for name, tensor in inputs.items():
            present = mask[:, modality_index(name)]
            grad = tensor.grad if tensor.grad is not None else torch.zeros_like(tensor)
            assert_finite(target, f"gradient of the {name} input", grad)
            norms = grad.abs().sum(dim=1)
            starved = torch.nonzero(present & (norms == 0)).flatten().tolist()
            if starved:
                raise AssertionError(f"{target!r}: no gradient reaches present {name} rows {starved}")
            leaked = torch.nonzero(~present & (norms != 0)).flatten().tolist()
            if leaked:
                raise AssertionError(f"{target!r}: absent {name} rows {leaked} receive gradient")
        for pname, param in fusion.named_parameters():
            if param.grad is not None:
                assert_finite(target, f"gradient of parameter {pname}", param.grad)
        if fusion.missing.strategy == "learned_null":
            for name, null in fusion.missing.null.items():
                if null.grad is None or not null.grad.abs().sum() > 0:
                    raise AssertionError(f"{target!r}: the {name} null embedding receives no gradient")


def check_fusion_state_round_trip(target: ContractTarget) -> None:
    """A fresh build loading the state_dict (through safetensors) gives the same outputs."""
    source = _fusion(target, seed=0)
    fresh = _fusion(target, seed=1)
    state_round_trip(target, source, fresh)
    fresh.eval()

    @run_examples(target, cst.multimodal_batches(target.input_dims))
    def _(batch: tuple[Embeddings, Tensor]) -> None:
        embeddings, mask = batch
        with torch.no_grad():
            assert_close(
                target,
                "outputs differ after load_state_dict (state kept outside the state_dict?)",
                fresh(embeddings, mask).hidden,
                source(embeddings, mask).hidden,
                atol=0.0,
                rtol=0.0,
            )


def check_fusion_config_round_trip(target: ContractTarget) -> None:
    """The config survives JSON model_dump/model_validate and rebuilds the same parameter shapes."""
    config, rebuilt = json_round_trip_config(target)
    first = param_shapes(_fusion(target, config=config))
    second = param_shapes(_fusion(target, config=rebuilt))
    if first != second:
        raise AssertionError(f"{target!r}: rebuilt from its dumped config with other parameters: {first} vs {second}")


def check_fusion_zero_missing(target: ContractTarget) -> None:
    """``missing='zero'`` builds without null parameters, stays finite and ignores absent slots."""
    fusion = _fusion(target, missing="zero")
    nulls = [name for name, _ in fusion.named_parameters() if name.startswith("missing.")]
    if nulls:
        raise AssertionError(f"{target!r}: missing='zero' still has null parameters {nulls}")
    mask = _all_patterns(target)

    @run_examples(target, cst.multimodal_batches(target.input_dims, mask=mask))
    def _(batch: tuple[Embeddings, Tensor]) -> None:
        embeddings, mask_ = batch
        with torch.no_grad():
            out = fusion(embeddings, mask_)
            _check_output(target, out, mask_.shape[0], "missing='zero'")
            zeros = {k: torch.zeros_like(v) for k, v in embeddings.items()}
            clean = fusion(_refill_absent(embeddings, mask_, zeros), mask_).hidden
        assert_close(
            target, "missing='zero' output changed with absent-slot values", out.hidden, clean, atol=1e-6, rtol=1e-5
        )


def check_fusion_sequences(target: ContractTarget) -> None:
    """With sequences: finite, padded positions and absent rows don't matter, valid positions do."""
    fusion = _fusion(target)
    dims, seq_dims = target.input_dims, target.sequence_dims

    @run_examples(target, cst.multimodal_batches(dims), st.data())
    def _(batch: tuple[Embeddings, Tensor], data: st.DataObject) -> None:
        embeddings, mask = batch
        seqs = data.draw(cst.sequence_batches(seq_dims, mask), label="sequences")
        with torch.no_grad():
            out = fusion(embeddings, mask, seqs)
            _check_output(target, out, mask.shape[0], "with sequences")
            refilled = {}
            for name, (seq, valid) in seqs.items():
                keep = (valid & mask[:, modality_index(name)].unsqueeze(1)).unsqueeze(-1)
                refilled[name] = (torch.where(keep, seq, torch.full_like(seq, float("nan"))), valid)
            assert_close(
                target,
                "output changed with NaN at padded sequence positions / absent rows",
                fusion(embeddings, mask, refilled).hidden,
                out.hidden,
                atol=1e-6,
                rtol=1e-5,
            )
            for row in range(mask.shape[0]):
                alone = {k: (s[row : row + 1], v[row : row + 1]) for k, (s, v) in seqs.items()}
                single = fusion({k: e[row : row + 1] for k, e in embeddings.items()}, mask[row : row + 1], alone)
                assert_close(
                    target,
                    f"row {row} depends on other rows (with sequences)",
                    out.hidden[row : row + 1],
                    single.hidden,
                )

    # Sequences must actually be read: one present row with valid positions changes the output.
    mask = torch.ones(1, 3, dtype=torch.bool)
    values = {k: torch.randn(1, d, generator=torch.Generator().manual_seed(0)) for k, d in dims.items()}
    seqs = {
        k: (torch.randn(1, 3, d, generator=torch.Generator().manual_seed(1)), torch.ones(1, 3, dtype=torch.bool))
        for k, d in seq_dims.items()
    }
    with torch.no_grad():
        if torch.equal(fusion(values, mask, seqs).hidden, fusion(values, mask).hidden):
            raise AssertionError(f"{target!r}: declares uses_sequences but valid sequences do not change the output")


def fusion_checks(target: ContractTarget) -> Iterator[Check]:
    """The checks that apply to ``target``, chosen by what the built fusion declares."""
    yield check_fusion_declares_contract
    yield check_fusion_output_shape
    yield check_fusion_finite_every_mask_pattern
    yield check_fusion_ignores_absent_slots
    yield check_fusion_batch_independence
    yield check_fusion_eval_determinism
    yield check_fusion_gradients
    yield check_fusion_state_round_trip
    yield check_fusion_config_round_trip
    yield check_fusion_zero_missing
    if target.module_flag("uses_sequences"):
        yield check_fusion_sequences
