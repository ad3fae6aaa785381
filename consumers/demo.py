"""Realistic sample traffic for `streams dev --demo`: events, notifications and refreshes."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Final

CITIES: Final = ("Berlin", "Lisbon", "Amsterdam", "Paris", "Barcelona")
SOURCES: Final = ("eventbrite", "meetup", "ticketmaster", "songkick")
TOPICS: Final = {
    "jazz": "Jazz Night at {venue}",
    "techno": "Techno Warehouse Party",
    "python": "Python Meetup: async in practice",
    "food": "Street Food Market",
    "art": "Gallery Opening: New Voices",
    "running": "Sunday 10k Fun Run",
    "film": "Open-Air Cinema: classics",
}
VENUES: Final = ("Kesselhaus", "A-Trane", "Paradiso", "Le Trabendo", "Razzmatazz", "Town Hall")


def _event(rng: random.Random) -> dict[str, object]:
    topic = rng.choice(list(TOPICS))
    venue = rng.choice(VENUES)
    starts = datetime.now(UTC) + timedelta(hours=rng.randint(1, 30 * 24))
    # A small id space, so the same event is rediscovered now and then (deduplicated).
    return {
        "source": rng.choice(SOURCES),
        "external_id": str(rng.randint(1, 400)),
        "title": TOPICS[topic].format(venue=venue),
        "starts_at": starts.replace(minute=0, second=0, microsecond=0).isoformat(),
        "venue": venue,
        "city": rng.choice(CITIES),
        "tags": [*rng.sample(list(TOPICS), k=rng.randint(1, 3)), topic],
    }


def _notification(rng: random.Random) -> dict[str, object]:
    return {
        "user_id": f"user-{rng.randint(1, 50)}",
        "channel": "log",
        "template": "event.reminder",
        "data": {
            "title": rng.choice(list(TOPICS.values())).format(venue="the venue"),
            "starts_at": "8pm",
        },
    }


def _refresh(rng: random.Random) -> dict[str, object]:
    return {
        "user_id": f"user-{rng.randint(1, 50)}",
        "interests": rng.sample([*TOPICS, *(c.lower() for c in CITIES)], k=3),
    }


def samples(rng: random.Random) -> Iterator[tuple[str, str, object]]:
    """Endless sample messages: mostly discovered events, some notifications and refreshes."""
    while True:
        roll = rng.random()
        if roll < 0.6:
            yield "events", "event.discovered", _event(rng)
        elif roll < 0.85:
            yield "notifications", "notification.requested", _notification(rng)
        else:
            yield "ml", "recommendations.refresh", _refresh(rng)
