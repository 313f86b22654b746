"""Scripted conversations through the real graph, a real SQLite store and real SQLite checkpoints."""

from __future__ import annotations

from langchain_core.messages import AIMessage, ToolMessage

from agent.testing import tool_call
from graphs import Stage

EMAIL = "lena.moreau5521@example.com"


def _last_reply(result: dict) -> str:
    return result["messages"][-1].content


def _tool_results(result: dict, name: str) -> list[str]:
    return [m.content for m in result["messages"] if isinstance(m, ToolMessage) and m.name == name]


def _authenticate(harness) -> None:
    """The customer gives their email: the graph looks it up itself and the order desk greets them."""
    harness.model.extend(["Thanks Lena, you're verified. How can I help with your orders?"])
    result = harness.say(f"Hi, my email is {EMAIL}")
    assert result["customer_id"] == "lena_moreau_3307"
    assert result["stage"] == Stage.ORDER_DESK


def test_status_lookup_happy_path(harness):
    _authenticate(harness)
    harness.model.extend([tool_call("get_order_details", order_id="#W1000002"),
                          "Your order #W1000002 has been delivered."])
    result = harness.say("What's the status of my second order?")
    assert '"status": "delivered"' in _tool_results(result, "get_order_details")[-1]
    assert _last_reply(result) == "Your order #W1000002 has been delivered."
    assert result["orders_in_focus"][-1] == "#W1000002"
    # the order desk saw its own tools, the intake's identification tools are gone
    _, offered = harness.model.requests[-1]
    assert "cancel_pending_order" in offered and "find_user_id_by_email" not in offered
    assert [c["target"] for c in result["stage_history"]] == ["order_desk"]


def test_failed_then_successful_authentication_by_name_and_zip(harness):
    harness.model.extend([
        "I couldn't find that email. Could you give me your first name, last name and zip code?",
    ])
    result = harness.say("hello, I'm nobody@nowhere.example and need help")
    assert result.get("customer_id") is None
    assert _tool_results(result, "find_user_id_by_email") == ["Error: user not found"]
    assert result["stage"] == Stage.INTAKE
    harness.model.extend([
        tool_call("find_user_id_by_name_zip", first_name="lena", last_name="MOREAU", zip="74103"),
        "Thank you Lena, you are verified.",
    ])
    result = harness.say("Lena Moreau, zip 74103")
    assert result["customer_id"] == "lena_moreau_3307"
    assert result["verified_by"] == "name_zip"
    assert result["stage"] == Stage.ORDER_DESK
    assert result["stage_history"][-1]["reason"] == "customer identified by name + zip"


def test_intake_cannot_reach_order_desk_before_authentication(harness):
    harness.model.extend([tool_call("transfer_to_order_desk", reason="cancel an order"),
                          "Please tell me your email address first."])
    result = harness.say("I want to cancel an order")
    assert result["stage"] == Stage.INTAKE
    assert _tool_results(result, "transfer_to_order_desk")[0].startswith("Error: identify the customer first")


def test_cancel_confirmed(harness):
    _authenticate(harness)
    # A clear request (order id + reason in the text) becomes the cancel call without the model.
    result = harness.say("Cancel #W1000001 please, I ordered it by mistake")
    request = result["__interrupt__"][0].value
    assert request["tool"] == "cancel_pending_order"
    assert request["arguments"] == {"order_id": "#W1000001", "reason": "ordered by mistake"}
    assert "Cancel order #W1000001" in request["summary"]
    assert harness.order("#W1000001")["status"] == "pending"  # nothing written before the yes
    harness.model.extend(["Order #W1000001 is cancelled; the refund goes back to your card."])
    result = harness.resume("yes")
    order = harness.order("#W1000001")
    assert order["status"] == "cancelled" and order["cancel_reason"] == "ordered by mistake"
    assert result["pending_confirmation"] is None
    assert _last_reply(result).startswith("Order #W1000001 is cancelled")


