#!/usr/bin/env python3
"""The hashtag hour, played through nginx against the cluster that .ci/cluster starts.

Every fan, and every other client, connects from a loopback address of its own (127.x.y.z), so
nginx's X-Forwarded-For names a real, distinct client IP to fandb, as on the internet. Prints one
summary line, and exits non-zero on anything lost, double-counted or refused that should not be.
"""

import argparse
import asyncio
import json
import os
import random
import resource
import subprocess
import sys
import time

import aiohttp

LB = "http://127.0.0.1:8080"
PROCESSES = [8001, 8002, 8003]
FANS = 500
SUBSCRIBERS = 60
PETITION_SLUG = "hashtag-hour-open-letter"
BURST = 50  # FANDB_RATE_LIMIT_BURST in .ci/cluster
RATE = 10  # FANDB_RATE_LIMIT_PER_SECOND in .ci/cluster
LOCK_AFTER_IPS = 5  # FANDB_LOGIN_LOCK_AFTER_IPS in .ci/cluster
MAX_LAG = 2  # FANDB_REPLICA_MAX_LAG in .ci/cluster

failures = []


def check(condition, message):
    if not condition:
        failures.append(message)
        print(f"hashtag hour: FAILED: {message}", file=sys.stderr, flush=True)


def address(block, index):
    """A loopback address of its own for client `index` of `block` (fans are block 1)."""
    return f"127.{block}.{index // 250}.{index % 250 + 1}"


def session_from(source):
    connector = aiohttp.TCPConnector(local_addr=(source, 0), limit=8, force_close=False)
    return aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=60))


def code_of(body):
    errors = (body or {}).get("errors") or []
    return (errors[0].get("extensions") or {}).get("code") if errors else None


