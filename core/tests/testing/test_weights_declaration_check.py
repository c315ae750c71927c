"""The kit's ``check_encoder_declares_weights``: a declared ``random_init`` must be what the built encoder is."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from chroma import EncoderCapabilities
from chroma.contracts import Encoder, EncoderOutput, MidiBatch
from chroma.plugins import PluginConfig
from chroma.testing import ContractTarget, SkipCheck, yield_checks
from chroma.testing.encoder_checks import check_encoder_declares_weights

CHECK = "check_encoder_declares_weights"


class LearnedOptions(PluginConfig):
    """``learned``: project the events with a Linear layer (random-init) instead of averaging them as they are."""

    learned: bool = True


class EventMeanEncoder(Encoder):
    """Masked mean of the MIDI event features, projected by a Linear layer when ``learned``."""

    name = "event_mean"
    modality = "midi"

    def __init__(self, config: LearnedOptions) -> None:
        super().__init__()
        self.output_dim = 8
        self.proj = nn.Linear(8, 8) if config.learned else nn.Identity()

    def forward(self, batch: MidiBatch) -> EncoderOutput:
        valid = batch.padding_mask().unsqueeze(-1).float()
        pooled = (batch.events * valid).sum(dim=1) / valid.sum(dim=1).clamp(min=1.0)
        return EncoderOutput(self.proj(pooled))


class FixedOptions(LearnedOptions):
    """As :class:`LearnedOptions`, averaging by default (no parameters)."""

    learned: bool = False


def _target(
    test_config: dict[str, bool], options: type[LearnedOptions] = LearnedOptions, **declared: bool
) -> ContractTarget:
    return ContractTarget(
        "event_mean",
        "midi_encoder",
        EventMeanEncoder,
        config_model=options,
        options=test_config,
        capabilities=EncoderCapabilities(test_config=test_config, **declared),
    )


def _status(target: ContractTarget) -> tuple[str, str]:
    """``(status, message)`` of the check on ``target`` alone, as :func:`~chroma.testing.check_plugin` reports it."""
    try:
        check_encoder_declares_weights(target)
    except SkipCheck as exc:
        return "skipped", str(exc)
    except AssertionError as exc:
        return "failed", str(exc)
    return "passed", ""


def test_the_check_runs_on_every_encoder() -> None:
    assert CHECK in {check.__name__ for check in yield_checks(_target({"learned": True}))}


def test_a_true_declaration_passes() -> None:
    assert _status(_target({"learned": True}, random_init=True)) == ("passed", "")
    assert _status(_target({"learned": False}, FixedOptions, random_init=False)) == ("passed", "")


@pytest.mark.parametrize(("learned", "random_init", "verb"), [(True, False, "miss"), (False, True, "give")])
def test_a_false_declaration_fails_naming_the_consequence(learned: bool, random_init: bool, verb: str) -> None:
    status, message = _status(_target({"learned": learned}, random_init=random_init))
    assert status == "failed"
    assert f"declares random_init={random_init}" in message and "the kit's options" in message
    assert f"would {verb} the random-features warning" in message


def test_the_defaults_are_checked_too() -> None:
    """Random-init with its default options, declared from a kit instance that is not: caught on the defaults."""
    status, message = _status(_target({"learned": False}, random_init=False))
    assert status == "failed" and "built with its default options it has 72 parameters" in message


def test_undeclared_or_unloadable_pretrained_is_skipped() -> None:
    assert _status(_target({"learned": True}))[0] == "skipped"
    pretrained = ContractTarget(
        "event_mean",
        "midi_encoder",
        EventMeanEncoder,
        config_model=LearnedOptions,
        options={"learned": True},
        capabilities=EncoderCapabilities(pretrained=True, test_config={"learned": True}),
    )
    status, message = _status(pretrained)
    assert status == "skipped" and "without a test_fixture" in message


def test_pretrained_and_random_init_contradict() -> None:
    with pytest.raises(ValueError, match="pretrained=True and random_init=True contradict"):
        EncoderCapabilities(pretrained=True, random_init=True)
    assert EncoderCapabilities(pretrained=True).declared_random_init is False
    assert EncoderCapabilities().declared_random_init is None


def test_parameters_without_elements_are_not_random_init() -> None:
    """``is_random_init`` counts elements: an empty parameter holds no random weights."""
    from chroma.capabilities import is_random_init

    encoder = EventMeanEncoder(LearnedOptions(learned=False))
    encoder.empty = nn.Parameter(torch.zeros(0))
    assert not is_random_init(encoder)
    assert is_random_init(EventMeanEncoder(LearnedOptions()))
