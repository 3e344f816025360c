"""How urgent and how upset: multilingual lexicons, transparent scores, reasons for every point."""

from __future__ import annotations

import re
from dataclasses import dataclass

from frontline.contracts.contacts import Channel, Sentiment
from services.intake.core.text import Keywords, fold, searchable

# fmt: off
ANGER = [fold(word) for word in (
    "furious", "angry", "outraged", "unacceptable", "ridiculous", "disgrace", "disgusting", "pathetic", "scam",
    "rip-off", "rip off", "fed up", "sick of", "worst", "useless", "incompetent", "never again", "lawyer",
    "woedend", "boos", "kwaad", "belachelijk", "schandalig", "onacceptabel", "waardeloos", "oplichting",
    "zat ", "nooit meer", "advocaat", "slechtste",
    "wutend", "verargert", "sauer", "unverschamt", "frechheit", "inakzeptabel", "lacherlich", "skandal",
    "betrug", "abzocke", "nie wieder", "anwalt", "schlechteste", "reicht mir",
    "raivo", "vihainen", "suuttunut", "kohtuuton", "naurettava", "skandaali", "huijaus", "ala-arvoi",
    "ei enaa ikina", "asianajaja", "surkea", "huonointa", "riittaa",
    "arg ", "rasande", "forbannad", "oacceptabelt", "loijligt", "skandal", "bedrageri", "uselt",
    "aldrig mer", "advokat", "samsta",
    "furieux", "furieuse", "en colere", "inadmissible", "inacceptable", "ridicule", "scandaleux", "honteux",
    "arnaque", "escroquerie", "plus jamais", "avocat", "ras le bol", "lamentable",
    "furioso", "enfadado", "indignado", "inaceptable", "ridiculo", "vergonzoso", "escandaloso", "estafa",
    "timo", "nunca mas", "abogado", "harto", "lamentable",
)]
NEGATIVE = [fold(word) for word in (
    "problem", "disappointed", "unhappy", "annoyed", "again", "still", "waiting", "frustrat",
    "probleem", "teleurgesteld", "ontevreden", "weer", "nog steeds", "wachten",
    "enttauscht", "unzufrieden", "wieder", "immer noch", "warte",
    "ongelma", "pettynyt", "tyytymaton", "taas", "edelleen", "odotan",
    "besviken", "missnojd", "igen", "fortfarande", "vantar",
    "probleme", "decu", "mecontent", "encore", "toujours pas", "j'attends",
    "problema", "decepcionado", "descontento", "otra vez", "todavia", "sigo esperando",
)]
POSITIVE = [fold(word) for word in (
    "thank", "great", "happy", "love", "bedankt", "dank", "blij", "top ", "danke", "super", "zufrieden",
    "kiitos", "kiitti", "hienoa", "tack", "nojd", "bra ", "merci", "content", "genial", "gracias", "contento",
)]
URGENT = [fold(word) for word in (
    "urgent", "asap", "immediately", "right now", "emergency", "today",
    "dringend", "spoed", "meteen", "onmiddellijk", "vandaag",
    "sofort", "notfall", "heute", "eilt",
    "kiire", "heti", "valittomasti", "tanaan", "hata",
    "bradskande", "akut", "omedelbart", "genast", "idag",
    "urgence", "immediatement", "tout de suite", "aujourd'hui",
    "urgente", "inmediatamente", "ahora mismo", "hoy",
)]
# fmt: on
_ANGER, _NEGATIVE, _POSITIVE, _URGENT = (Keywords(words) for words in (ANGER, NEGATIVE, POSITIVE, URGENT))
TIER_POINTS = {"platinum": 25, "gold": 15, "silver": 5}
CHANNEL_POINTS = {
    Channel.VOICE: 15,
    Channel.WALK_IN: 15,
    Channel.CHAT: 10,
    Channel.MESSAGING: 8,
    Channel.SMS: 5,
    Channel.WEB_FORM: 0,
    Channel.EMAIL: 0,
    Channel.FAX: -5,
    Channel.POSTAL_MAIL: -10,
}
BASE_PRIORITY = 30
_SHOUTING = re.compile(r"\b[A-ZÄÖÅÜ]{4,}\b")


@dataclass(frozen=True)
class Priority:
    value: int
    reasons: list[str]


def sentiment_of(subject: str | None, text: str) -> Sentiment:
    """Lexicon score in [-1, 1]; angry when anger words come with force (several, !!, CAPITALS)."""
    raw = f"{subject or ''} {text}"
    words = searchable(raw)
    anger, negative, positive = _ANGER.count(words), _NEGATIVE.count(words), _POSITIVE.count(words)
    force = raw.count("!") >= 2 or len(_SHOUTING.findall(raw)) >= 2
    score = max(-1.0, min(1.0, (positive - negative - 2 * anger - force) / 4))
    return Sentiment(score=round(score, 2), angry=anger >= 2 or (anger >= 1 and force))


def is_urgent(subject: str | None, text: str) -> bool:
    words = searchable(f"{subject or ''} {text}")
    return bool(_URGENT.found(words))


def priority_of(*, tier: str, channel: Channel, urgent: bool, repeat: bool, angry: bool) -> Priority:
    """0-100, higher first; each contribution is named so that an agent can see why."""
    parts = [
        ("base", BASE_PRIORITY),
        (f"tier {tier}", TIER_POINTS.get(tier, 0)),
        (f"channel {channel.value}", CHANNEL_POINTS[channel]),
        ("urgent wording", 15 * urgent),
        ("repeat contact within 7 days", 10 * repeat),
        ("angry customer", 10 * angry),
    ]
    value = max(0, min(100, sum(points for _, points in parts)))
    return Priority(value, [f"{name} {points:+d}" for name, points in parts if points])
