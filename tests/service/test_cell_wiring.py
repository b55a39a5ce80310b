"""Wiring of the cell's `cell.act.<principal>` subscriber on FastStream's in-memory broker.

The in-memory broker does not emulate ack, redelivery or dedup (nor the server's permissions on
who may publish on which `cell.act.<token>`): what depends on them is tested on a real server
(tests/integration/test_cell_end_to_end.py, test_nats_security.py). Here: the subject names the
actor, only a request answered on an `_INBOX.` is served, and the reply goes back to that inbox.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import orjson
import pytest
from faststream.nats import NatsBroker, TestNatsBroker

from schemas import subjects
from services.auth.principals import act_subject
from services.cell.app import Cell, PeopleFile, register
from services.cell.people import Role, add_person
from services.picture.follow import PictureFollower
from services.runtime.publish import MSG_ID
from tests.service.fakes import (
    FakeFollower,
    FakeJetStream,
    RecordingCell,
    delivered_by_jetstream,
    use_jetstream,
)

pytestmark = pytest.mark.service

T0 = datetime(2020, 10, 2, 12, 0, tzinfo=UTC)
INBOX = "_INBOX.wiring.1"
OPERATOR = "op.martin"  # a dot: its subject token is `op_2emartin`
DIRECTOR = "dircab"
OPEN_CRISIS = {
    "act": "open_crisis",
    "crisis_id": "crue-06",
    "name": "Crue de la Vésubie",
    "departement": "06",
}


def act(command: dict[str, Any], **body: Any) -> bytes:
    """The body of a request to the cell."""
    return orjson.dumps({"command": command, **body})


class Replies:
    """Whatever the cell answers on the test's inboxes, decoded, in order."""

    def __init__(self, broker: NatsBroker) -> None:
        self.received: list[dict[str, Any]] = []

        @broker.subscriber("_INBOX.>")
        async def inbox(reply: dict[str, Any]) -> None:
            self.received.append(reply)

        self.inbox = inbox


def recording_cell(broker: NatsBroker) -> RecordingCell:
    """A cell that keeps what it is handed, registered as the service registers the real one."""
    cell = RecordingCell()
    register(broker, cast("Cell", cell))
    return cell


@pytest.fixture
def people(tmp_path: Path) -> PeopleFile:
    """A people file with an operator and a director."""
    path = tmp_path / "people.toml"
    add_person(path, OPERATOR, Role.OPERATOR, "Léa Martin")
    add_person(path, DIRECTOR, Role.DIRECTOR, "Directeur de cabinet")
    return PeopleFile(path)


@pytest.fixture
def real_cell(people: PeopleFile) -> Callable[[NatsBroker], tuple[FakeJetStream, FakeFollower]]:
    """Register a real Cell over a fake follower, publishing on a fake JetStream."""

    def wire(broker: NatsBroker) -> tuple[FakeJetStream, FakeFollower]:
        js, follower = FakeJetStream(), FakeFollower()
        use_jetstream(broker, js)
        register(broker, Cell(cast("PictureFollower", follower), people, clock=lambda: T0))
        return js, follower

    return wire


async def test_the_cell_takes_the_actor_from_the_subject_token() -> None:
    broker = NatsBroker()
    cell = recording_cell(broker)
    body = act(OPEN_CRISIS)
    async with TestNatsBroker(broker) as test_broker:
        await test_broker.publish(body, act_subject(OPERATOR), reply_to=INBOX)
    assert [(raw, actor) for raw, _, actor in cell.requests] == [(body, OPERATOR)]


async def test_the_reply_of_the_cell_goes_back_to_the_requesters_inbox() -> None:
    broker = NatsBroker()
    cell = recording_cell(broker)
    replies = Replies(broker)
    async with TestNatsBroker(broker) as test_broker:
        await test_broker.publish(act(OPEN_CRISIS), act_subject(OPERATOR), reply_to=INBOX)
        # The handler's mock answers only under the test broker.
        await replies.inbox.assert_called_once_with(cell.reply)


