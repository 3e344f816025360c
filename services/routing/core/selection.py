"""Which contact-agent pairs to offer after a command, and the explanation of each decision.

Two passes run after every command: agents that gained room take the contact that has waited
longest by priority-with-aging (one they fully fit with a head start), then contacts that became
routable look for the best agent among those still free (the customer's language, skill levels,
then longest idle; `matching`). A contact past its class's maximum wait is overdue: overdue
contacts go first, and their (queue, class) lines take turns, least recently served first,
so an overloaded class cannot starve another one.
"""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import datetime
from typing import TYPE_CHECKING

from frontline.contracts.contacts import Channel
from frontline.contracts.routing import Decision, Exclusion, RoutingDecision, Trigger
from services.routing.core.agents import Agent
from services.routing.core.contacts import Contact, Stage
from services.routing.core.matching import (
    EXPLAINED_EXCLUSIONS,
    exclusion,
    fit_gap,
    score,
    search_agents,
    unfit,
    why_not,
)
from services.routing.core.pace import step_due

if TYPE_CHECKING:
    from services.routing.core.router import Router
    from services.routing.core.state import PoolState

UNAVAILABLE = "not available (offline, away or in wrap-up)"
# A free agent takes a contact it fully fits before one it does not fit that waited up to this much
# longer: the good match now, and the other contact to someone who fits it (overdue ones still go first).
FIT_HEAD_START = 60.0
SAMPLE_LOOKS = 100  # agents looked at for the sample of those ruled out early (all are counted by reason)


