from __future__ import annotations

import itertools
import random
from collections import Counter

from consumers.demo import samples
from consumers.registry import create_registry
from consumers.settings import AppSettings
from streams.demo import load_samples


def test_demo_samples_are_valid_messages_of_every_queue() -> None:
    registry = create_registry(AppSettings())
    queues: Counter[str] = Counter()
    for queue, type_, data in itertools.islice(samples(random.Random(7)), 300):
        registry.encode(queue, type_, data)  # raises ValidationError if a sample is invalid
        queues[queue] += 1
    assert set(queues) == {"events", "notifications", "ml"}


def test_the_default_demo_spec_points_at_the_godo_samples() -> None:
    assert load_samples() is samples
