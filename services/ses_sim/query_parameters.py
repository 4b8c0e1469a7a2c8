"""An AWS Query request's parameters as text: its query string and, for a POST, its form.

boto sends the form url-encoded, but a client may send it as multipart/form-data; aiohttp gives
such a field as bytes when its part is not text/* (its str() reads "bytearray(b'...')"), and a
file part as a FileField. The Query protocol knows neither: bytes are read as UTF-8, and a file
part is no parameter.
"""

from __future__ import annotations

from aiohttp import web


async def query_parameters(request: web.Request) -> dict[str, str]:
    parameters = dict(request.query)
    if request.method == "POST":
        for name, value in (await request.post()).items():
            if isinstance(value, str):
                parameters[name] = value
            elif isinstance(value, (bytes, bytearray)):
                parameters[name] = bytes(value).decode("utf-8", errors="replace")
    return parameters
