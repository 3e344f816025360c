"""What agents (and their desktops and admins) do, on `frontline.agents.events`, keyed by tenant."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal, Self

from pydantic import Field, StringConstraints, model_validator

from frontline.contracts.contacts import MAX_SKILLS, Channel, Label, LanguageCode, ShortText
from frontline.contracts.envelope import Event, EventData, Identifier

SkillName = Annotated[str, StringConstraints(min_length=1, max_length=64)]
QueueName = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]

DEFAULT_CAPACITY: dict[Channel, int] = {
    Channel.VOICE: 1,
    Channel.WALK_IN: 1,
    Channel.CHAT: 3,
    Channel.MESSAGING: 3,
    Channel.SMS: 3,
    Channel.EMAIL: 5,
    Channel.WEB_FORM: 5,
    Channel.POSTAL_MAIL: 5,
    Channel.FAX: 5,
}


class Tier(StrEnum):
    """Escalation reaches a supervisor or technician tier; everyone else is an agent."""

    AGENT = "agent"
    SUPERVISOR = "supervisor"
    TECHNICIAN = "technician"


class Presence(StrEnum):
    """What an agent asks to be; routing derives busy and wrap-up from the contacts in hand."""

    AVAILABLE = "available"
    AWAY = "away"
    OFFLINE = "offline"


class Resolution(StrEnum):
    RESOLVED = "resolved"
    UNRESOLVED = "unresolved"
    FOLLOW_UP = "follow_up"


class SkillLevel(EventData):
    skill: SkillName
    proficiency: int = Field(ge=1, le=5, description="1 novice … 5 expert.")


class AgentSettings(EventData):
    """An agent's profile as REST takes it; the agent id comes from the path."""

    name: ShortText = ""
    team: ShortText | None = None
    tier: Tier = Tier.AGENT
    skills: list[SkillLevel] = Field(default_factory=list, max_length=MAX_SKILLS)
    languages: list[LanguageCode] = Field(
        default_factory=list, max_length=20, description="ISO 639-1 codes the agent serves in."
    )
    capacity: dict[Channel, Annotated[int, Field(ge=0, le=50)]] = Field(
        default_factory=lambda: dict(DEFAULT_CAPACITY),
        max_length=len(Channel),
        description="Contacts at once per channel; a channel left out takes none.",
    )
    exclusive_channels: list[Channel] = Field(
        max_length=len(Channel),
        default_factory=lambda: [Channel.VOICE, Channel.WALK_IN],
        description="A contact on one of these blocks every other channel, and waits for the others to end.",
    )
    interruptible_channels: list[Channel] = Field(
        max_length=len(Channel),
        default_factory=list,
        description=(
            "Contacts on these (deferrable work such as e-mail) may be put aside for one on an exclusive channel:"
            " an agent holding only such contacts may still be offered a call."
        ),
    )

    @model_validator(mode="after")
    def _one_level_per_skill(self) -> Self:
        names = [level.skill for level in self.skills]
        if len(names) != len(set(names)):
            raise ValueError("skills: each skill may appear once")
        if set(self.exclusive_channels) & set(self.interruptible_channels):
            raise ValueError("interruptible_channels: a channel cannot be exclusive and interruptible at once")
        return self


class AgentProfile(AgentSettings):
    agent_id: Identifier


class AgentProfileSaved(Event):
    """An agent was created or their profile replaced (skills, languages, capacity, tier)."""

    type_name = "agent.profile_saved"
    type: Literal["agent.profile_saved"] = "agent.profile_saved"
    version: Literal[1] = 1
    data: AgentProfile


class AgentRef(EventData):
    agent_id: Identifier


class AgentProfileRemoved(Event):
    """An agent was removed from the pool; their open offer is withdrawn."""

    type_name = "agent.profile_removed"
    type: Literal["agent.profile_removed"] = "agent.profile_removed"
    version: Literal[1] = 1
    data: AgentRef


class StateRequest(EventData):
    agent_id: Identifier
    state: Presence
    reason: ShortText | None = Field(default=None, description="Reason code, e.g. break, training, lunch.")


class AgentStateRequested(Event):
    """An agent (or supervisor) asked to go available, away or offline."""

    type_name = "agent.state_requested"
    type: Literal["agent.state_requested"] = "agent.state_requested"
    version: Literal[1] = 1
    data: StateRequest


class OfferAnswer(EventData):
    offer_id: Identifier
    agent_id: Identifier
    accepted: bool
    reason: ShortText | None = None


class OfferAnswered(Event):
    """The agent accepted or rejected an offer; a late or foreign answer is ignored by routing."""

    type_name = "offer.answered"
    type: Literal["offer.answered"] = "offer.answered"
    version: Literal[1] = 1
    data: OfferAnswer


class Handled(EventData):
    agent_id: Identifier
    disposition: ShortText = Field(description="What was done, e.g. refund_issued.")
    resolution: Resolution = Resolution.RESOLVED
    concern: Label | None = Field(default=None, description="What the contact was about, as the agent found it.")
    intent: Label | None = Field(default=None, description="The finer intent the agent found, if the tenant has them.")


class ContactHandled(Event):
    """The agent finished a contact; wrap-up time starts. Version 2 adds the concern and intent the
    agent found, which intake learns from; version 1 (without them) is still accepted."""

    type_name = "contact.handled"
    type_version = 2
    type: Literal["contact.handled"] = "contact.handled"
    version: Literal[1, 2] = 2
    data: Handled


class TransferRequest(EventData):
    agent_id: Identifier = Field(description="The agent handing the contact over.")
    to_queue: QueueName | None = None
    to_agent: Identifier | None = None
    reason: ShortText | None = None

    @model_validator(mode="after")
    def _one_target(self) -> Self:
        if (self.to_queue is None) == (self.to_agent is None):
            raise ValueError("give exactly one of to_queue and to_agent")
        return self


class TransferRequested(Event):
    """The agent handling a contact hands it to a queue or to another agent."""

    type_name = "contact.transfer_requested"
    type: Literal["contact.transfer_requested"] = "contact.transfer_requested"
    version: Literal[1] = 1
    data: TransferRequest


class WrapUpEnded(Event):
    """The agent finished after-contact work before the wrap-up time ran out."""

    type_name = "agent.wrap_up_ended"
    type: Literal["agent.wrap_up_ended"] = "agent.wrap_up_ended"
    version: Literal[1] = 1
    data: AgentRef