async def post(session, query, variables=None, token=None, base=LB):
    headers = {"content-type": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    async with session.post(f"{base}/graphql", json={"query": query, "variables": variables or {}},
                            headers=headers) as response:
        text = await response.text()
        try:
            body = json.loads(text)
        except ValueError:
            body = None
        return response.status, body


async def until_done(session, query, variables=None, token=None, what="request", patience=180):
    """Sends until it succeeds, as a browser client would: a refusal with a retry hint waits that
    long; a process that went away (502, a reset connection) or a busy database
    (SERVICE_UNAVAILABLE) is tried again after a growing, jittered pause. Gives up after
    `patience` seconds. Returns (data, retries)."""
    retries = 0
    deadline = time.monotonic() + patience
    pause = 0.2
    while True:
        try:
            status, body = await post(session, query, variables, token)
        except (aiohttp.ClientError, asyncio.TimeoutError):
            status, body = 0, None
        if status == 200 and body and not body.get("errors"):
            return body["data"], retries
        retries += 1
        code = code_of(body)
        if code == "RATE_LIMITED":
            wait = max(0.2, float(body["errors"][0]["extensions"].get("retryAfter", 1)))
        elif status == 429:
            wait = 1.0
        elif status in (0, 502, 503, 504) or code == "SERVICE_UNAVAILABLE":
            wait = pause * (0.5 + random.random())
            pause = min(pause * 1.5, 3.0)
        else:
            raise RuntimeError(f"{what}: HTTP {status} {json.dumps(body)[:300]}")
        if time.monotonic() + wait > deadline:
            raise RuntimeError(f"{what}: no success within {patience} s ({retries} attempts, last HTTP {status} {code})")
        await asyncio.sleep(wait)


def psql(sql):
    env = dict(os.environ, PGPASSWORD=ARGS.password)
    out = subprocess.run(["psql", "-h", "127.0.0.1", "-p", "5433", "-U", "fandb", "-qAt", "-c", sql, "fandb"],
                         env=env, check=True, capture_output=True, text=True)
    return out.stdout.strip()


def metrics_token():
    """The token the processes' /metrics asks for (production serves it only with one)."""
    with open(f"{ARGS.state}/secrets.env") as secrets:
        for line in secrets:
            if line.startswith("FANDB_METRICS_TOKEN="):
                return line.split("=", 1)[1].strip()
    raise RuntimeError("no FANDB_METRICS_TOKEN in secrets.env")


async def metric(port, name):
    """A counter or gauge from one process's /metrics."""
    headers = {"Authorization": f"Bearer {metrics_token()}"}
    try:
        async with aiohttp.ClientSession() as session:
            async with session.get(f"http://127.0.0.1:{port}/metrics", headers=headers) as response:
                for line in (await response.text()).splitlines():
                    if line.startswith(f"{name} "):
                        return int(float(line.split()[1]))
    except aiohttp.ClientError:
        pass  # a process that is down counts nothing
    return 0


async def replica_queries():
    return sum([await metric(port, "fandb_replica_queries_total") for port in PROCESSES])


async def ready(port):
    async with aiohttp.ClientSession() as session:
        for _ in range(240):
            try:
                async with session.get(f"http://127.0.0.1:{port}/readyz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.25)
    raise RuntimeError(f"fandb on {port} did not come back")


class Subscriber:
    """A fan watching the counter over graphql-transport-ws through nginx; reconnects (and so
    resubscribes) when its socket goes away, as the campaign page does."""

    def __init__(self, index, petition_id):
        self.index = index
        self.petition_id = petition_id
        self.latest = None
        self.highest = 0
        self.connected = asyncio.Event()
        self.reconnects = 0
        self.stop = False

    async def run(self):
        async with session_from(address(2, self.index)) as session:
            while not self.stop:
                try:
                    await self.watch(session)
                except (aiohttp.ClientError, asyncio.TimeoutError, ConnectionError):
                    pass
                if not self.stop:
                    self.reconnects += 1
                    await asyncio.sleep(0.3)

    async def watch(self, session):
        async with session.ws_connect(f"{LB}/graphql".replace("http", "ws"), protocols=["graphql-transport-ws"],
                                      heartbeat=None) as socket:
            await socket.send_json({"type": "connection_init", "payload": {}})
            subscribe = {
                "id": "1", "type": "subscribe",
                "payload": {"query": "subscription($id: ID!) { petitionSignatureCount(petitionId: $id) "
                                     "{ signatureCount } }", "variables": {"id": self.petition_id}},
            }
            async for message in socket:
                if message.type != aiohttp.WSMsgType.TEXT:
                    break
                frame = json.loads(message.data)
                if frame["type"] == "connection_ack":
                    await socket.send_json(subscribe)
                elif frame["type"] == "ping":
                    await socket.send_json({"type": "pong"})
                elif frame["type"] == "next":
                    data = frame["payload"].get("data")
                    if not data:
                        break  # an error (the database busy, say): subscribe again
                    count = data["petitionSignatureCount"]["signatureCount"]
                    self.latest = count
                    self.highest = max(self.highest, count)
                    self.connected.set()
                elif frame["type"] in ("error", "complete"):
                    break
                if self.stop:
                    break


async def main():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    started = time.monotonic()
    summary = []

    # The admin opens the petition the hour is about.
    async with session_from("127.0.0.1") as admin:
        data, _ = await until_done(admin, "mutation($i: LoginInput!) { login(input: $i) { accessToken } }",
                                   {"i": {"email": "admin@cluster.test", "password": ARGS.password}}, what="admin login")
        token = admin_token = data["login"]["accessToken"]
        data, _ = await until_done(admin, "mutation($i: CreatePetitionInput!) { createPetition(input: $i) { id } }", {
            "i": {"slug": PETITION_SLUG, "title": "#AlitaSequel hashtag hour open letter",
                  "body": "One hour, all together: we ask for the sequel.", "target": "Disney", "goal": 1000}},
            token=token, what="createPetition")
        petition_id = data["createPetition"]["id"]

    # 500 fans register and sign in, each from an address of its own.
    sessions = [session_from(address(1, i)) for i in range(FANS)]
    fans = [{"email": f"fan{i}@hashtag-hour.test", "password": f"sequel-now-{i:04d}"} for i in range(FANS)]
    gate = asyncio.Semaphore(64)
    sign_in_retries = 0

    async def sign_up(i):
        nonlocal sign_in_retries
        async with gate:
            fan = fans[i]
            _, retried = await until_done(sessions[i], "mutation($i: RegisterInput!) { register(input: $i) { user { id } } }",
                                          {"i": {**fan, "displayName": f"Fan {i}"}}, what=f"register fan {i}")
            data, retried_login = await until_done(
                sessions[i], "mutation($i: LoginInput!) { login(input: $i) { accessToken refreshToken } }",
                {"i": fan}, what=f"login fan {i}")
            fan.update(token=data["login"]["accessToken"], refresh=data["login"]["refreshToken"])
            sign_in_retries += retried + retried_login

    await asyncio.gather(*(sign_up(i) for i in range(FANS)))
    summary.append(f"{FANS} fans registered and signed in ({sign_in_retries} retried after a limit)")

    # 60 subscribers through nginx, spread over the processes by its round robin.
    subscribers = [Subscriber(i, petition_id) for i in range(SUBSCRIBERS)]
    watching = [asyncio.create_task(s.run()) for s in subscribers]
    await asyncio.wait_for(asyncio.gather(*(s.connected.wait() for s in subscribers)), 60)
    spread = [await metric(port, "fandb_subscription_sockets_open") for port in PROCESSES]
    check(all(n > 0 for n in spread) and sum(spread) == SUBSCRIBERS, f"subscribers per process {spread}")

    # Anonymous visitors read the campaign: from the replica.
    before = await replica_queries()
    visits = 0
    for n in range(10):
        async with session_from(address(7, n)) as visitor:
            results = await asyncio.gather(*(post(visitor, "{ petitions(first: 5) { nodes { title signatureCount } } }")
                                             for _ in range(10)))
            visits += sum(1 for status, body in results if status == 200 and body and not body.get("errors"))
    from_replica = await replica_queries() - before
    check(visits == 100 and from_replica > 0, f"{visits}/100 visits answered, {from_replica} by the replica")
    summary.append(f"{from_replica}/100 anonymous reads answered by the replica")

    # All 500 sign at once; one process is killed -9 part way through.
    acknowledged = set()
    sign_retries = 0
    read_own_write_misses = 0
    victim_port = PROCESSES[1]
    killed = asyncio.Event()

    async def sign(i):
        nonlocal sign_retries, read_own_write_misses
        fan = fans[i]
        _, retried = await until_done(sessions[i], "mutation($p: ID!) { signPetition(petitionId: $p) { id } }",
                                      {"p": petition_id}, token=fan["token"], what=f"sign fan {i}")
        acknowledged.add(fan["email"])
        sign_retries += retried
        if len(acknowledged) == FANS // 3 and not killed.is_set():
            killed.set()
            with open(f"{ARGS.state}/fandb-{victim_port}.pid") as pid_file:
                os.kill(int(pid_file.read().strip()), 9)
        # Read your own write: the next query (through nginx, to any process) sees the signature.
        data, _ = await until_done(sessions[i], "query($s: String!) { petition(slug: $s) { viewerHasSigned } }",
                                   {"s": PETITION_SLUG}, token=fan["token"], what=f"read back fan {i}")
        if not data["petition"]["viewerHasSigned"]:
            read_own_write_misses += 1

    await asyncio.gather(*(sign(i) for i in range(FANS)))
    check(killed.is_set(), "the process was never killed")
    rows = psql(f"select u.email from signatures s join users u on u.id = s.user_id join petitions p "
                f"on p.id = s.petition_id where p.slug = '{PETITION_SLUG}'").splitlines()
    lost = acknowledged - set(rows)
    check(not lost, f"{len(lost)} acknowledged signatures are not in the table")
    check(len(rows) == FANS and len(set(rows)) == FANS, f"{len(rows)} signature rows, {len(set(rows))} fans")
    # The exact count: the stored column plus the counter slots not folded into it yet (a process
    # folds within a second; the slots of the killed one wait for the next sweep).
    stored = int(psql(f"select p.signature_count + coalesce((select sum(s.delta) from petition_count_slots s "
                      f"where s.petition_id = p.id), 0) from petitions p where p.slug = '{PETITION_SLUG}'"))
    async with session_from("127.0.0.1") as reader:
        data, _ = await until_done(reader, "query($s: String!) { petition(slug: $s) { signatureCount } }",
                                   {"s": PETITION_SLUG}, what="signatureCount")
    check(stored == FANS and data["petition"]["signatureCount"] == FANS,
          f"signatureCount {data['petition']['signatureCount']}, stored {stored}")
    check(read_own_write_misses == 0, f"{read_own_write_misses} fans did not see their own signature")
    summary.append(f"{FANS} signed at once: signatureCount {stored}, {len(rows)} rows, "
                   f"kill -9 of :{victim_port} mid-signing lost {len(lost)} acknowledged writes "
                   f"({sign_retries} retried), {read_own_write_misses}/{FANS} missed their own write on the next read")

    # Every subscriber ends on exactly 500 (those on the killed process reconnected elsewhere).
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not all(s.latest == FANS for s in subscribers):
        await asyncio.sleep(0.2)
    final = sum(1 for s in subscribers if s.latest == FANS)
    over = sum(1 for s in subscribers if s.highest > FANS)
    check(final == SUBSCRIBERS and over == 0, f"{final}/{SUBSCRIBERS} subscribers saw {FANS}, {over} saw more")
    summary.append(f"{final}/{SUBSCRIBERS} subscribers on {spread} sockets per process saw {FANS} "
                   f"({sum(s.reconnects for s in subscribers)} reconnected)")
    for s in subscribers:
        s.stop = True
    for task in watching:
        task.cancel()
    await asyncio.gather(*watching, return_exceptions=True)

    # The killed process comes back, so every check below covers all three.
    restarted = subprocess.Popen(["setsid", f"{ARGS.state}/start-{victim_port}.sh"], stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
    with open(f"{ARGS.state}/fandb-{victim_port}.pid", "w") as pid_file:
        pid_file.write(str(restarted.pid))
    await ready(victim_port)

    # At quiescence the slots fold back: the stored column alone equals the rows.
    deadline = time.monotonic() + 30
    while True:
        folded = psql(f"select p.signature_count, (select count(*) from petition_count_slots s "
                      f"where s.petition_id = p.id) from petitions p where p.slug = '{PETITION_SLUG}'")
        column, slots = (int(n) for n in folded.split("|"))
        if (column == FANS and slots == 0) or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.2)
    check(column == FANS and slots == 0, f"at quiescence: stored signature_count {column}, {slots} slot rows left")
    summary.append(f"slots folded: stored signature_count {column}")

    # One client IP has one budget, whichever process each request reaches.
    async with session_from(address(3, 0)) as burster:
        began = time.monotonic()
        statuses = await asyncio.gather(*(post(burster, "{ __typename }") for _ in range(3 * BURST)))
        elapsed = time.monotonic() - began
    allowed = sum(1 for status, _ in statuses if status == 200)
    refused = sum(1 for status, _ in statuses if status == 429)
    ceiling = BURST + int(RATE * elapsed) + 1
    check(BURST <= allowed <= ceiling and allowed + refused == 3 * BURST,
          f"burst: {allowed} allowed, {refused} refused of {3 * BURST} in {elapsed:.2f} s (one budget allows {BURST}..{ceiling})")
    summary.append(f"one IP's burst: {allowed}/{3 * BURST} allowed across 3 processes (budget {BURST}+{RATE}/s)")

    # The login lock: wrong passwords from LOCK_AFTER_IPS addresses lock fan 0's email on every
    # process; their own (known-good) address still gets in.
    victim = fans[0]
    for n in range(LOCK_AFTER_IPS):
        async with session_from(address(4, n)) as attacker:
            status, body = await post(attacker, "mutation($i: LoginInput!) { login(input: $i) { accessToken } }",
                                      {"i": {"email": victim["email"], "password": "wrong-password"}})
            check(code_of(body) in ("UNAUTHENTICATED", "RATE_LIMITED"), f"attacker login: {status} {body}")
    locked_on = 0
    for n, port in enumerate(PROCESSES):
        async with session_from(address(4, 100 + n)) as stranger:
            status, body = await post(stranger, "mutation($i: LoginInput!) { login(input: $i) { accessToken } }",
                                      {"i": {"email": victim["email"], "password": victim["password"]}},
                                      base=f"http://127.0.0.1:{port}")
            locked_on += code_of(body) == "RATE_LIMITED"
    check(locked_on == len(PROCESSES), f"the lock held on {locked_on}/{len(PROCESSES)} processes")
    status, body = await post(sessions[0], "mutation($i: LoginInput!) { login(input: $i) { accessToken } }",
                              {"i": {"email": victim["email"], "password": victim["password"]}})
    check(status == 200 and not code_of(body), f"the fan's own address was locked out too: {body}")
    summary.append(f"login lock held on {locked_on}/{len(PROCESSES)} processes (owner still signs in)")

    # A logged-out token is refused by every process.
    leaver = fans[1]
    await until_done(sessions[1], "mutation($r: String!) { logout(refreshToken: $r) }", {"r": leaver["refresh"]},
                     token=leaver["token"], what="logout")
    refused_on = 0
    for port in PROCESSES:
        async with session_from(address(5, port % 250)) as probe:
            status, body = await post(probe, "{ me { id } }", token=leaver["token"], base=f"http://127.0.0.1:{port}")
            refused_on += status == 401 and code_of(body) == "UNAUTHENTICATED"
    check(refused_on == len(PROCESSES), f"the logged-out token was refused by {refused_on}/{len(PROCESSES)} processes")
    summary.append(f"logged-out token refused by {refused_on}/{len(PROCESSES)} processes")

    # A replica that falls behind is skipped: with its replay paused, the admin renames the
    # petition; within MAX_LAG (and a sample) every read shows the new title, from the primary.
    subprocess.run(["su", "postgres", "-c", "psql -p 5434 -qAt -c 'select pg_wal_replay_pause()'"], check=True,
                   capture_output=True)
    renamed = "#AlitaSequel hashtag hour: the open letter"
    async with session_from("127.0.0.1") as admin:
        await until_done(admin, "mutation($id: ID!, $t: String!) { updatePetition(id: $id, input: {title: $t}) { id } }",
                         {"id": petition_id, "t": renamed}, token=admin_token, what="rename the petition")
    title_query = "query($s: String!) { petition(slug: $s) { title } }"
    stale_reads = 0
    paused_at = time.monotonic()
    async with session_from(address(8, 0)) as visitor:
        while True:
            data, _ = await until_done(visitor, title_query, {"s": PETITION_SLUG}, what="read the title")
            if data["petition"]["title"] == renamed:
                break
            stale_reads += 1
            check(time.monotonic() - paused_at < MAX_LAG + 10, "the lagging replica was never skipped")
            if failures:
                break
            await asyncio.sleep(0.1)
        skipped_after = time.monotonic() - paused_at
        # Each process samples on its own clock: by MAX_LAG plus two sample intervals (and a
        # margin) after the write, every one of them has skipped the replica.
        await asyncio.sleep(max(0.0, paused_at + MAX_LAG + 1.5 - time.monotonic()))
        before = await replica_queries()
        fresh = 0
        for _ in range(20):
            data, _ = await until_done(visitor, title_query, {"s": PETITION_SLUG}, what="read the title")
            fresh += data["petition"]["title"] == renamed
        lagging_served = await replica_queries() - before
    check(fresh == 20 and lagging_served == 0, f"while the replica lagged: {fresh}/20 fresh reads, {lagging_served} by it")
    subprocess.run(["su", "postgres", "-c", "psql -p 5434 -qAt -c 'select pg_wal_replay_resume()'"], check=True,
                   capture_output=True)
    summary.append(f"replica paused: first skipped after {skipped_after:.1f} s (max lag {MAX_LAG} s), "
                   f"then {fresh}/20 reads fresh from the primary")

    # Stopping the replica: reads keep answering, from the primary.
    subprocess.run(["pg_ctlcluster", "15", "fandb_replica", "stop", "-m", "fast"], check=True)
    answered = 0
    reads = 200
    for n in range(20):
        async with session_from(address(6, n)) as reader:
            results = await asyncio.gather(*(post(reader, "{ films(first: 3) { nodes { title } } petitions(first: 3) "
                                                  "{ nodes { signatureCount } } }") for _ in range(reads // 20)))
            answered += sum(1 for status, body in results if status == 200 and body and not body.get("errors"))
    check(answered == reads, f"with the replica stopped, {answered}/{reads} reads answered")
    fallbacks = sum([await metric(port, "fandb_replica_fallbacks_total") for port in PROCESSES])
    summary.append(f"replica stopped: {answered}/{reads} reads answered ({fallbacks} answered again by the primary)")

    for session in sessions:
        await session.close()
    verdict = "FAILED" if failures else "ok"
    print(f"hashtag hour {verdict} in {time.monotonic() - started:.0f} s: " + "; ".join(summary), flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--state", required=True, help="the cluster's state directory (pid files, start scripts)")
    parser.add_argument("--password", required=True, help="the admin's and the fandb role's password")
    ARGS = parser.parse_args()
    sys.exit(asyncio.run(main()))
