"""An optional tool backed by an OpenAI-compatible chat-completions endpoint; off unless configured.

Configured by MICROTURN_LLM_URL (the base URL, e.g. http://127.0.0.1:8000/v1), MICROTURN_LLM_MODEL
and optionally MICROTURN_LLM_API_KEY. The request carries the task and its context package.
"""

from __future__ import annotations

import asyncio
import json
import os
import urllib.error
import urllib.request
from collections.abc import Mapping

from processors.background.tools import ToolError


class ChatCompletions:
    """Asks a chat-completions endpoint; used for tasks no built-in tool recognises."""

    name = "llm"

    def __init__(self, base_url: str, model: str, api_key: str = "", timeout_s: float = 20.0) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ValueError(f"MICROTURN_LLM_URL must be an http(s) URL; got {base_url!r}")
        self._url = base_url.rstrip("/") + "/chat/completions"
        self._model = model
        self._key = api_key
        self._timeout_s = timeout_s

    @classmethod
    def from_env(cls) -> ChatCompletions | None:
        url = os.environ.get("MICROTURN_LLM_URL")
        if not url:
            return None
        return cls(url, os.environ.get("MICROTURN_LLM_MODEL", "default"), os.environ.get("MICROTURN_LLM_API_KEY", ""))

    async def run(self, task: str, context: Mapping[str, str]) -> str:
        body = {
            "model": self._model,
            "messages": [
                {
                    "role": "system",
                    "content": "You help a live voice assistant. Answer briefly.\n"
                    + "\n".join(f"{k}: {v}" for k, v in sorted(context.items())),
                },
                {"role": "user", "content": task},
            ],
        }
        return await asyncio.to_thread(self._post, body)

    def _post(self, body: Mapping[str, object]) -> str:
        headers = {"Content-Type": "application/json"}
        if self._key:
            headers["Authorization"] = f"Bearer {self._key}"
        request = urllib.request.Request(self._url, json.dumps(body).encode(), headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self._timeout_s) as response:
                reply = json.loads(response.read())
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise ToolError(f"chat completions at {self._url} failed: {exc}") from exc
        try:
            return str(reply["choices"][0]["message"]["content"])
        except (KeyError, IndexError, TypeError) as exc:
            raise ToolError(f"expected choices[0].message.content from {self._url}; got {str(reply)[:200]}") from exc
