import orjson
import pytest

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
