"""User controls as data: how each PATCH verb changes the stored controls and the effective affinity."""

from __future__ import annotations

import math

import pytest
from pydantic import ValidationError

from reelrank.domain import HIDDEN_POSTS_KEPT, User
from reelrank.features.user_controls import InterestsPatch, apply_patch, effective_affinity, with_hidden_posts

TAU = 14 * 86_400.0
NOW = 1_800_000_000.0


def patched(user: User, raw: dict[str, float], **body: list[str]) -> User:
    return apply_patch(user, InterestsPatch(**body), raw, NOW, TAU, less_amount=4.0)


def eff(user: User, raw: dict[str, float], at: float = NOW) -> dict[str, float]:
    return effective_affinity(raw, user.controls, at, TAU)


def test_remove_forgets_what_was_learned_and_new_evidence_counts_again() -> None:
    u = User(user_id="u", interests=["cooking"])
    raw = {"cooking": 5.0}
    u = patched(u, raw, boost=["cooking"], add=["music"])
    assert u.controls.boosted == ["cooking"] and u.controls.added == ["music"]
    u = patched(u, raw, remove=["cooking", "music"])
    assert u.interests == [] and u.controls.boosted == [] and u.controls.added == []
    assert eff(u, raw)["cooking"] == pytest.approx(0.0, abs=1e-9)
    # A day later: the old evidence decayed, and so did its cancellation; a new like counts in full.
    later = NOW + 86_400.0
    decay = math.exp(-86_400.0 / TAU)
    assert eff(u, {"cooking": 5.0 * decay + 1.0}, later)["cooking"] == pytest.approx(1.0)


def test_less_goes_negative_and_add_forgives_it() -> None:
    u = patched(User(user_id="u"), {"travel": 2.0}, less=["travel"])
    assert eff(u, {"travel": 2.0})["travel"] == pytest.approx(-4.0)
    u = patched(u, {"travel": 2.0}, add=["travel"])
    assert eff(u, {"travel": 2.0})["travel"] == pytest.approx(0.0, abs=1e-9)
    assert u.controls.added == ["travel"]


def test_mute_wins_over_boost_and_unmute_restores() -> None:
    u = patched(User(user_id="u"), {}, boost=["x"])
    assert u.controls.added == ["x"]  # boosting an unknown topic also adds it
    u = patched(u, {}, mute=["x"])
    assert u.controls.muted == ["x"] and u.controls.boosted == []
    u = patched(u, {}, unmute=["x"])
    assert u.controls.muted == []


def test_contradictions_are_refused_and_unknown_verbs_too() -> None:
    with pytest.raises(ValidationError, match="add and remove"):
        InterestsPatch(add=["a"], remove=["a"])
    with pytest.raises(ValidationError):
        InterestsPatch.model_validate({"delete": ["a"]})
    InterestsPatch(add=["a"], boost=["a"])  # compatible


def test_hidden_posts_are_kept_newest_last_and_bounded() -> None:
    u = with_hidden_posts(User(user_id="u"), ["a", "b", "a"])
    assert u.controls.hidden_posts == ["a", "b"]
    assert with_hidden_posts(u, ["a"]) is u
    u = with_hidden_posts(u, [f"p{i}" for i in range(HIDDEN_POSTS_KEPT)])
    assert len(u.controls.hidden_posts) == HIDDEN_POSTS_KEPT
    assert u.controls.hidden_posts[-1] == f"p{HIDDEN_POSTS_KEPT - 1}"
