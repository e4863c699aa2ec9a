"""The Chainlit data layer on our tables: sidebar pages, search, rename, delete, ownership."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from chainlit.types import Feedback, Pagination, ThreadFilter

from agent.bootstrap import Services
from db.ids import new_id
from tests.integration.agent_world import traveller
from web import runtime
from web.data_layer import VIEWER, TravelDataLayer

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("installed_services")]


async def test_threads_are_listed_newest_first_in_pages_and_searchable(services: Services) -> None:
    ada, bob = await traveller(services), await traveller(services, "bob@example.com")
    said = ["hello", "Flights from Rome to Paris in 30 days", "show my bookings"]
    threads = [(await services.conversations.turn(ada, text)).thread_id for text in said]
    await services.conversations.turn(bob, "hello")
    layer = TravelDataLayer(runtime.services)

    first = await layer.list_threads(Pagination(first=2), ThreadFilter(userId=str(ada.user_id)))
    assert [t["id"] for t in first.data] == threads[::-1][:2]
    assert first.pageInfo.hasNextPage
    rest = await layer.list_threads(
        Pagination(first=2, cursor=first.pageInfo.endCursor), ThreadFilter(userId=str(ada.user_id))
    )
    assert [t["id"] for t in rest.data] == [threads[0]]
    assert not rest.pageInfo.hasNextPage
    found = await layer.list_threads(
        Pagination(first=10), ThreadFilter(userId=str(ada.user_id), search="rome")
    )
    assert [t["name"] for t in found.data] == ["Flights from Rome to Paris in 30 days"]


async def test_a_thread_reads_back_as_steps_and_belongs_to_its_author(services: Services) -> None:
    ada = await traveller(services)
    result = await services.conversations.turn(ada, "hello", reply_ui_ids=["ui-1", "run-1"])
    layer = TravelDataLayer(runtime.services)
    thread = await layer.get_thread(result.thread_id)
    assert thread is not None
    assert [(s["type"], s["output"][:5]) for s in thread["steps"]] == [
        ("user_message", "hello"), ("assistant_message", "Hello"),
    ]  # fmt: skip
    assert thread["steps"][1]["id"] == "ui-1"
    assert await layer.get_thread_author(result.thread_id) == "ada@example.com"
    assert await layer.get_thread_author("00000000-0000-4000-8000-000000000000") == ""
    assert await layer.get_thread_author("not a uuid") == ""
    assert await layer.upsert_feedback(Feedback(forId="run-1", value=0, comment="meh")) == "run-1"
    again = await layer.get_thread(result.thread_id)
    assert again is not None
    assert again["steps"][1]["feedback"]["value"] == 0
    assert await layer.delete_feedback("run-1") is True
    cleared = await layer.get_thread(result.thread_id)
    assert cleared is not None
    assert "feedback" not in cleared["steps"][1]
    assert await layer.delete_feedback("run-1") is False


async def test_rename_and_delete(services: Services, owner: Any) -> None:
    ada = await traveller(services)
    thread = (
        await services.conversations.turn(ada, "Flights from Oslo to Bergen in 9 days")
    ).thread_id
    layer = TravelDataLayer(runtime.services)
    await layer.update_thread(thread, name="Norway trip")
    assert owner.execute("SELECT title FROM chat_sessions").fetchone() == ("Norway trip",)
    assert (
        owner.execute(
            "SELECT count(*) FROM checkpoints WHERE thread_id = %s", (thread,)
        ).fetchone()[0]
        > 0
    )

    await layer.delete_thread(thread)
    assert owner.execute("SELECT status, deleted_at IS NOT NULL FROM chat_sessions").fetchone() == (
        "deleted",
        True,
    )
    assert owner.execute(
        "SELECT count(*) FROM checkpoints WHERE thread_id = %s", (thread,)
    ).fetchone() == (0,)
    listed = await layer.list_threads(Pagination(first=5), ThreadFilter(userId=str(ada.user_id)))
    assert listed.data == []
    assert await layer.get_thread(thread) is None


async def test_a_thread_keeps_its_title_and_chat_settings_for_resuming(
    services: Services, owner: Any
) -> None:
    ada, bob = await traveller(services), await traveller(services, "bob@example.com")
    layer = TravelDataLayer(runtime.services)
    thread = str(uuid.uuid4())
    said = "Find flights from London to Paris"

    # The first interaction opens the thread, already titled, before the agent's turn.
    await layer.update_thread(thread, name=said, user_id=str(ada.user_id))
    listed = await layer.list_threads(Pagination(first=5), ThreadFilter(userId=str(ada.user_id)))
    assert [(t["id"], t["name"]) for t in listed.data] == [(thread, said)]

    chosen = {"currency": "JPY", "cabin": "business", "travellers": 3}
    await layer.update_thread(thread, metadata={"chat_settings": {**chosen, "extra": "x" * 9}})
    await services.conversations.turn(ada, f"{said} in three weeks", thread_id=thread)
    resumed = await layer.get_thread(thread)
    assert resumed is not None
    assert resumed["name"] == said
    assert resumed["metadata"]["chat_settings"] == chosen

    # The same settings again change nothing (the sidebar orders threads by their last change).
    changed_at = owner.execute("SELECT updated_at FROM chat_sessions").fetchone()
    await layer.update_thread(thread, metadata={"chat_settings": chosen})
    assert owner.execute("SELECT updated_at FROM chat_sessions").fetchone() == changed_at

    # What the panel does not offer is kept as its default, and PostgreSQL never sees a NUL.
    odd = {"currency": "JPY\x00", "cabin": ["first"], "travellers": 99.5}
    await layer.update_thread(thread, metadata={"chat_settings": odd})
    again = await layer.get_thread(thread)
    assert again is not None
    assert again["metadata"]["chat_settings"] == {
        "currency": "EUR", "cabin": "economy", "travellers": 1,
    }  # fmt: skip

    # Someone else, signed in, neither changes nor reads them.
    token = VIEWER.set(bob.email)
    try:
        await layer.update_thread(thread, metadata={"chat_settings": chosen})
        assert await layer.get_thread(thread) is None
    finally:
        VIEWER.reset(token)
    kept = owner.execute("SELECT context->'chat_settings'->>'currency' FROM chat_sessions")
    assert kept.fetchone() == ("EUR",)


async def test_a_resumed_thread_shows_its_tool_steps_as_they_were(services: Services) -> None:
    ada = await traveller(services)
    result = await services.conversations.turn(ada, "Flights from London to Paris in 3 weeks")
    layer = TravelDataLayer(runtime.services)
    thread = await layer.get_thread(result.thread_id)
    assert thread is not None
    assert [s["type"] for s in thread["steps"]] == ["user_message", "tool", "assistant_message"]
    tool = thread["steps"][1]
    assert tool["name"] == "search flights"
    assert tool.get("showInput") == "json"
    asked = json.loads(tool.get("input") or "{}")
    assert (asked["origin"], asked["destination"]) == ("LON", "PAR")
    assert "London" in tool["output"]


def _card(thread_id: str, number: int, *, for_id: str = "ui-cards", **props: Any) -> Any:
    from chainlit.element import CustomElement

    return CustomElement(
        id=str(new_id()), thread_id=thread_id, for_id=for_id, name="HotelOffer",
        props={"number": number, "name": "The Pipe | Bar Hotel", "state": "open", **props},
    )  # fmt: skip


async def test_cards_are_kept_with_their_reply_and_shown_again_on_resume(
    services: Services,
) -> None:
    ada = await traveller(services)
    await traveller(services, "bob@example.com")
    said = "A hotel in Paris for 3 nights in two weeks"
    result = await services.conversations.turn(ada, said, reply_ui_ids=["ui-cards", "run-9"])
    layer = TravelDataLayer(runtime.services)
    cards = [_card(result.thread_id, number) for number in (1, 2, 3)]
    for card in reversed(cards):  # kept in the order they were made, whatever the writes' order
        await layer.create_element(card)
    cards[1].props = {**cards[1].props, "state": "chosen"}
    await layer.create_element(cards[1])  # a card's new props replace its old ones

    marker = VIEWER.set("bob@example.com")  # someone else's web request: not their thread
    try:
        await layer.create_element(_card(result.thread_id, 4))
        assert await layer.get_thread(result.thread_id) is None
    finally:
        VIEWER.reset(marker)
    await layer.create_element(_card(result.thread_id, 5, note="\x00"))  # not storable: not kept
    await layer.create_element(_card(result.thread_id, 6, for_id="no-such-reply"))

    thread = await layer.get_thread(result.thread_id)
    assert thread is not None
    shown = thread["elements"] or []
    assert [(e["props"]["number"], e["props"]["state"]) for e in shown] == [
        (1, "open"), (2, "chosen"), (3, "open"),
    ]  # fmt: skip
    assert {e["forId"] for e in shown} == {"ui-cards"}
    assert shown[0]["props"]["name"] == "The Pipe | Bar Hotel"
    assert shown[0]["name"] == "HotelOffer"
    assert await layer.get_element(result.thread_id, cards[2].id) == shown[2]

    await layer.delete_element(cards[0].id, result.thread_id)
    after = await layer.get_thread(result.thread_id)
    assert after is not None
    assert [e["props"]["number"] for e in after["elements"] or []] == [2, 3]
