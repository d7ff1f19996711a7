"""Reading GenAI spans off an export request, before any use case or version is looked up: each kind of bad value is
named, every other kind of value is read as the conventions send it, and what the intake does not read is left
alone. Spans are made by the real SDK and encoded as its OTLP exporter encodes them."""

import json

import pytest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

from inference.otlp import PROTOBUF, SpanFacts, SpanProblem, parse_request, read_spans
from tests.inference.conftest import genai_attributes


def _read(made) -> list[SpanFacts | SpanProblem]:
    return read_spans(parse_request(made.protobuf(), kind=PROTOBUF))


def _problem(made) -> str:
    [read] = _read(made)
    assert isinstance(read, SpanProblem), read
    return read.message


def test_a_good_span_is_read_with_every_kind_of_value(spans):
    made = spans()
    made.add(**genai_attributes("support-assistant:1", **{"gen_ai.response.finish_reasons": ["stop", "length"]}))

    [facts] = _read(made)

    assert isinstance(facts, SpanFacts)
    assert facts.use_case == "support-assistant"
    assert (facts.environment, facts.model_version) == ("prod", "support-assistant:1")
    assert (facts.input_tokens, facts.output_tokens) == (42, 17)
    assert facts.finish_reasons == ["stop", "length"]
    assert facts.policy_checks == ["pci_redaction", "disclaimer"]
    assert facts.prompt.startswith("My card")
    assert facts.answer.startswith("I am sorry")
    assert (len(facts.trace_id), len(facts.span_id)) == (32, 16)
    assert facts.label == f"span {facts.span_id} of trace {facts.trace_id}"


@pytest.mark.parametrize(
    ("attributes", "named"),
    [
        ({"portal.use_case": 7}, "portal.use_case is not a string"),
        ({"portal.environment": ""}, "portal.environment is missing"),
        ({"gen_ai.operation.name": ""}, "gen_ai.operation.name is missing"),
        ({"gen_ai.response.id": "x" * 201}, "gen_ai.response.id is longer than 200 characters or holds a NUL"),
        ({"portal.prompt_category": "billing\x00"}, "portal.prompt_category is longer than 100 characters or holds"),
        ({"gen_ai.usage.input_tokens": -1}, "gen_ai.usage.input_tokens is not a token count"),
        ({"gen_ai.usage.output_tokens": True}, "gen_ai.usage.output_tokens is not a token count"),
        ({"gen_ai.usage.output_tokens": "17"}, "gen_ai.usage.output_tokens is not a token count"),
        ({"gen_ai.response.finish_reasons": 3}, "gen_ai.response.finish_reasons is not a list of strings"),
        ({"portal.policy_checks": [1, 2]}, "portal.policy_checks is not a list of strings"),
        ({"gen_ai.input.messages": "not json"}, "gen_ai.input.messages is not JSON"),
        ({"gen_ai.input.messages": "[" * 5000 + "]" * 5000}, "gen_ai.input.messages is not JSON"),
        ({"gen_ai.output.messages": json.dumps({"role": "assistant"})}, "gen_ai.output.messages is not a list"),
    ],
)
def test_each_bad_value_is_named(spans, attributes, named):
    made = spans()
    made.add(**genai_attributes(**attributes))

    assert named in _problem(made)


def test_every_problem_of_a_span_is_named_at_once(spans):
    made = spans()
    made.add(**genai_attributes(**{"portal.use_case": 7, "gen_ai.usage.input_tokens": -1}))

    problem = _problem(made)

    assert "portal.use_case is not a string" in problem
    assert "gen_ai.usage.input_tokens is not a token count" in problem


def test_an_optional_text_sent_empty_is_read_as_empty(spans):
    made = spans()
    made.add(**genai_attributes(**{"gen_ai.conversation.id": "", "portal.end_user": ""}))

    [facts] = _read(made)

    assert (facts.conversation_id, facts.end_user) == ("", "")


def test_finish_reasons_sent_as_one_comma_separated_string_are_a_list(spans):
    made = spans()
    made.add(**genai_attributes(**{"gen_ai.response.finish_reasons": "stop, length"}))

    [facts] = _read(made)

    assert facts.finish_reasons == ["stop", "length"]


def test_the_resource_names_the_use_case_and_the_span_s_own_attribute_wins(spans):
    made = spans(use_case="wealth-advisor")
    made.add(**genai_attributes())
    made.add(**genai_attributes(**{"portal.use_case": "support-assistant"}))

    first, second = _read(made)

    assert (first.use_case, second.use_case) == ("wealth-advisor", "support-assistant")


def test_only_a_span_s_own_operation_makes_it_an_answer(spans):
    made = spans()
    made.add(**{"http.route": "/chat"})
    request = parse_request(made.protobuf(), kind=PROTOBUF)
    request.resource_spans[0].resource.attributes.append(
        KeyValue(key="gen_ai.operation.name", value=AnyValue(string_value="chat"))
    )

    assert read_spans(request) == []


def test_attributes_the_intake_does_not_read_change_nothing_whatever_their_kind(spans):
    """A gateway may send any attribute, of any kind and depth, beside the ones the intake reads."""
    made = spans()
    made.add(**genai_attributes())
    request = parse_request(made.protobuf(), kind=PROTOBUF)
    [plain] = read_spans(request)
    nested = AnyValue()
    deepest = nested
    for _level in range(20):
        deepest = deepest.kvlist_value.values.add(key="inner").value
    deepest.bytes_value = b"\x00\xff"
    span = request.resource_spans[0].scope_spans[0].spans[0]
    span.attributes.append(KeyValue(key="gateway.debug", value=nested))
    span.attributes.append(KeyValue(key="gateway.retries", value=AnyValue(double_value=1.5)))

    [facts] = read_spans(request)

    assert facts == plain
