"""Which contact-agent pairs to offer after a command, and the explanation of each decision.

Two passes run after every command: agents that gained room take the contact that has waited
longest by priority-with-aging, then contacts that became routable look for the best agent
among those still free (best fit, then longest idle). A contact past its class's maximum wait is overdue: overdue
contacts go first, and their (queue, class) lines take turns, least recently served first,
so an overloaded class cannot starve another one.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import TYPE_CHECKING

from frontline.contracts.routing import Decision, RoutingDecision, Trigger
from services.routing.core.agents import Agent
from services.routing.core.contacts import Contact, Stage
from services.routing.core.matching import score, search_agents, why_not

if TYPE_CHECKING:
    from services.routing.core.router import Router

UNAVAILABLE = "not available (offline, away or in wrap-up)"


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
        ready.sort(key=lambda contact: (contact.overdue_at() > epoch, contact.aging_key))
        for contact in ready:
            if contact.stage is Stage.WAITING:
                self._find_agent(contact, contacts[contact.contact_id], now)

    def _find_agent(self, contact: Contact, trigger: Trigger, now: datetime) -> None:
        pool = self._router
        waited_in_queue = (now - contact.queued.queued_at).total_seconds()
        contact.step = contact.policy.step_at(waited_in_queue)
        considered, counts = self._considered(contact)
        search = search_agents(contact, considered, preferred_agent=self.preferred_agent(contact, now), now=now)
        counts.update(search.excluded_counts)
        best = search.best
        decision = Decision(
            contact_id=contact.contact_id,
            queue=contact.queue,
            trigger=trigger,
            step=contact.step,
            requirements=contact.requirements(),
            chosen=best.as_candidate() if best else None,
            candidates=search.candidates(),
            excluded=search.excluded,
            excluded_counts=dict(counts),
        )
        pool.emit(RoutingDecision, decision, now)
        if best is not None:
            pool.offer(contact, best.agent, now)

    def _considered(self, contact: Contact) -> tuple[list[Agent], Counter[str]]:
        """The routable agents worth checking one by one; the rest are counted by reason."""
        pool = self._router
        counts: Counter[str] = Counter()
        if len(pool.agents) > len(pool.routable):
            counts[UNAVAILABLE] = len(pool.agents) - len(pool.routable)
        candidates: set[str] = pool.routable
        required = contact.required_skills()
        if required:
            scarcest = min(required, key=lambda skill: len(pool.routable_by_skill.get(skill, ())))
            candidates = pool.routable_by_skill.get(scarcest, set())
            if len(pool.routable) > len(candidates):
                counts[f"lacks skill {scarcest}"] = len(pool.routable) - len(candidates)
        return [pool.agents[agent_id] for agent_id in candidates], counts

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
        while agent is not None and agent.routable and agent.has_room_on_some_channel():
            contact = self._best_contact_for(agent, now)
            if contact is None:
                return
            chosen = score(agent, contact, preferred_agent=self.preferred_agent(contact, now), now=now)
            decision = Decision(
                contact_id=contact.contact_id,
                queue=contact.queue,
                trigger=Trigger.CAPACITY_FREED,
                step=contact.step,
                requirements=contact.requirements(),
                chosen=chosen.as_candidate(),
                candidates=[chosen.as_candidate()],
            )
            pool.emit(RoutingDecision, decision, now)
            pool.offer(contact, agent, now)

    def _best_contact_for(self, agent: Agent, now: datetime) -> Contact | None:
        pool, epoch = self._router, now.timestamp()
        overdue = sorted(
            (pool.class_served.get(key, 0.0), key)
            for key, line in pool.overdue_lines.items()
            if line and line[0][0] <= epoch
        )
        for _, key in overdue:
            for due, contact_id in pool.overdue_lines[key]:
                if due > epoch:
                    break
                contact = pool.contacts[contact_id]
                if _takes(agent, contact):
                    return contact
        for _, contact_id in pool.waiting:
            contact = pool.contacts[contact_id]
            if _takes(agent, contact):
                return contact
        return None


def _takes(agent: Agent, contact: Contact) -> bool:
    return agent.agent_id not in contact.declined_by and why_not(agent, contact) is None
