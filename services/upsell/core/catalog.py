"""A tenant's offer catalog compiled for fast gating: each offer gate is one vector operation.

With a thousand offers, asking each offer's rules in Python costs milliseconds per decision; here
every rule is a boolean mask over the catalog, so a decision costs a few dozen array operations
whatever the catalog's size. The rules are the offer gates of docs/DESIGN.md §3, in this order (the
first that rules an offer out is its reason):

  offer_inactive · concern_not_applicable · channel_not_applicable · already_owned ·
  not_eligible_products · not_eligible_tier · not_eligible_new_customer · cool_down · daily_cap
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

import numpy as np
import numpy.typing as npt

from frontline.contracts.upsell import Offer
from services.upsell.core.gates import History, Situation, UpsellPolicy

Mask = npt.NDArray[np.bool_]
OFFER_GATES = (
    "offer_inactive",
    "concern_not_applicable",
    "channel_not_applicable",
    "already_owned",
    "not_eligible_products",
    "not_eligible_tier",
    "not_eligible_new_customer",
    "cool_down",
    "daily_cap",
)


class Catalog:
    """Offers in a fixed order, with the masks their rules compile to. Immutable once built."""

    def __init__(self, offers: Sequence[Offer]) -> None:
        self.offers = list(offers)
        self.position = {offer.offer_id: i for i, offer in enumerate(self.offers)}
        self.size = len(self.offers)
        self.value_weight = np.array([o.value * o.weight for o in self.offers], dtype=float)
        self._active = np.array([o.active for o in self.offers], dtype=bool)
        self._from = np.array([o.valid_from.timestamp() if o.valid_from else -np.inf for o in self.offers])
        self._until = np.array([o.valid_until.timestamp() if o.valid_until else np.inf for o in self.offers])
        self._all_concerns, self._by_concern = self._listed(o.concerns for o in self.offers)
        self._all_channels, self._by_channel = self._listed([str(c) for c in o.channels] for o in self.offers)
        _, self._by_product = self._listed([o.product] for o in self.offers)
        self._any_product, self._owns_any = self._listed(o.eligibility.owns_any for o in self.offers)
        _, self._owns_none = self._listed(o.eligibility.owns_none for o in self.offers)
        self._all_tiers, self._by_tier = self._listed(o.eligibility.tiers for o in self.offers)
        self._not_new = np.array([o.eligibility.exclude_new_customers for o in self.offers], dtype=bool)
        self._cap = np.array([o.daily_cap or np.inf for o in self.offers], dtype=float)
        self.ids = np.array([o.offer_id for o in self.offers], dtype=object)

    def _listed(self, lists: Iterable[Sequence[str]]) -> tuple[Mask, dict[str, Mask]]:
        """Offers with an empty list (no restriction), and per listed value the offers that list it."""
        unrestricted = np.zeros(self.size, dtype=bool)
        listing: dict[str, Mask] = {}
        for i, values in enumerate(lists):
            if not values:
                unrestricted[i] = True
            for value in values:
                listing.setdefault(value, np.zeros(self.size, dtype=bool))[i] = True
        return unrestricted, listing

    def _any_of(self, listing: dict[str, Mask], values: Iterable[str]) -> Mask:
        found = np.zeros(self.size, dtype=bool)
        for value in values:
            mask = listing.get(value)
            if mask is not None:
                found |= mask
        return found

    def _ruled_out(self, situation: Situation, history: History, policy: UpsellPolicy, now: datetime) -> list[Mask]:
        """One mask per gate of OFFER_GATES: the offers it rules out."""
        customer, owned = situation.customer, situation.customer.products
        at = now.timestamp()
        cooling = np.zeros(self.size, dtype=bool)
        cool_down = timedelta(days=policy.cool_down_days)
        for offer_id, declined_at in history.declined_at.items():
            i = self.position.get(offer_id)
            if i is not None and now - declined_at < cool_down:
                cooling[i] = True
        full = np.zeros(self.size, dtype=bool)
        for offer_id, count in history.suggested_today.items():
            i = self.position.get(offer_id)
            if i is not None and count >= self._cap[i]:
                full[i] = True
        owns_listed = self._any_of(self._owns_any, owned)
        return [
            ~self._active | (at < self._from) | (at >= self._until),
            ~(self._all_concerns | self._any_of(self._by_concern, [situation.concern])),
            ~(self._all_channels | self._any_of(self._by_channel, [str(situation.channel)])),
            self._any_of(self._by_product, owned),
            ~(self._any_product | owns_listed) | self._any_of(self._owns_none, owned),
            ~(self._all_tiers | self._any_of(self._by_tier, [customer.tier])),
            self._not_new & customer.new_customer,
            cooling,
            full,
        ]

    def open_offers(
        self, situation: Situation, history: History, policy: UpsellPolicy, now: datetime
    ) -> tuple[npt.NDArray[np.intp], dict[str, int]]:
        """Positions of the offers every gate lets through, and the others counted by their first reason."""
        remaining = np.ones(self.size, dtype=bool)
        excluded: dict[str, int] = {}
        for reason, out in zip(OFFER_GATES, self._ruled_out(situation, history, policy, now), strict=True):
            hit = int(np.count_nonzero(remaining & out))
            if hit:
                excluded[reason] = hit
                remaining &= ~out
        return np.flatnonzero(remaining), excluded