class Selection:
    def __init__(self, router: Router) -> None:
        self._router = router
        self._contacts: dict[str, Trigger] = {}
        self._agents: dict[str, None] = {}

    def contact_ready(self, contact_id: str, trigger: Trigger) -> None:
        self._contacts.setdefault(contact_id, trigger)

    def agent_ready(self, agent_id: str) -> None:
        self._agents[agent_id] = None

    def route(self, now: datetime) -> None:
        contacts, self._contacts = self._contacts, {}
        agents, self._agents = self._agents, {}
        pool = self._router
        # Agents first: one who just gained room takes the most deserving contact of the whole pool,
        # not whichever contact happened to become routable at the same moment.
        for agent_id in agents:
            self._fill(agent_id, now)
        ready = [pool.contacts[c] for c in contacts if c in pool.contacts and pool.contacts[c].stage is Stage.WAITING]
        epoch = now.timestamp()
        ready.sort(key=lambda contact: (contact.overdue_at > epoch, contact.aging_key))
        for contact in ready:
            if contact.stage is Stage.WAITING:
                self._find_agent(contact, contacts[contact.contact_id], now)

    def _find_agent(self, contact: Contact, trigger: Trigger, now: datetime) -> None:
        pool = self._router
        contact.step = step_due(pool, contact, now)
        considered, counts = self._considered(contact)
        search = search_agents(
            contact,
            considered,
            preferred_agent=self.preferred_agent(contact, now),
            now=now,
            outcomes=pool.outcomes,
        )
        counts.update(search.excluded_counts)
        excluded = search.excluded + self._sample_of_others(
            contact, considered, EXPLAINED_EXCLUSIONS - len(search.excluded)
        )
        best = search.best
        decision = Decision(
            contact_id=contact.contact_id,
            queue=contact.queue,
            trigger=trigger,
            step=contact.step,
            requirements=contact.requirements(),
            chosen=best.as_candidate() if best else None,
            candidates=search.candidates(),
            excluded=excluded,
            excluded_counts=dict(counts),
            waited_seconds=contact.waited_seconds(now),
            answer_within=contact.goal(),
        )
        pool.emit(RoutingDecision, decision, now)
        if best is not None:
            pool.offer(contact, best.agent, now)

    def _considered(self, contact: Contact) -> tuple[list[Agent], Counter[str]]:
        """The agents worth checking one by one (free on the channel, with the scarcest skill);
        the rest are counted by reason."""
        pool = self._router
        channel = contact.channel
        counts: Counter[str] = Counter()
        candidates, routable = pool.free_on(channel), pool.routable_count()
        if len(pool.agents) > routable:
            counts[UNAVAILABLE] = len(pool.agents) - routable
        if routable > len(candidates):
            counts[f"no room for {channel.value}"] = routable - len(candidates)
        required = contact.required_skills()
        if required:
            scarcest = min(required, key=lambda skill: len(pool.by_skill.get(skill, ())))
            skilled = candidates & pool.by_skill.get(scarcest, set())
            if len(candidates) > len(skilled):
                counts[f"lacks skill {scarcest}"] = len(candidates) - len(skilled)
            candidates = skilled
        return [pool.agents[agent_id] for agent_id in candidates], counts

    def _sample_of_others(self, contact: Contact, considered: list[Agent], size: int) -> list[Exclusion]:
        """A few agents ruled out before scoring (unavailable, no room, lacking the skill), with their reason."""
        sample: list[Exclusion] = []
        if size <= 0 or len(considered) == len(self._router.agents):
            return sample
        checked = {agent.agent_id for agent in considered}
        for agent_id, agent in itertools.islice(self._router.agents.items(), SAMPLE_LOOKS):
            if agent_id in checked:
                continue
            reason = why_not(agent, contact)
            if reason is not None:
                sample.append(exclusion(agent_id, reason))
                if len(sample) == size:
                    break
        return sample

    def preferred_agent(self, contact: Contact, now: datetime) -> str | None:
        """The customer's last agent, if they served them within the queue's sticky window."""
        customer = contact.queued.customer_id
        last = self._router.last_agent.get(customer) if customer else None
        if last is None or now.timestamp() - last[1] > contact.policy.sticky_agent_seconds:
            return None
        return last[0]

    def _fill(self, agent_id: str, now: datetime) -> None:
        pool = self._router
        agent = pool.agents.get(agent_id)
        while agent is not None and agent.routable:
            contact = self._best_contact_for(agent, set(agent.free_channels()), now)
            if contact is None:
                return
            preferred = self.preferred_agent(contact, now)
            chosen = score(agent, contact, preferred_agent=preferred, now=now, outcomes=pool.outcomes).as_candidate()
            decision = Decision(
                contact_id=contact.contact_id,
                queue=contact.queue,
                trigger=Trigger.CAPACITY_FREED,
                step=contact.step,
                requirements=contact.requirements(),
                chosen=chosen,
                candidates=[chosen],
                waited_seconds=contact.waited_seconds(now),
                answer_within=contact.goal(),
            )
            pool.emit(RoutingDecision, decision, now)
            pool.offer(contact, agent, now)

    def _best_contact_for(self, agent: Agent, rooms: set[Channel], now: datetime) -> Contact | None:
        if not rooms:
            return None
        pool, epoch = self._router, now.timestamp()
        overdue = sorted(
            (pool.class_served.get(key, 0.0), key)
            for key, line in pool.overdue_lines.items()
            if line and line[0][0] <= epoch
        )
        skills_or_none = {*agent.skills, None} if overdue else set()
        for _, key in overdue:
            for due, contact_id in pool.overdue_lines[key]:
                if due > epoch:
                    break
                contact = pool.contacts[contact_id]
                # filed under its channel and a skill it requires (`_bucket`): a quick no when the agent
                # has no room on that channel or lacks that skill
                bucket = contact.bucket
                if bucket is not None and (bucket[0] not in rooms or bucket[1] not in skills_or_none):
                    continue
                if takes(agent, rooms, contact):
                    return contact
        return first_in_line(pool, agent, rooms)


def first_in_line(pool: PoolState, agent: Agent, rooms: set[Channel]) -> Contact | None:
    """The waiting contact `agent` takes first by aging (smallest key), a contact it fully fits with a
    head start of `FIT_HEAD_START`, looking only in the buckets it could take one from: its rooms'
    channels, its skills and no skill."""
    best: tuple[float, str] | None = None
    for channel in rooms:
        for skill in (*agent.skills, None):
            for entry in pool.waiting_by.get((channel, skill), ()):
                if best is not None and (entry[0] - FIT_HEAD_START, entry[1]) >= best:
                    break
                contact = pool.contacts[entry[1]]
                if takes(agent, rooms, contact):
                    key = (entry[0] - FIT_HEAD_START, entry[1]) if fits_fully(agent, contact) else entry
                    if best is None or key < best:
                        best = key
    return pool.contacts[best[1]] if best is not None else None


def fits_fully(agent: Agent, contact: Contact) -> bool:
    """The agent speaks the customer's language and has every skill at the first step's level."""
    speaks, short = fit_gap(agent, contact)
    return speaks and short == 0


def takes(agent: Agent, rooms: set[Channel], contact: Contact) -> bool:
    return contact.channel in rooms and agent.agent_id not in contact.declined_by and unfit(agent, contact) is None
