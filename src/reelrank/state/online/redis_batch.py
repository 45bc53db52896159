"""The writes of one `RedisOnlineState.batch()` block, sent as one call of one Lua script.

A block holds the online updates of an ingest call: for 1,000 events over ~1,000 users that is ~7,000
Redis commands (SET, LPUSH + LTRIM + PEXPIRE, ZADD + ZREMRANGEBYRANK + PEXPIRE, HINCRBYFLOAT ...).
Sent as a MULTI/EXEC pipeline, redis-py packs and parses each command in Python, which was most of
the serving process's CPU (bench/bench_server_mode.py --parts ingest: 6,700 events per server
CPU-second with the pipeline, 12,700 with this script). Recorded here as flat argument lists and sent
as one EVALSHA (redis-py's Script, which loads the script on NOSCRIPT), the writes cost one command to
pack and one reply to parse. A script runs atomically, as MULTI/EXEC does: other clients see all of
a batch's writes or none.

Each op in ARGV is: code, index of its key in KEYS, n (the number of arguments that follow), then
the n arguments. TTLs are milliseconds, 0 for none.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from reelrank.state.online.base import Swapped

# S: SET key value [PX ms]           args: value, ms
# D: DEL key                         args: (none)
# L: LPUSH + LTRIM [+ PEXPIRE]       args: maxlen, ms, values...
# Z: ZADD + [ZREMRANGEBYRANK] [+ PEXPIRE]   args: maxlen (-1: none), ms, score, member, ...
# I: ZINCRBY ... + ZREMRANGEBYRANK [+ PEXPIRE]   args: maxlen, ms, amount, member, ...
# H: HINCRBYFLOAT ... [+ PEXPIRE]    args: ms, field, amount, ...
# B: BITFIELD OVERFLOW SAT INCRBY u32 [+ PEXPIRE]   args: ms, offset, amount, ...
# C: SET only if the value is still `expected` (compare-and-set)   args: has_expected (0: the key must
#    be missing), expected, value, ms; the script returns the KEYS indices of the C ops that did not match
# Long argument lists are sent to Redis in slices of 1,000 elements (Lua's unpack has a stack limit).
BATCH_SCRIPT = """
local function sliced(cmd, k, from, to, width)
  local step = 1000 * width
  for s = from, to, step do
    redis.call(cmd, k, unpack(ARGV, s, math.min(to, s + step - 1)))
  end