def test_cancel_declined_changes_nothing(harness):
    _authenticate(harness)
    before = harness.store.dump_json()
    # Without a reason in the text the model decides the call (after asking, in a real conversation).
    harness.model.extend([tool_call("cancel_pending_order", order_id="#W1000001", reason="no longer needed")])
    result = harness.say("please cancel order W1000001")
    assert result["__interrupt__"][0].value["arguments"]["reason"] == "no longer needed"
    result = harness.resume("no")
    assert harness.store.dump_json() == before
    assert "Nothing was modified" in _last_reply(result)
    assert result["pending_confirmation"] is None


def test_typed_yes_confirms_like_the_button(harness):
    _authenticate(harness)
    harness.say("cancel #W1000001, no longer needed")
    harness.model.extend(["Done, it is cancelled."])
    result = harness.say("yes please")
    assert harness.order("#W1000001")["status"] == "cancelled"
    kinds = [type(m).__name__ for m in result["messages"][-4:]]
    assert kinds == ["AIMessage", "ToolMessage", "HumanMessage", "AIMessage"]  # tool result right after its call


def test_return_delivered_items(harness):
    _authenticate(harness)
    harness.model.extend([tool_call("return_delivered_order_items", order_id="#W1000002", item_ids=["9100000101"],
                                    payment_method_id="paypal_2290457")])
    result = harness.say("I want to return the desk fan from #W1000002 to my paypal")
    summary = result["__interrupt__"][0].value["summary"]
    assert "Desk Fan (small, white)" in summary and "your PayPal account" in summary
    harness.model.extend(["Your return is requested; you'll get an email with instructions."])
    harness.resume({"value": "yes"})
    order = harness.order("#W1000002")
    assert order["status"] == "return requested"
    assert order["return_items"] == ["9100000101"] and order["return_payment_method_id"] == "paypal_2290457"


def test_exchange_delivered_items(harness):
    _authenticate(harness)
    harness.model.extend([tool_call("exchange_delivered_order_items", order_id="#W1000002",
                                    item_ids=["9200000230", "9100000101"], new_item_ids=["9200000231", "9100000102"],
                                    payment_method_id="gift_card_6620913")])
    result = harness.say("exchange both items of #W1000002 for the foam block and the large fan, gift card")
    assert "to Desk Fan (large, white, 54.25)" in result["__interrupt__"][0].value["summary"]
    harness.model.extend(["The exchange is requested; the difference of 12.01 is charged to your gift card."])
    harness.resume(True)
    order = harness.order("#W1000002")
    assert order["status"] == "exchange requested" and order["exchange_price_difference"] == 12.01


def test_modify_items_with_gift_card(harness):
    _authenticate(harness)
    harness.model.extend([tool_call("modify_pending_order_items", order_id="#W1000001",
                                    item_ids=["9100000101", "9200000230"], new_item_ids=["9100000102", "9200000231"],
                                    payment_method_id="gift_card_6620913")])
    harness.say("In #W1000001 swap the fan to large white and the block to foam, pay with gift card")
    harness.model.extend(["Done: your items are changed and 12.01 was charged to your gift card."])
    harness.resume("yes")
    data = harness.store.dump_json()
    assert data["orders"]["#W1000001"]["status"] == "pending (item modified)"
    assert data["users"]["lena_moreau_3307"]["payment_methods"]["gift_card_6620913"]["balance"] == 45.99


def test_another_customers_order_is_refused(harness):
    _authenticate(harness)
    before = harness.store.dump_json()
    harness.model.extend([tool_call("cancel_pending_order", order_id="#W2000001", reason="no longer needed"),
                          tool_call("get_user_details", user_id="omar_haddad_1234"),
                          "Sorry, I can only help with your own orders."])
    result = harness.say("show me order #W2000001 and cancel it")
    refusals = [r for name in ("get_order_details", "cancel_pending_order", "get_user_details")
                for r in _tool_results(result, name)]
    # the id in the text is looked up by the graph itself and refused like the model's own calls
    assert len(refusals) == 3 and all("Error:" in r and "customer" in r for r in refusals), refusals
    assert "does not belong to this customer" in _tool_results(result, "get_order_details")[0]
    assert result.get("pending_confirmation") is None and "__interrupt__" not in result
    assert harness.store.dump_json() == before
    assert "#W2000001" not in result["orders_in_focus"]