@pytest.mark.parametrize(
    "reply_to",
    [
        pytest.param("", id="no-reply"),
        pytest.param(delivered_by_jetstream("CRISIS", 7, T0), id="a-stream-delivery"),
    ],
)
async def test_a_message_without_an_inbox_reply_is_refused_and_never_handed_on(
    reply_to: str,
) -> None:
    broker = NatsBroker()
    cell = recording_cell(broker)
    async with TestNatsBroker(broker) as test_broker:
        await test_broker.publish(act(OPEN_CRISIS), act_subject(OPERATOR), reply_to=reply_to)
    assert cell.requests == []


async def test_a_request_without_an_inbox_is_answered_with_the_reason_it_is_refused() -> None:
    # The in-memory broker's `request()` sets no reply subject, so it meets the inbox check.
    broker = NatsBroker()
    cell = recording_cell(broker)
    async with TestNatsBroker(broker) as test_broker:
        answer = await test_broker.request(act(OPEN_CRISIS), act_subject(OPERATOR))
        reply = await answer.decode()
    assert reply == {"ok": False, "error": "acts are requests answered on an inbox"}
    assert cell.requests == []


async def test_a_subject_token_that_names_no_principal_is_refused() -> None:
    broker = NatsBroker()
    cell = recording_cell(broker)
    replies = Replies(broker)
    async with TestNatsBroker(broker) as test_broker:
        await test_broker.publish(act(OPEN_CRISIS), f"{subjects.CELL_ACTS}.op_zz", reply_to=INBOX)
    assert cell.requests == []
    assert replies.received == [{"ok": False, "error": "acts are sent on cell.act.<principal>"}]


async def test_a_body_claiming_another_actor_is_refused_and_nothing_is_published(
    real_cell: Callable[[NatsBroker], tuple[FakeJetStream, FakeFollower]],
) -> None:
    broker = NatsBroker()
    js, _ = real_cell(broker)
    replies = Replies(broker)
    async with TestNatsBroker(broker) as test_broker:
        await test_broker.publish(
            act(OPEN_CRISIS, actor=DIRECTOR), act_subject(OPERATOR), reply_to=INBOX
        )
    [reply] = replies.received
    assert reply["ok"] is False
    assert f"you act as {OPERATOR!r}" in reply["error"]
    assert f"not as {DIRECTOR!r}" in reply["error"]
    assert js.published == []


async def test_a_principal_missing_from_the_people_file_is_refused_and_nothing_is_published(
    real_cell: Callable[[NatsBroker], tuple[FakeJetStream, FakeFollower]],
) -> None:
    broker = NatsBroker()
    js, _ = real_cell(broker)
    replies = Replies(broker)
    async with TestNatsBroker(broker) as test_broker:
        await test_broker.publish(act(OPEN_CRISIS), act_subject("op.intrus"), reply_to=INBOX)
    [reply] = replies.received
    assert reply["ok"] is False
    assert "'op.intrus' is not a known, enabled person" in reply["error"]
    assert js.published == []


async def test_an_allowed_act_is_published_as_the_subjects_principal_and_its_position_replied(
    real_cell: Callable[[NatsBroker], tuple[FakeJetStream, FakeFollower]],
) -> None:
    broker = NatsBroker()
    js, follower = real_cell(broker)
    replies = Replies(broker)
    async with TestNatsBroker(broker) as test_broker:
        await test_broker.publish(act(OPEN_CRISIS), act_subject(DIRECTOR), reply_to=INBOX)
    [(subject, payload, headers)] = js.published
    event = orjson.loads(payload)
    assert subject == subjects.live("crue-06", "crisis.opened")
    assert (event["type"], event["actor"], event["crisis_id"]) == (
        "crisis.opened",
        DIRECTOR,
        "crue-06",
    )
    assert headers[MSG_ID] == event["event_id"]
    assert follower.waited_for == [1]
    [reply] = replies.received
    assert reply["ok"] is True
    assert reply["positions"] == [1]
    assert [e["event_id"] for e in reply["events"]] == [event["event_id"]]
