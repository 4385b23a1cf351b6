"""Request bodies with inline images: the same bytes `json.dumps` would send, built faster."""

from __future__ import annotations

import copy
import json
import math
import pickle

import pytest

from apiedit.images import Base64Text, b64decode_any, b64encode, parse_data_url, to_data_url
from apiedit.protocols.jsonbody import json_body
from apiedit.types import ImageData

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 400  # 100 KB: long enough to be spliced


def _bodies() -> list[object]:
    url = to_data_url(ImageData(PNG, "image/png"))
    return [
        {"model": "m", "messages": [{"role": "user", "content": [
            {"type": "text", "text": "make it évening \"now\" \\ \n\t"},
            {"type": "image_url", "image_url": {"url": url}}]}], "seed": 7, "n": 1.5,
         "flags": [True, False, None], "empty": {}, "none": []},
        {"contents": [{"parts": [{"text": "雪"}, {"inlineData": {"mimeType": "image/png",
                                                                 "data": b64encode(PNG)}}]}]},
        [b64encode(PNG), "short", b64encode(b"tiny")],
        ("tuple", 1),
        "plain",
    ]


@pytest.mark.parametrize("body", _bodies())
def test_the_bytes_are_those_json_dumps_gives(body: object) -> None:
    assert json_body(body) == json.dumps(body, allow_nan=False).encode("utf-8")


def test_values_it_does_not_write_itself_fall_back_to_json_dumps() -> None:
    assert json_body({1: "int key", "x": 2}) == json.dumps({1: "int key", "x": 2}).encode()
    with pytest.raises(ValueError):  # like requests' json=, NaN is refused, never sent
        json_body({"x": math.nan})
    with pytest.raises(TypeError):
        json_body({"x": object()})


def test_data_urls_and_base64_text_round_trip() -> None:
    url = to_data_url(ImageData(PNG, "image/png"))
    assert isinstance(url, Base64Text) and url.startswith("data:image/png;base64,")
    assert parse_data_url(url).data == PNG
    assert b64decode_any(b64encode(PNG)) == PNG
    assert b64decode_any(b64encode(PNG, urlsafe=True)) == PNG
    odd = to_data_url(ImageData(PNG, 'image/x"y'))  # a label that needs escaping: plain text
    assert not isinstance(odd, Base64Text)
    assert json.loads(json_body({"u": odd}))["u"] == odd


def test_base64_text_survives_copy_and_pickle() -> None:
    text = b64encode(PNG)
    for clone in (copy.deepcopy(text), pickle.loads(pickle.dumps(text)), copy.copy(text)):
        assert clone == text and json_body([clone]) == json.dumps([text]).encode()