def test_a_write_the_store_would_refuse_is_explained_not_put_to_the_customer(harness):
    """The agent loop tries every write in a rolled-back transaction first; the model's id without '#' is fixed."""
    _authenticate(harness)
    before = harness.store.dump_json()
    harness.model.extend([tool_call("cancel_pending_order", order_id="W1000002", reason="no longer needed"),
                          "Order #W1000002 is already delivered, so it can't be cancelled; I can start a return."])
    result = harness.say("please cancel my second order, I no longer need it")
    assert "__interrupt__" not in result and result.get("pending_confirmation") is None
    refusal = _tool_results(result, "cancel_pending_order")[-1]
    assert refusal.startswith("Error: non-pending order cannot be cancelled") and "Nothing was changed" in refusal
    calls = [c for m in result["messages"] if isinstance(m, AIMessage) for c in m.tool_calls
             if c["name"] == "cancel_pending_order"]
    assert calls[-1]["args"]["order_id"] == "#W1000002"
    assert harness.store.dump_json() == before
    assert _last_reply(result).startswith("Order #W1000002 is already delivered")


def test_clear_cancel_request_for_someone_elses_order_is_not_proposed(harness):
    _authenticate(harness)
    harness.model.extend(["Sorry, that order is not yours."])
    result = harness.say("cancel #W2000001, I ordered it by mistake")
    assert "__interrupt__" not in result and result.get("pending_confirmation") is None
    assert "does not belong" in _tool_results(result, "get_order_details")[0]


def test_escalation_on_request_then_messages_after_handover(harness):
    _authenticate(harness)
    harness.model.extend([tool_call("transfer_to_escalation", reason="customer asks for a human"),
                          tool_call("transfer_to_human_agents", summary="Lena wants to talk to a person.")])
    result = harness.say("I want to talk to a human")
    ticket = result["ticket"]
    assert result["stage"] == Stage.ESCALATION and ticket["summary"] == "Lena wants to talk to a person."
    assert f"ticket #{ticket['id']}" in _last_reply(result)
    row = harness.store.db.execute("SELECT thread, customer, reason, status FROM tickets").fetchall()
    assert row == [("t1", "lena_moreau_3307", "customer asks for a human", "open")]
    # later messages are acknowledged and appended to the ticket, never sent to the model
    result = harness.say("Also my fan is broken")
    assert f"ticket #{ticket['id']}" in _last_reply(result)
    notes = harness.store.db.execute("SELECT text FROM ticket_notes").fetchall()
    assert notes == [("Also my fan is broken",)]


def test_escalation_after_repeated_tool_errors(harness):
    _authenticate(harness)
    harness.model.extend([tool_call("get_order_details", order_id="#W9999991"),
                          tool_call("get_order_details", order_id="#W9999992"),
                          tool_call("get_order_details", order_id="#W9999993"),
                          "not a tool call: the escalation model fails to write the summary"])
    result = harness.say("where is my order?")
    assert result["stage"] == Stage.ESCALATION and result["ticket"]["reason"] == "repeated tool errors"
    assert result["ticket"]["summary"].endswith("| where is my order?")  # fallback summary from the transcript


