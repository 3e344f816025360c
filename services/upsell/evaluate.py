"""`python -m services.upsell.evaluate --tenant T --policy P [--policy P ...]`: what acceptance rate a
candidate policy would have had on the decisions upsell logged, before it meets any customer.

Reads the tenant's decisions and outcomes from upsell's topics (as the service's ledger does) and
the current catalog from the store, and prints inverse-propensity (IPS, with a 95% interval) and
self-normalised (SNIPS) estimates. Policies:

  logged         the policy that made the decisions (a check: IPS = the observed rate)
  uniform        any open offer, equally likely
  value          the open offer of highest value x weight (today's catalog)
  offer:<id>     always that offer, when it is open
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from rich.console import Console
from rich.table import Table

from frontline.plumbing.mongo import connect
from frontline.plumbing.settings import get_settings
from services.upsell.core.evaluation import Estimate, Logged, Policy, estimate
from services.upsell.core.ledger import Ledger
from services.upsell.reader import LedgerReader
from services.upsell.store import UpsellStore


def policy_named(name: str, values: dict[str, float]) -> Policy:
    if name == "logged":
        return lambda d: d.choice_probability
    if name == "uniform":
        return lambda d: 1 / len(d.candidates)
    if name == "value":

        def best_value(d: Logged) -> float:
            top = max(values.get(o, 0.0) for o in d.candidates)
            best = [o for o in d.candidates if values.get(o, 0.0) == top]
            return 1 / len(best) if d.offer_id in best else 0.0

        return best_value
    if name.startswith("offer:"):
        wanted = name.removeprefix("offer:")
        return lambda d: 1.0 if d.offer_id == wanted else 0.0
    raise ValueError(f"unknown policy {name!r}: logged, uniform, value or offer:<id>")


def logged_decisions(ledger: Ledger, tenant: str) -> list[Logged]:
    """The answered suggestions: each with the offers that were open and the probability logged."""
    book = ledger.book(tenant)
    return [
        Logged(
            candidates=tuple(d.candidates),
            offer_id=d.offer_id,
            choice_probability=d.choice_probability,
            accepted=d.outcome == "accepted",
        )
        for d in book.decisions.values()
        if d.shown and d.outcome is not None and d.offer_id is not None and d.choice_probability and d.candidates
    ]


async def evaluate(tenant: str, names: list[str]) -> list[tuple[str, Estimate]]:
    settings = get_settings()
    mongo = connect(settings, app_name="frontline-upsell-evaluate")
    try:
        offers = await UpsellStore(mongo[settings.mongodb_database]).offers(tenant)
    finally:
        await mongo.close()
    values = {o.offer_id: o.value * o.weight for o in offers}
    policies = [(name, policy_named(name, values)) for name in names]
    reader = LedgerReader(settings, Ledger())
    await reader.start()
    try:
        await reader.read_up_to_now()
    finally:
        await reader.stop()
    logged = logged_decisions(reader.ledger, tenant)
    return [(name, estimate(logged, policy)) for name, policy in policies]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tenant", required=True)
    parser.add_argument("--policy", action="append", default=[], help="repeatable; default: logged, uniform, value")
    args = parser.parse_args(argv)
    names = args.policy or ["logged", "uniform", "value"]
    try:
        for name in names:
            policy_named(name, {})
    except ValueError as error:
        parser.error(str(error))
    results = asyncio.run(evaluate(args.tenant, names))
    table = Table(title=f"Offline evaluation, tenant {args.tenant}: acceptance rate per suggestion")
    for column in ("policy", "decisions", "IPS", "95% interval", "SNIPS"):
        table.add_column(column)
    for name, result in results:
        table.add_row(
            name,
            str(result.decisions),
            f"{result.ips:.4f}",
            f"[{result.low:.4f}, {result.high:.4f}]",
            f"{result.snips:.4f}",
        )
    Console().print(table)
    if results and results[0][1].decisions == 0:
        print("no answered suggestions logged for this tenant yet", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
