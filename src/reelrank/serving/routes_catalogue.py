"""Accounts, posts, the social graph and reports."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from reelrank.domain import Edge, EdgeKind, Post, PostPatch, Report, User, UserPatch
from reelrank.engine import Engine
from reelrank.ingest.errors import BatchRejected, ItemError
from reelrank.serving.responses import JsonResponse
from reelrank.serving.schemas import PostsBatch, UsersBatch, WriteResult

router = APIRouter(prefix="/v1", default_response_class=JsonResponse)

EDGE_PATHS = {"follows": EdgeKind.FOLLOW, "blocks": EdgeKind.BLOCK, "mutes": EdgeKind.MUTE}


def engine_of(request: Request) -> Engine:
    return request.app.state.engine


def _post_view(engine: Engine, post_id: str) -> dict[str, Any]:
    rec = engine.post_writer.get(post_id)
    body = rec.post.model_dump(mode="json", exclude={"media_vector"})
    body["has_media_vector"] = rec.post.media_vector is not None
    return body


# -- users ---------------------------------------------------------------------------------------
@router.post("/users", status_code=201, tags=["users"], summary="Create or replace a user")
def put_user(user: User, request: Request) -> WriteResult:
    engine_of(request).account_writer.put_users([user])
    return WriteResult(count=1, ids=[user.user_id])


@router.post("/users/batch", tags=["users"], summary="Create or replace many users (all or nothing)")
def put_users(batch: UsersBatch, request: Request) -> WriteResult:
    engine = engine_of(request)
    if len(batch.users) > engine.settings.max_post_batch:
        raise BatchRejected("users", [ItemError(engine.settings.max_post_batch, "users",
                                                f"at most {engine.settings.max_post_batch} users per batch")])
    engine.account_writer.put_users(batch.users)
    return WriteResult(count=len(batch.users), ids=[u.user_id for u in batch.users])


@router.get("/users/{user_id}", tags=["users"])
def get_user(user_id: str, request: Request) -> dict[str, Any]:
    _, user = engine_of(request).account_writer.get_user(user_id)
    return user.model_dump(mode="json")


@router.patch("/users/{user_id}", tags=["users"], summary="Update some fields of a user")
def patch_user(user_id: str, patch: UserPatch, request: Request) -> dict[str, Any]:
    return engine_of(request).account_writer.patch_user(user_id, patch).model_dump(mode="json")


@router.post("/users/{user_id}/{edge}/{target_id}", status_code=201, tags=["social graph"],
             summary="Follow, block or mute an account (edge = follows | blocks | mutes)")
def put_edge(user_id: str, edge: str, target_id: str, request: Request) -> dict[str, Any]:
    kind = _edge_kind(edge)
    engine_of(request).account_writer.put_edge(Edge(src=user_id, dst=target_id, kind=kind))
    return {"src": user_id, "dst": target_id, "kind": kind.value}


@router.delete("/users/{user_id}/{edge}/{target_id}", tags=["social graph"],
               summary="Unfollow, unblock or unmute an account")
def delete_edge(user_id: str, edge: str, target_id: str, request: Request) -> dict[str, Any]:
    existed = engine_of(request).account_writer.delete_edge(user_id, target_id, _edge_kind(edge))
    return {"src": user_id, "dst": target_id, "removed": existed}


def _edge_kind(edge: str) -> EdgeKind:
    kind = EDGE_PATHS.get(edge)
    if kind is None:
        raise BatchRejected("edge", [ItemError(0, "edge", f"must be one of {sorted(EDGE_PATHS)}, got '{edge}'")])
    return kind


@router.post("/reports", status_code=201, tags=["social graph"], summary="Report a post")
def report(body: Report, request: Request) -> dict[str, Any]:
    engine = engine_of(request)
    uid, pid, hidden = engine.account_writer.report(body)
    engine.seen.mark_seen({uid: {pid: float("inf")}})  # never shown to the reporter again
    return {"post_id": body.post_id, "hidden_for_everyone": hidden}


# -- posts ---------------------------------------------------------------------------------------
@router.post("/posts", status_code=201, tags=["posts"], summary="Create or replace a post")
def put_post(post: Post, request: Request) -> WriteResult:
    engine = engine_of(request)
    engine.post_writer.put([post])
    engine.metrics.posts_written.inc()
    return WriteResult(count=1, ids=[post.post_id])


@router.post("/posts/batch", tags=["posts"], summary="Create or replace many posts (all or nothing)")
def put_posts(batch: PostsBatch, request: Request) -> WriteResult:
    engine = engine_of(request)
    limit = engine.settings.max_post_batch
    if len(batch.posts) > limit:
        raise BatchRejected("posts", [ItemError(limit, "posts", f"at most {limit} posts per batch")])
    engine.post_writer.put(batch.posts)
    engine.metrics.posts_written.inc(len(batch.posts))
    return WriteResult(count=len(batch.posts), ids=[p.post_id for p in batch.posts])


@router.get("/posts/{post_id}", tags=["posts"])
def get_post(post_id: str, request: Request) -> dict[str, Any]:
    return _post_view(engine_of(request), post_id)


@router.patch("/posts/{post_id}", tags=["posts"],
              summary="Update some fields of a post (re-encoded if its text changed)")
def patch_post(post_id: str, patch: PostPatch, request: Request) -> dict[str, Any]:
    engine = engine_of(request)
    engine.post_writer.patch(post_id, patch)
    return _post_view(engine, post_id)


@router.delete("/posts/{post_id}", tags=["posts"], summary="Remove a post: it is never served again")
def delete_post(post_id: str, request: Request) -> dict[str, Any]:
    engine_of(request).post_writer.remove(post_id)
    return {"post_id": post_id, "status": "removed"}
