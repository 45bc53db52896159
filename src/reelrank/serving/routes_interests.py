"""'Your Algorithm': GET and PATCH /v1/users/{id}/interests.

GET returns the topics the engine believes the person likes, each with a strength in [0, 1], where
it came from (inferred from behaviour, picked at onboarding, added by the person), its state (normal,
boosted, muted) and evidence (recent supporting actions), plus a plain-words summary. PATCH applies
{"add", "remove", "boost", "mute", "unmute", "less"} (all optional) and returns the same shape; the
very next feed page reflects the change.
"""

from __future__ import annotations

from fastapi import APIRouter, Request

from reelrank.features.user_controls import InterestsPatch
from reelrank.serving.interests import InterestsService, InterestsView
from reelrank.serving.responses import JsonResponse
from reelrank.serving.routes_catalogue import engine_of

router = APIRouter(prefix="/v1", default_response_class=JsonResponse)


@router.get("/users/{user_id}/interests", tags=["your algorithm"], response_model=InterestsView,
            summary="Topics the engine believes this person likes, with strength, origin and evidence")
def get_interests(user_id: str, request: Request) -> InterestsView:
    return InterestsService.of(engine_of(request)).view(user_id)


@router.patch("/users/{user_id}/interests", tags=["your algorithm"], response_model=InterestsView,
              summary="Add, remove, boost, mute or unmute topics, or see less of one")
def patch_interests(user_id: str, body: InterestsPatch, request: Request) -> InterestsView:
    return InterestsService.of(engine_of(request)).patch(user_id, body)
