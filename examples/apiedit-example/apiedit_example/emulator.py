"""A loopback emulator of the example API: echoes the first input image, or paints one."""

from __future__ import annotations

import io
import re

from apiedit.images import b64decode_any, b64encode
from apiedit.testing.emulator import Emulator, RecordedRequest, Response


def _solid_png(colour: tuple[int, int, int]) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (32, 32), colour).save(buf, "PNG")
    return buf.getvalue()


class ExampleEmulator(Emulator):
    demo_models = {"generate": "example-image-1", "edit": "example-image-1", "compose": "example-image-1"}

    models = ["example-image-1"]

    def setup_routes(self) -> None:
        self.route("POST", "/generate", self.generate, billable=True)
        self.route("GET", "/models", self.list_models)

    def list_models(self, request: RecordedRequest, _match: re.Match) -> Response:
        if not request.headers.get("authorization", "").startswith("Bearer "):
            return self.error_response("auth")
        return Response.json({"data": [{"id": m} for m in self.models]})

    def generate(self, request: RecordedRequest, _match: re.Match) -> Response:
        if not request.headers.get("authorization", "").startswith("Bearer "):
            return self.error_response("auth")
        body = request.json()
        if body.get("model") not in self.models:
            return Response.json({"error": {"message": f"no model {body.get('model')}",
                                            "code": "model_not_found"}}, status=404)
        if "blocked" in body["prompt"]:
            return self.error_response("blocked")
        images = [b64decode_any(i) for i in body.get("images", [])]
        out = images[0] if images else _solid_png((len(body["prompt"]) * 7 % 256, 90, 160))
        return Response.json({"images": [b64encode(out)], "text": f"{len(images)} inputs"},
                             headers={"x-request-id": f"ex-{len(self.requests)}"})

    def error_response(self, kind: str) -> Response:
        status = {"auth": 401, "quota": 402, "rate_limit": 429, "blocked": 400,
                  "bad_request": 400, "overloaded": 503, "server_error": 500}[kind]
        return Response.json({"error": {"message": f"example {kind}", "code": kind}}, status=status)
