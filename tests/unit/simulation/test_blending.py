"""Blending in the simulator: written work an agent puts aside for a call ends that much later."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from frontline.contracts.agents import AgentProfile, Resolution
from frontline.contracts.contacts import Channel
from frontline.contracts.policies import QueuePolicy
from simulation.engine import RECEIVED, Incoming, run

HANDLE = {Channel.EMAIL: 100.0, Channel.VOICE: 50.0}


@dataclass(frozen=True)
class Fixed:
    def accepts(self, agent: AgentProfile, contact: Incoming) -> bool:
        return True

    def handle_seconds(self, agent: AgentProfile, contact: Incoming) -> float:
        return HANDLE[contact.data.channel]

    def completes(self, agent: AgentProfile, contact: Incoming) -> tuple[str, Resolution]:
        return "done", Resolution.RESOLVED

    def matched(self, agent: AgentProfile, contact: Incoming) -> bool:
        return True

    def comes_back(self, contact: Incoming, resolution: Resolution, at: float) -> Incoming | None:
        return None


def _contact(contact_id: str, at: float, channel: Channel) -> Incoming:
    return Incoming(contact_id, at, RECEIVED.model_copy(update={"channel": channel}))


@pytest.mark.parametrize("blended", [True, False])
def test_a_call_taken_beside_an_email_pauses_the_email(blended: bool) -> None:
    agent = AgentProfile(agent_id="a", interruptible_channels=[Channel.EMAIL] if blended else [])
    queue = QueuePolicy(queue="general", wrap_up_seconds=0)
    contacts = [_contact("mail", 0.0, Channel.EMAIL), _contact("call", 10.0, Channel.VOICE)]
    outcome = run([queue], [agent], contacts, Fixed())
    assert outcome.answered == ["mail", "call"]
    if blended:  # the call at once; the e-mail's 100 s of work resume after the call's 50 s
        assert outcome.waits == [0.0, 0.0]
        assert outcome.agent_busy["a"] == pytest.approx(150.0)
    else:  # the call waits for the e-mail to end
        assert outcome.waits == [0.0, 90.0]
        assert outcome.agent_busy["a"] == pytest.approx(150.0)