def test_escalation_after_repeated_misunderstandings(harness):
    harness.options = harness.options.__class__(**{**harness.options.__dict__, "tool_call_retries": 0,
                                                   "escalate_after_misunderstandings": 2})
    harness.restart()
    harness.model.extend([tool_call("no_such_tool", x=1)])
    result = harness.say("blah")
    assert result["misunderstanding_streak"] == 1 and "rephrase" in _last_reply(result)
    harness.model.extend([AIMessage(content="", invalid_tool_calls=[
        {"name": "find_user_id_by_email", "args": "{oops", "id": "call_bad", "error": "bad json",
         "type": "invalid_tool_call"}]), tool_call("transfer_to_human_agents", summary="Customer is confused.")])
    result = harness.say("blah blah")
    assert result["ticket"]["reason"] == "repeated misunderstandings"


def test_invalid_call_is_corrected_then_retried(harness):
    harness.model.extend([tool_call("find_user_id_by_email", mail="x@y.z"),
                          tool_call("find_user_id_by_email", email=EMAIL),
                          "You're verified, Lena."])
    result = harness.say("can you check my account? It's the one with my usual email")
    correction = _tool_results(result, "find_user_id_by_email")[0]
    assert correction.startswith("Error: find_user_id_by_email has no argument 'mail'")
    assert result["customer_id"] == "lena_moreau_3307"


def test_resume_after_restart_from_the_sqlite_files(harness):
    _authenticate(harness)
    harness.say("cancel #W1000001, no longer needed")
    harness.restart()  # a new process: new store connection, new saver, new graph
    state = harness.state()
    assert state.values["pending_confirmation"]["tool"] == "cancel_pending_order"
    assert state.values["customer_id"] == "lena_moreau_3307"
    harness.model.extend(["Cancelled."])
    harness.resume("yes")
    assert harness.order("#W1000001")["status"] == "cancelled"


def test_rerun_turn_never_repeats_a_write(harness, monkeypatch):
    import graphs.tool_layer

    executed: list[str] = []
    real_call_tool = graphs.tool_layer.call_tool

    def counting_call_tool(store, name, args):
        executed.append(name)
        return real_call_tool(store, name, args)

    monkeypatch.setattr(graphs.tool_layer, "call_tool", counting_call_tool)
    _authenticate(harness)
    harness.model.extend([tool_call("modify_pending_order_payment", order_id="#W1000001",
                                    payment_method_id="paypal_2290457")])
    harness.say("pay #W1000001 with paypal instead")
    before_yes = harness.state()
    harness.model.extend(["Payment changed to PayPal."])
    harness.resume("yes")
    history = harness.order("#W1000001")["payment_history"]
    assert len(history) == 3
    # replay the confirmation from the checkpoint before it (as after a crash): the write must not run again
    harness.model.extend(["Payment changed to PayPal."])
    harness.resume("yes", config=before_yes.config)
    assert harness.order("#W1000001")["payment_history"] == history
    # one trial in a rolled-back transaction before asking, one write after the yes; the replay runs neither
    assert executed.count("modify_pending_order_payment") == 2
    assert harness.store.db.execute("SELECT count(*) FROM write_ledger").fetchone()[0] == 1


def test_raw_json_reply_is_never_shown_and_the_model_is_asked_again(harness):
    _authenticate(harness)
    harness.model.extend(['<tool_response>\n{"order_id": "#W1000001", "status": "pending"}\n</tool_response>',
                          "Your order #W1000001 is pending."])
    result = harness.say("status of my pending order?")
    assert _last_reply(result) == "Your order #W1000001 is pending."
    assert "raw data" in _tool_results(result, "reply_check")[0]


def test_the_agent_never_asks_the_same_question_three_times(harness):
    question = "Could you tell me your email address?"
    harness.model.extend([question, question, question,
                          tool_call("transfer_to_human_agents", summary="Could not identify the customer.")])
    assert _last_reply(harness.say("hi")) == question
    second = _last_reply(harness.say("dunno"))
    assert second != question and question in second and "agent" in second  # rephrased, a person offered
    result = harness.say("whatever")
    assert result["stage"] == "escalation" and question in result["ticket"]["reason"]