end
local i, n = 1, #ARGV
local failed = {}
while i <= n do
  local op, k, c = ARGV[i], KEYS[tonumber(ARGV[i + 1])], tonumber(ARGV[i + 2])
  local a, last = i + 3, i + 2 + c
  local ms = 0
  if op == 'S' then
    if tonumber(ARGV[a + 1]) > 0 then redis.call('SET', k, ARGV[a], 'PX', ARGV[a + 1])
    else redis.call('SET', k, ARGV[a]) end
  elseif op == 'D' then
    redis.call('DEL', k)
  elseif op == 'L' then
    sliced('LPUSH', k, a + 2, last, 1)
    redis.call('LTRIM', k, 0, tonumber(ARGV[a]) - 1)
    ms = tonumber(ARGV[a + 1])
  elseif op == 'Z' then
    sliced('ZADD', k, a + 2, last, 2)
    local maxlen = tonumber(ARGV[a])
    if maxlen >= 0 then redis.call('ZREMRANGEBYRANK', k, 0, -(maxlen + 1)) end
    ms = tonumber(ARGV[a + 1])
  elseif op == 'I' then
    for j = a + 2, last, 2 do redis.call('ZINCRBY', k, ARGV[j], ARGV[j + 1]) end
    redis.call('ZREMRANGEBYRANK', k, 0, -(tonumber(ARGV[a]) + 1))
    ms = tonumber(ARGV[a + 1])
  elseif op == 'H' then
    for j = a + 1, last, 2 do redis.call('HINCRBYFLOAT', k, ARGV[j], ARGV[j + 1]) end
    ms = tonumber(ARGV[a])
  elseif op == 'B' then
    for s = a + 1, last, 1024 do
      local args = {'OVERFLOW', 'SAT'}
      for j = s, math.min(last, s + 1023), 2 do
        args[#args + 1] = 'INCRBY'; args[#args + 1] = 'u32'
        args[#args + 1] = '#' .. ARGV[j]; args[#args + 1] = ARGV[j + 1]
      end
      redis.call('BITFIELD', k, unpack(args))
    end
    ms = tonumber(ARGV[a])
  elseif op == 'C' then
    local cur = redis.call('GET', k)
    local same
    if ARGV[a] == '0' then same = (cur == false) else same = (cur == ARGV[a + 1]) end
    if same then
      if tonumber(ARGV[a + 3]) > 0 then redis.call('SET', k, ARGV[a + 2], 'PX', ARGV[a + 3])
      else redis.call('SET', k, ARGV[a + 2]) end
    else
      failed[#failed + 1] = tonumber(ARGV[i + 1])
    end
  else
    return redis.error_reply('unknown batch op ' .. tostring(op))
  end
  if ms > 0 then redis.call('PEXPIRE', k, ms) end
  i = last + 1
end
return failed
"""


class BatchOps:
    """The recorded writes of one batch, in call order; `send` runs them as one script call."""

    def __init__(self) -> None:
        self.keys: list[str] = []
        self.argv: list[Any] = []
        self._swaps: dict[int, tuple[Swapped, str]] = {}  # KEYS index (1-based) of a C op -> its result

    def __len__(self) -> int:
        return len(self.keys)

    def _op(self, code: str, key: str, args: Sequence[Any]) -> None:
        self.keys.append(key)
        self.argv += [code, len(self.keys), len(args), *args]

    def set(self, key: str, value: bytes, ms: int) -> None:
        self._op("S", key, (value, ms))

    def delete(self, key: str) -> None:
        self._op("D", key, ())

    def push_capped(self, key: str, values: Sequence[bytes], maxlen: int, ms: int) -> None:
        self._op("L", key, (maxlen, ms, *values))

    def zadd(self, key: str, members: Mapping[int, float], maxlen: int | None, ms: int) -> None:
        args: list[Any] = [-1 if maxlen is None else maxlen, ms]
        for m, s in members.items():
            args += (repr(float(s)), int(m))
        self._op("Z", key, args)

    def zincr(self, key: str, members: Mapping[int, float], maxlen: int, ms: int) -> None:
        args: list[Any] = [maxlen, ms]
        for m, v in members.items():
            args += (repr(float(v)), int(m))
        self._op("I", key, args)

    def hincr(self, key: str, fields: Mapping[str, float], ms: int) -> None:
        args: list[Any] = [ms]
        for f, v in fields.items():
            args += (f, repr(float(v)))
        self._op("H", key, args)

    def array_incr(self, key: str, offsets: np.ndarray, amounts: np.ndarray, ms: int) -> None:
        args: list[Any] = [ms]
        for o, a in zip(offsets.tolist(), amounts.tolist(), strict=True):
            args += (o, a)
        self._op("B", key, args)

    def swap(self, key: str, expected: bytes | None, value: bytes, ms: int, result: Swapped, name: str) -> None:
        self._op("C", key, (0 if expected is None else 1, b"" if expected is None else expected, value, ms))
        self._swaps[len(self.keys)] = (result, name)

    def send(self, script: Any) -> None:
        """Run the recorded ops (script: a redis-py Script of BATCH_SCRIPT); fills the swaps' conflicts."""
        if self.keys:
            for index in script(keys=self.keys, args=self.argv) or ():
                result, name = self._swaps[int(index)]
                result.conflicts.add(name)
            for result, _ in self._swaps.values():
                result.done = True
