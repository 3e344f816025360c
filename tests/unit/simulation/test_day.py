"""The demo tenant's day in virtual time: policies do what they say, and every contact is accounted for."""

import random

import pytest

from services.routing.core.outcomes import Outcomes
from simulation import tenant
from simulation.day import DemoBehaviour, compare, day, simulate_day
from simulation.engine import run


def test_every_arriving_contact_and_every_repeat_is_answered_or_abandoned_exactly_once():
    contacts = list(day(random.Random(3), start_hour=9, hours=2, scale=1.0))
    outcome = run(tenant.queues("fifo"), tenant.agents(), contacts, DemoBehaviour(random.Random(4)))
    settled = outcome.answered + outcome.abandoned
    repeats = [c for c in settled if c.endswith("r")]
    assert sorted(c for c in settled if not c.endswith("r")) == sorted(c.contact_id for c in contacts)
    assert len(set(settled)) == len(settled)
    assert len(repeats) == outcome.repeats > 0
    assert {r.removesuffix("r") for r in repeats} <= set(outcome.answered), "only a handled contact comes back"


def test_unresolved_contacts_come_back_more_often_when_agents_do_not_fit():
    skills = simulate_day("strict", seed=9, start_hour=9, hours=3)
    fifo = simulate_day("fifo", seed=9, start_hour=9, hours=3)
    assert fifo.repeats > skills.repeats


def test_strict_skills_only_ever_reach_a_fitting_agent_and_fifo_mostly_does_not():
    strict = simulate_day("strict", seed=5, start_hour=9, hours=2)
    fifo = simulate_day("fifo", seed=5, start_hour=9, hours=2)
    assert strict.matched == 1.0
    assert fifo.matched < 0.5
    assert fifo.aht > strict.aht, "mismatched agents take longer"
    assert fifo.resolved < strict.resolved


def test_relaxation_lets_waiting_contacts_reach_agents_strict_routing_would_not():
    skills = simulate_day("skills", seed=6, start_hour=9, hours=3, scale=1.3)
    strict = simulate_day("strict", seed=6, start_hour=9, hours=3, scale=1.3)
    assert skills.matched < 1.0
    assert skills.abandonment < strict.abandonment


def test_the_same_seed_gives_the_same_day():
    assert simulate_day("skills", seed=8, start_hour=10, hours=1) == simulate_day(
        "skills", seed=8, start_hour=10, hours=1
    )


def test_an_unknown_policy_is_named():
    with pytest.raises(ValueError, match="policy: unknown 'random'"):
        tenant.queues("random")


def test_the_intraday_curve_is_closed_outside_opening_hours():
    assert tenant.rate_at(7.5) == 0.0
    assert tenant.rate_at(20.0) == 0.0
    assert tenant.rate_at(10.2) == pytest.approx(tenant.PEAK_PER_HOUR / 3600)


def test_a_comparison_spread_over_processes_gives_each_policy_its_days_in_order():
    result = compare(["strict", "fifo"], days=2, seed=11, workers=2)
    assert result.days["fifo"][1] == simulate_day("fifo", seed=12)
    assert result.days["strict"][0] == simulate_day("strict", seed=11)
    assert result.contacts == sum(f.offered for days in result.days.values() for f in days)


def test_split_queues_relax_live_contacts_in_seconds_and_let_written_ones_wait_for_a_fitting_agent():
    split = sorted(tenant.queues("split"), key=lambda q: q.order)
    for channel in tenant.Channel:
        queue = next(q for q in split if q.takes(concern="billing", channel=channel))  # as routing picks
        live = channel.value in tenant.LIVE
        assert queue.queue == ("billing" if live else "billing-written")
        assert queue.steps[-1].after_seconds == (45 if live else 7200)
    faster = simulate_day("split", seed=6, start_hour=9, hours=3)
    skills = simulate_day("skills", seed=6, start_hour=9, hours=3)
    assert faster.service_level > skills.service_level
    assert faster.abandonment < skills.abandonment


def test_value_queues_state_a_service_goal_for_every_channel_and_keep_the_skill_queues():
    value, skills = tenant.queues("value"), tenant.queues("skills")
    assert [q.queue for q in value] == [q.queue for q in skills]
    for queue in value:
        assert queue.answer_within[tenant.Channel.VOICE] == tenant.SERVICE_LEVEL_SECONDS
        assert queue.answer_within[tenant.Channel.EMAIL] > queue.answer_within[tenant.Channel.VOICE]
        assert set(queue.answer_within) == set(tenant.Channel)
    blended = tenant.agents(blended=True)
    assert all(tenant.Channel.EMAIL in a.interruptible_channels for a in blended)
    assert not any(tenant.Channel.CHAT in a.interruptible_channels for a in blended)


def test_a_short_staffed_floor_keeps_that_share_of_every_team():
    full, short = tenant.agents(), tenant.agents(0.8)
    assert len(short) == round(len(full) * 0.8)
    teams = {p.team for p in full}
    assert {p.team for p in short} == teams
    assert {p.agent_id for p in short} < {p.agent_id for p in full}
    fewer = simulate_day("skills", seed=6, start_hour=9, hours=3, staffing=0.8)
    same = simulate_day("skills", seed=6, start_hour=9, hours=3)
    assert fewer.occupancy > same.occupancy


def test_agents_have_a_pace_and_a_touch_of_their_own_that_keep_the_floors_capacity():
    ids = [f"agent-{n}" for n in range(4000)]
    paces, touches = zip(*(tenant.knack(agent_id) for agent_id in ids), strict=True)
    assert tenant.knack("agent-1") == tenant.knack("agent-1"), "the same agent every day and run"
    assert len(set(paces)) == len(ids)
    assert sum(1 / pace for pace in paces) / len(ids) == pytest.approx(1, abs=0.02), "capacity unchanged"
    assert sum(touches) / len(ids) == pytest.approx(1, abs=0.04)
    profile = tenant.agents()[0]
    fit = tenant.Fit.of(profile, tenant.SkillRequirement(skill="billing"), "en")
    assert (fit.pace, fit.touch) == tenant.knack(profile.agent_id)


def test_a_day_starts_from_what_routing_learned_the_day_before():
    first = list(day(random.Random(3), start_hour=9, hours=2, scale=1.0))
    learned = run(tenant.queues("value"), tenant.agents(), first, DemoBehaviour(random.Random(4))).learned

    def agents_records(outcomes: Outcomes) -> float:
        return sum(record.contacts for records in outcomes.agents.values() for record in records.values())

    before = agents_records(learned)
    assert before > 100
    second = list(day(random.Random(5), start_hour=9, hours=1, scale=1.0))
    outcome = run(tenant.queues("value"), tenant.agents(), second, DemoBehaviour(random.Random(6)), learned=learned)
    assert agents_records(outcome.learned) > before + 20, "it learned on, from where it was"
    assert agents_records(learned) == before, "the earlier day's records are not changed"
