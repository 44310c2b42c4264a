#!/usr/bin/env python3
"""Hostile clients for bench/hostile.sh (standard library only, asyncio).

  hostile.py attack PORT SLOW IDLE SECONDS
      Keeps SLOW slow-body connections (headers, then 1 byte a second of a body that is
      never finished; reopened when the server closes them) and IDLE idle keep-alive
      connections (one GET /ping, then silence) open against 127.0.0.1:PORT for SECONDS,
      probing GET /ping on a fresh connection every 100 ms. Prints one JSON object: how
      many of each were open (min over the run once all were open), the /ping latencies
      (ms: p50, p99, max) and statuses, and what the slow ones were answered.

  hostile.py sigterm PORT PID CONNS
      CONNS keep-alive clients send POST /invocations in a loop; after 2 s the server (PID)
      gets SIGTERM. A client told `Connection: close` checks /ping on a fresh connection,
      as a load balancer would, and stops when the server is out (503 or refused). Every
      request is counted: answered, lost (sent, and the connection ended without an
      answer) or refused (the connection was refused before anything was sent). Prints one
      JSON object.
"""
import asyncio
import json
import os
import signal
import sys
import time

HOST = "127.0.0.1"
BODY = b'"so soft and it fits"'


async def read_response(reader):
    """(status, headers dict, body) of one response, or None if the connection ended."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
        return None
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            headers[k.strip().lower()] = v.strip()
    try:
        body = await reader.readexactly(int(headers.get("content-length", "0")))
    except (asyncio.IncompleteReadError, ConnectionError):
        return None
    return status, headers, body


async def ping(port):
    """(status or None, ms) of GET /ping on a fresh connection."""
    t = time.perf_counter()
    try:
        reader, writer = await asyncio.open_connection(HOST, port)
    except OSError:
        return None, (time.perf_counter() - t) * 1000
    writer.write(b"GET /ping HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
    r = await read_response(reader)
    ms = (time.perf_counter() - t) * 1000
    writer.close()
    return (r[0] if r else None), ms


def pct(values, p):
    if not values:
        return None
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


async def attack(port, slow, idle, seconds):
    state = {"slow_open": 0, "idle_open": 0, "slow_answers": {}, "slow_opened": 0, "idle_reopened": 0}
    stop = asyncio.Event()

    async def slow_body():
        while not stop.is_set():
            try:
                reader, writer = await asyncio.open_connection(HOST, port)
            except OSError:
                await asyncio.sleep(0.5)
                continue
            state["slow_opened"] += 1
            writer.write(b"POST /invocations HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
                         b"content-length: 100000\r\n\r\n[")
            state["slow_open"] += 1
            answer = asyncio.ensure_future(read_response(reader))
            while not stop.is_set() and not answer.done():
                try:
                    writer.write(b" ")
                    await writer.drain()
                except ConnectionError:
                    break
                await asyncio.wait([answer], timeout=1.0)
            state["slow_open"] -= 1
            if answer.done() and answer.result():
                code = str(answer.result()[0])
                state["slow_answers"][code] = state["slow_answers"].get(code, 0) + 1
            answer.cancel()
            writer.close()

    async def idle_conn():
        first = True
        while not stop.is_set():
            try:
                reader, writer = await asyncio.open_connection(HOST, port)
            except OSError:
                await asyncio.sleep(0.5)
                continue
            if not first:
                state["idle_reopened"] += 1
            first = False
            writer.write(b"GET /ping HTTP/1.1\r\nhost: x\r\n\r\n")
            if await read_response(reader) is None:
                writer.close()
                continue
            state["idle_open"] += 1
            closed = asyncio.ensure_future(reader.read(1))
            await asyncio.wait([closed, asyncio.ensure_future(stop.wait())],
                               return_when=asyncio.FIRST_COMPLETED)
            state["idle_open"] -= 1
            closed.cancel()
            writer.close()

    tasks = [asyncio.ensure_future(slow_body()) for _ in range(slow)]
    tasks += [asyncio.ensure_future(idle_conn()) for _ in range(idle)]
    # Wait (bounded) until everything is open, then measure.
    for _ in range(600):
        if state["slow_open"] >= slow and state["idle_open"] >= idle:
            break
        await asyncio.sleep(0.1)
    lat, statuses, min_slow, min_idle = [], {}, slow, idle
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        status, ms = await ping(port)
        lat.append(ms)
        statuses[str(status)] = statuses.get(str(status), 0) + 1
        min_slow = min(min_slow, state["slow_open"])
        min_idle = min(min_idle, state["idle_open"])
        await asyncio.sleep(0.1)
    stop.set()
    await asyncio.wait(tasks, timeout=5)
    print(json.dumps({
        "slow_target": slow, "idle_target": idle,
        "slow_open_min": min_slow, "idle_open_min": min_idle,
        "slow_connections_opened": state["slow_opened"], "slow_answers": state["slow_answers"],
        "idle_reopened": state["idle_reopened"],
        "ping": {"count": len(lat), "statuses": statuses, "p50_ms": pct(lat, 50),
                 "p99_ms": pct(lat, 99), "max_ms": max(lat) if lat else None},
    }))


async def sigterm(port, pid, conns):
    counts = {"answered": 0, "lost": 0, "refused": 0, "not_200": 0, "told_to_close": 0}
    request = (b"POST /invocations HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
               b"content-length: %d\r\n\r\n%s" % (len(BODY), BODY))

    async def client():
        reader = writer = None
        while True:
            if writer is None:
                try:
                    reader, writer = await asyncio.open_connection(HOST, port)
                except OSError:
                    counts["refused"] += 1
                    return
            try:
                writer.write(request)
                await writer.drain()
            except ConnectionError:
                # Nothing of it reached a live connection: the server had closed it.
                counts["lost"] += 1
                writer = None
                continue
            r = await read_response(reader)
            if r is None:
                counts["lost"] += 1
                writer.close()
                writer = None
                continue
            counts["answered"] += 1
            if r[0] != 200:
                counts["not_200"] += 1
            if r[1].get("connection", "").lower() == "close":
                counts["told_to_close"] += 1
                writer.close()
                writer = None
                status, _ = await ping(port)
                if status != 200:
                    return

    tasks = [asyncio.ensure_future(client()) for _ in range(conns)]
    await asyncio.sleep(2)
    before = counts["answered"]
    os.kill(pid, signal.SIGTERM)
    await asyncio.wait(tasks, timeout=120)
    counts["answered_before_sigterm"] = before
    counts["clients"] = conns
    print(json.dumps(counts))


def main():
    mode = sys.argv[1]
    if mode == "attack":
        port, slow, idle, seconds = map(int, sys.argv[2:6])
        asyncio.run(attack(port, slow, idle, seconds))
    elif mode == "sigterm":
        port, pid, conns = map(int, sys.argv[2:5])
        asyncio.run(sigterm(port, pid, conns))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
