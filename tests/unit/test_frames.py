import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from voltline.ocpp import frames
from voltline.ocpp.frames import Call, CallError, CallResult, FrameError


def test_parses_the_three_frame_kinds() -> None:
    assert frames.parse(b'[2,"a","Heartbeat",{}]') == Call("a", "Heartbeat", {})
    assert frames.parse('[3,"a",{"currentTime":"x"}]') == CallResult("a", {"currentTime": "x"})
    assert frames.parse('[4,"a","InternalError","boom",{"k":1}]') == CallError("a", "InternalError", "boom", {"k": 1})


@pytest.mark.parametrize(
    ("raw", "code", "message_id", "answerable"),
    [
        ("{", "FormationViolation", None, True),
        ("[]", "FormationViolation", None, True),
        ('[true,"a","Heartbeat",{}]', "FormationViolation", "a", True),
        ('[2,"","Heartbeat",{}]', "FormationViolation", None, True),
        ('[2,"' + "x" * 37 + '","Heartbeat",{}]', "FormationViolation", None, True),
        ('[2,"a","Heartbeat",{},1]', "FormationViolation", "a", True),
        ('[3,"a",[]]', "FormationViolation", "a", False),
        ('[4,"a","X"]', "FormationViolation", "a", False),
        ('[9,"a",{}]', "ProtocolError", "a", True),
    ],
)
def test_rejects_frames_of_the_wrong_shape(raw: str, code: str, message_id: str | None, answerable: bool) -> None:
    with pytest.raises(FrameError) as error:
        frames.parse(raw)
    assert error.value.code == code
    assert error.value.message_id == message_id
    assert error.value.answerable is answerable


def test_serializes_compact_json() -> None:
    assert frames.call("1", "Heartbeat", {}) == b'[2,"1","Heartbeat",{}]'
    assert frames.call_result("1", {"a": 1}) == b'[3,"1",{"a":1}]'
    assert orjson.loads(frames.call_error("1", "GenericError", "x" * 300)) == [4, "1", "GenericError", "x" * 255, {}]


def _nested(depth: int, opener: str = "[") -> str:
    closer = {"[": "]", "{": "}"}[opener]
    inner = '"x"'
    for level in range(depth):
        inner = f"{opener}{inner}{closer}" if opener == "[" else f'{{"k{level}":{inner}}}'
    return inner


@pytest.mark.parametrize("opener", ["[", "{"])
def test_a_frame_nested_too_deep_is_a_formation_violation_that_names_its_call(opener: str) -> None:
    # 300 levels in 630 bytes: the validator gives up at about 255 and raised what nothing caught
    raw = '[2,"deep","DataTransfer",{"vendorId":"v","data":' + _nested(300, opener) + "}]"
    with pytest.raises(FrameError) as error:
        frames.parse(raw)
    assert (error.value.code, error.value.message_id, error.value.answerable) == ("FormationViolation", "deep", True)
    assert "nested deeper than" in error.value.description


def test_the_depth_limit_is_exact_and_brackets_inside_strings_do_not_count() -> None:
    fits = frames.MAX_DEPTH - 2  # the frame's array and the payload object are two levels
    assert frames.parse('[2,"a","DataTransfer",{"vendorId":"v","data":' + _nested(fits) + "}]")
    with pytest.raises(FrameError):
        frames.parse('[2,"a","DataTransfer",{"vendorId":"v","data":' + _nested(fits + 1) + "}]")
    # many brackets, all inside strings (escaped quotes and backslashes too): not nested at all
    text = orjson.dumps({"vendorId": "v", "data": '[{\\"' * 200 + "]" * 50, "more": ["\\", '"[[[']}).decode()
    assert frames.parse(f'[2,"a","DataTransfer",{text}]').payload["more"] == ["\\", '"[[[']
    # and a string that closes brackets cannot hide real nesting behind it
    with pytest.raises(FrameError):
        frames.parse('[2,"a","DataTransfer",{"vendorId":"v","data":"' + "]" * 100 + '","x":' + _nested(40) + "}]")


_TEXT = st.text(alphabet='[]{}"\\:,ab\n', max_size=6)
_VALUES = st.recursive(
    st.none() | st.integers(-(2**63), 2**63 - 1) | _TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_TEXT, inner, max_size=3),
    max_leaves=30,
)


def _depth(value: object) -> int:
    if isinstance(value, list):
        return 1 + max(map(_depth, value), default=0)
    if isinstance(value, dict):
        return 1 + max(map(_depth, value.values()), default=0)
    return 0


@settings(max_examples=300, deadline=None)
@given(_VALUES, st.integers(0, 12), st.booleans())
def test_nesting_depth_matches_the_parsed_structure(value: object, limit: int, pretty: bool) -> None:
    data = orjson.dumps(value, option=orjson.OPT_INDENT_2 if pretty else None)
    assert frames.nesting_exceeds(data, limit) is (_depth(value) > limit)


@pytest.mark.parametrize(
    "raw",
    [
        "[3, 17, {}]",  # a CALLRESULT with a number for its id
        "[3, null, {}]",
        '[4, "", "InternalError", "", {}]',
        "[3]",
        '[3, "' + "x" * 37 + '", {}]',
    ],
)
def test_a_broken_answer_is_never_answerable(raw: str) -> None:
    with pytest.raises(FrameError) as error:
        frames.parse(raw)
    assert error.value.answerable is False
