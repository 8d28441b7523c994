"""The infrastructure watch: parts targeted by a fault are not watched; a part that dies is reported once."""
import asyncio

from harness.cluster.cluster import endpoints_from_ports
from harness.observe.infra import POLL_S, InfraWatch, watched_parts


def test_watched_parts_are_those_present_and_not_targeted():
    e = endpoints_from_ports("r", {"toxiproxy": 1, "prometheus": 2, "alertsink": 3})
    assert watched_parts(e, set()) == {"toxiproxy": "http://127.0.0.1:1/version",
                                       "prometheus": "http://127.0.0.1:2/-/ready",
                                       "alertsink": "http://127.0.0.1:3/healthz"}
    assert list(watched_parts(e, {"toxiproxy", "redis"})) == ["prometheus", "alertsink"]


class Journal:
    def __init__(self):
        self.events = []

    def append(self, kind, **fields):
        self.events.append({"kind": kind, **fields})

    def flush(self):
        pass


ASKED = []   # one entry per request the live part answered


async def _answer_200(reader, writer):
    await reader.readuntil(b"\r\n\r\n")
    ASKED.append(1)
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
    await writer.drain()
    writer.close()


def test_a_part_that_dies_is_reported_once_and_a_live_one_never():
    async def scenario():
        server = await asyncio.start_server(_answer_200, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        downs, journal = [], Journal()
        watch = InfraWatch({"toxiproxy": f"http://127.0.0.1:{port}/version"}, journal,
                           lambda part, problem: downs.append(part), docker_engine=False)
        watch.start()
        # Several polls of a live part answered: nothing to report (silence is evidence only once it was asked).
        deadline = asyncio.get_running_loop().time() + 10
        while len(ASKED) < 4:
            assert asyncio.get_running_loop().time() < deadline, f"the live part was polled {len(ASKED)} times"
            await asyncio.sleep(0.05)  # poll
        assert downs == [] and watch.down is None
        server.close()
        await server.wait_closed()
        deadline = asyncio.get_running_loop().time() + 10
        while not downs:
            assert asyncio.get_running_loop().time() < deadline, "the dead part was never reported"
            await asyncio.sleep(0.05)  # poll
        await asyncio.sleep(POLL_S * 3)  # poll: three more polls, in which it must not be reported again
        await watch.stop()
        return downs, journal.events

    downs, events = asyncio.run(scenario())
    assert downs == ["toxiproxy"]
    assert [e["kind"] for e in events] == ["infra_down"] and events[0]["part"] == "toxiproxy"
