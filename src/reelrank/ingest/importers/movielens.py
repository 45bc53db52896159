"""MovieLens-1M in the standard sequential form (the SASRec / gSASRec preprocessing).

Files (one folder): ml-1m.txt ("user item" per line, each user's ratings in time order, dense ids),
sas_to_original_items.txt / sas_to_original_users.txt (dense id -> original MovieLens id),
movies.dat (id::title::genres) and users.dat (id::gender::age::occupation::zip).

Mapping onto the platform's vocabulary:
* a movie is a post: caption = title, topics = genres, created_at = 1 January of the release year;
  its creator is a per-decade account ("ml-1990s"): MovieLens has no creators, and the decade is
  the closest thing to a channel it offers;
* a user keeps region = zip prefix ("zip48"; the 2-digit prefix is a US region) and birth_year from
  the age group; gender and occupation have no field in the User model and are not imported;
* a rating is a `like`: the sequential form has no rating values (every rating is an interaction).
  Timestamps are synthetic but keep each user's order: T0 + one minute per interaction.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from reelrank.domain import Event, EventKind, Post, User

T0 = 956_620_800.0  # 2000-04-25, the start of MovieLens-1M's rating period
STEP_S = 60.0
AGE_GROUP_MID = {1: 16, 18: 21, 25: 30, 35: 40, 45: 47, 50: 53, 56: 60}  # ML-1M age codes -> typical age
REFERENCE_YEAR = 2000
FILES = ("ml-1m.txt", "movies.dat", "users.dat", "sas_to_original_items.txt", "sas_to_original_users.txt")
_YEAR = re.compile(r"\((\d{4})\)\s*$")


def post_id(movie: int) -> str:
    return f"movie{movie}"


def user_id(original_user: int) -> str:
    return f"mluser{original_user}"


def _id_map(path: Path) -> dict[int, int]:
    with open(path) as f:
        return {int(a): int(b) for a, b in (line.split() for line in f if line.strip())}


def _split_dat(path: Path) -> Iterator[list[str]]:
    with open(path, encoding="latin-1") as f:
        for line in f:
            if line.strip():
                yield line.rstrip("\n").split("::")


def missing_files(folder: Path) -> list[str]:
    return [f for f in FILES if not (Path(folder) / f).is_file()]


@dataclass
class MovieLens:
    users: list[User]  # creators first, then viewers
    posts: list[Post]
    n_events: int
    folder: Path

    def events(self) -> Iterator[Event]:
        """Every interaction as a `like`, per user in the file's (time) order."""
        items = _id_map(self.folder / "sas_to_original_items.txt")
        users = _id_map(self.folder / "sas_to_original_users.txt")
        k: dict[int, int] = {}
        with open(self.folder / "ml-1m.txt") as f:
            for line in f:
                if not line.strip():
                    continue
                u, i = map(int, line.split())
                n = k.get(u, 0)
                k[u] = n + 1
                yield Event(event_id=f"ml1m-{u}-{n}", user_id=user_id(users[u]), post_id=post_id(items[i]),
                            kind=EventKind.LIKE, ts=T0 + n * STEP_S)


def read_movielens(folder: Path) -> MovieLens:
    folder = Path(folder)
    missing = missing_files(folder)
    if missing:
        raise FileNotFoundError(f"{folder} lacks {', '.join(missing)} (MovieLens-1M in the sequential form)")
    items = _id_map(folder / "sas_to_original_items.txt")
    wanted_movies = set(items.values())
    posts: list[Post] = []
    decades: set[str] = set()
    for mid, title, genres in _split_dat(folder / "movies.dat"):
        if int(mid) not in wanted_movies:
            continue
        m = _YEAR.search(title)
        year = int(m.group(1)) if m else 1990
        creator = f"ml-{year // 10 * 10}s"
        decades.add(creator)
        created = float(calendar.timegm((year, 1, 1, 0, 0, 0)))  # 1 January of the release year
        posts.append(Post(post_id=post_id(int(mid)), creator_id=creator, caption=title,
                          topics=[g for g in genres.split("|") if g][:16], created_at=created))
    wanted_users = set(_id_map(folder / "sas_to_original_users.txt").values())
    viewers = []
    for uid, _gender, age, _occupation, zipcode in _split_dat(folder / "users.dat"):
        if int(uid) not in wanted_users:
            continue
        prefix = "".join(c for c in zipcode if c.isalnum())[:2]
        viewers.append(User(user_id=user_id(int(uid)), region=f"zip{prefix}" if len(prefix) == 2 else "US",
                            birth_year=REFERENCE_YEAR - AGE_GROUP_MID.get(int(age), 30), created_at=T0))
    with open(folder / "ml-1m.txt") as f:
        n_events = sum(1 for line in f if line.strip())
    creators = [User(user_id=c, created_at=T0) for c in sorted(decades)]
    return MovieLens(creators + viewers, posts, n_events, folder)
