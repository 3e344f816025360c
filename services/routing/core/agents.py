"""An agent as routing sees them: profile, presence, the contacts and offers in hand, and why they may not qualify."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from frontline.contracts.agents import AgentProfile, Presence
from frontline.contracts.contacts import Channel
from frontline.contracts.routing import AgentState


@dataclass
class Agent:
    profile: AgentProfile
    idle_since: datetime
    presence: Presence = Presence.OFFLINE
    reason: str | None = None
    wrap_up_until: datetime | None = None
    missed_offers: int = 0
    work: dict[str, Channel] = field(default_factory=dict)  # contact id → channel, assigned contacts
    offers: dict[str, tuple[str, Channel]] = field(default_factory=dict)  # offer id → (contact id, channel)
    skills: dict[str, int] = field(init=False)
    languages: frozenset[str] = field(init=False)
    load: dict[Channel, int] = field(default_factory=dict)  # contacts and offers in hand, per channel
    indexed_free: set[Channel] = field(default_factory=set)  # where the pool's `free` index lists this agent
    # Of the contacts and offers in hand: on an exclusive channel, and on a channel not interruptible
    # (counted as they come and go, so a room check is a few lookups).
    exclusive_held: int = field(default=0, init=False)
    uninterruptible_held: int = field(default=0, init=False)
    # The profile's fields read on every room check, as plain attributes and sets.
    agent_id: str = field(init=False)
    capacity: dict[Channel, int] = field(init=False)
    exclusive: frozenset[Channel] = field(init=False)
    interruptible: frozenset[Channel] = field(init=False)

    def __post_init__(self) -> None:
        self.reprofile(self.profile)

    def reprofile(self, profile: AgentProfile) -> None:
        self.profile = profile
        self.agent_id = profile.agent_id
        self.capacity = dict(profile.capacity)
        self.exclusive = frozenset(profile.exclusive_channels)
        self.interruptible = frozenset(profile.interruptible_channels)
        self.skills = {level.skill: level.proficiency for level in profile.skills}
        self.languages = frozenset(profile.languages)
        self.exclusive_held = sum(n for channel, n in self.load.items() if channel in self.exclusive)
        self.uninterruptible_held = sum(n for channel, n in self.load.items() if channel not in self.interruptible)

    def _count(self, channel: Channel, change: int) -> None:
        self.load[channel] = self.load.get(channel, 0) + change
        if channel in self.exclusive:
            self.exclusive_held += change
        if channel not in self.interruptible:
            self.uninterruptible_held += change

    @property
    def routable(self) -> bool:
        """Available and not in after-contact work: may be offered contacts (room permitting)."""
        return self.presence is Presence.AVAILABLE and self.wrap_up_until is None

    @property
    def state(self) -> AgentState:
        return self.state_with(self.presence)

    def state_with(self, presence: Presence) -> AgentState:
        """What dashboards show: presence first, then wrap-up, then busy with contacts or offers."""
        if presence is not Presence.AVAILABLE:
            return AgentState(presence.value)
        if self.wrap_up_until is not None:
            return AgentState.WRAP_UP
        if self.work or self.offers:
            return AgentState.BUSY
        return AgentState.AVAILABLE

    def channels_in_hand(self) -> list[Channel]:
        return [*self.work.values(), *(channel for _, channel in self.offers.values())]

    def hold_offer(self, offer_id: str, contact_id: str, channel: Channel) -> None:
        self.offers[offer_id] = (contact_id, channel)
        self._count(channel, 1)

    def drop_offer(self, offer_id: str) -> None:
        held = self.offers.pop(offer_id, None)
        if held is not None:
            self._count(held[1], -1)

    def hold_contact(self, contact_id: str, channel: Channel) -> None:
        self.work[contact_id] = channel
        self._count(channel, 1)

    def drop_contact(self, contact_id: str) -> bool:
        channel = self.work.pop(contact_id, None)
        if channel is None:
            return False
        self._count(channel, -1)
        return True

    def room_problem(self, channel: Channel) -> str | None:
        """Why this agent cannot take one more contact on `channel`, or None if they can."""
        if self.exclusive_held:
            return "busy on an exclusive channel"
        if self.uninterruptible_held and channel in self.exclusive:
            return f"{channel.value} needs the agent free of other contacts"
        capacity = self.capacity.get(channel, 0)
        if capacity == 0:
            return f"does not take {channel.value}"
        if self.load.get(channel, 0) >= capacity:
            return f"{channel.value} capacity {capacity} in use"
        return None

    def free_channels(self) -> list[Channel]:
        """The channels on which this agent has room for one more contact (presence aside): none
        while on an exclusive one, and no exclusive one while holding work that cannot be put aside."""
        if self.exclusive_held:
            return []
        load, exclusive = self.load, self.exclusive
        blocked = self.uninterruptible_held > 0
        return [
            channel
            for channel, capacity in self.capacity.items()
            if load.get(channel, 0) < capacity and not (blocked and channel in exclusive)
        ]

    def idle_seconds(self, now: datetime) -> float:
        return max(0.0, (now - self.idle_since).total_seconds())
