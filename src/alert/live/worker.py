"""A dedicated inference thread (so a cgroup v1 quota can hold the model alone)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class InferenceThread:
    """One long-lived thread that runs the models, so that a cgroup v1 quota can hold it alone
    (``CgroupConfig(tids=(worker.native_id,))``) while the controller runs unthrottled."""

    def __init__(self) -> None:
        import queue
        import threading

        self._req: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._done = threading.Event()
        self._result: tuple[bool, Any] = (True, None)
        self._thread = threading.Thread(target=self._loop, name="alert-inference", daemon=True)
        self._thread.start()
        self.native_id: int = self.call(lambda: __import__("threading").get_native_id())

    def _loop(self) -> None:
        while True:
            item = self._req.get()
            if item is None:
                return
            fn, args = item
            try:
                self._result = (True, fn(*args))
            except BaseException as e:  # handed to the caller
                self._result = (False, e)
            self._done.set()

    def call(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run ``fn(*args)`` on the inference thread and return its result (or raise its error)."""
        self._done.clear()
        self._req.put((fn, args))
        self._done.wait()
        ok, value = self._result
        if not ok:
            raise value
        return value

    def close(self) -> None:
        self._req.put(None)
        self._thread.join(timeout=5)


