"""A local stand-in for a SCOPE server: a heuristic that answers SCOPE prompts from the examples they
show, and a minimal OpenAI-compatible HTTP endpoint serving it (``/v1/chat/completions``).

Neither is a model: the heuristic predicts the similarity-ordered majority of the shown outcomes and
their median length. They exist so the reasoning estimator's whole path (prompt, HTTP call through
``langchain-openai``, parsing, blending, cost) runs offline in tests, examples and benchmarks.
"""

from __future__ import annotations

import json
import re
import statistics
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from scope_core.text.tokens import count_tokens

_PERFORMANCE = re.compile(r"^Performance: \{len: (\d+), correct: (yes|no)\}$", re.MULTILINE)


def heuristic_reply(prompt: str) -> str:
    """A SCOPE-format reply: correct if the closer-weighted share of correct examples is at least half."""
    shown = [(int(n), ok == "yes") for n, ok in _PERFORMANCE.findall(prompt)]
    if not shown:
        return "Analysis: no anchor examples were shown.\nPredicted Performance: {len: 256, correct: no}"
    weights = [1.0 / (rank + 1) for rank in range(len(shown))]  # examples come closest first
    share = sum(w for w, (_, ok) in zip(weights, shown, strict=True) if ok) / sum(weights)
    length = round(statistics.median(n for n, _ in shown))
    verdict = "yes" if share >= 0.5 else "no"
    final = f"Predicted Performance: {{len: {length}, correct: {verdict}}}"
    if "Analysis:" not in prompt.rsplit("### Output Format", 1)[-1]:
        return final
    right = sum(ok for _, ok in shown)
    return (
        f"Analysis: the model was correct on {right} of {len(shown)} similar questions "
        f"(closer-weighted share {share:.2f}); its answers there had a median length of {length} tokens.\n{final}"
    )


class _Server(ThreadingHTTPServer):
    request_queue_size = 128  # a batch of concurrent estimates connects at once (the default 5 drops some)
    daemon_threads = True


class StandInServer:
    """An OpenAI-compatible chat endpoint on 127.0.0.1 answering with ``reply`` (after ``latency_s``).

    Use as a context manager; ``url`` is the base URL (``http://127.0.0.1:PORT/v1``).
    """

    def __init__(self, reply: Callable[[str], str] = heuristic_reply, *, latency_s: float = 0.0) -> None:
        self.reply, self.latency_s, self.requests = reply, latency_s, 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                prompt = "\n".join(str(m.get("content", "")) for m in body.get("messages", []))
                server.requests += 1
                time.sleep(server.latency_s)
                text = server.reply(prompt)
                usage = {"prompt_tokens": count_tokens(prompt), "completion_tokens": count_tokens(text)}
                usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
                payload = {
                    "id": f"chatcmpl-{server.requests}",
                    "object": "chat.completion",
                    "created": int(time.time()),
                    "model": body.get("model", "stand-in"),
                    "choices": [
                        {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
                    ],
                    "usage": usage,
                }
                data = json.dumps(payload).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args) -> None:  # quiet
                return

        self._httpd = _Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def __enter__(self) -> StandInServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
