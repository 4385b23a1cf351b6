"""Run a manifest: cost first, then live calls (bounded per provider) or native batch jobs.

Decisions (the issue is silent on them):
- Live mode sends each line through `Host.edit`, so the billing-safe retry policy of
  `apiedit.http` and the process-wide limiter `apiedit.limits` apply unchanged; `concurrency`
  bounds each provider's threads and sets the process-wide limit to match (default 1 for
  ModelScope, else the process limit: `APIEDIT_<PROVIDER>_MAX_PARALLEL` or 4).
- A timeout means the provider may have done (and billed) the work: the line becomes
  `unknown`, like a line in flight when the process died, and is not re-sent by `resume`
  unless `retry_unknown=True`.
- An identical line (same request hash) already `done` in this DIR reuses the stored files.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable, Iterable

from ..errors import ApiEditError, InvalidInputError, ProviderTimeoutError
from ..types import EditRequest
from .journal import Journal, atomic_write
from .manifest import ManifestLine, read_manifest, request_hash

__all__ = ["DEFAULT_CONCURRENCY", "Runner", "estimate"]

DEFAULT_CONCURRENCY = {"modelscope": 1}
_EXT = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp", "image/gif": "gif"}
Progress = Callable[[dict[str, int], int], None]


def has_hook(host: Any, provider: str, hook: str) -> bool:
    """Whether the plugin owning `provider` implements the optional `hook`."""
    host.providers()  # loads the plugins
    return any(i.plugin_name == provider for i in getattr(host._pm.hook, hook).get_hookimpls())


def _native_capable(host: Any, provider: str, model: str) -> bool:
    """auto mode: the plugin has `submit_batch` and says yes (or has no `supports_batch`)."""
    if not has_hook(host, provider, "submit_batch"):
        return False
    if not has_hook(host, provider, "supports_batch"):
        return True
    try:
        return bool(host._guarded(provider, "supports_batch", model=model,
                                  settings=host.settings(provider)))
    except ApiEditError:
        return False


def _bare_request(line: ManifestLine) -> EditRequest:
    return EditRequest(model=line.model, prompt=line.prompt, **line.fields)


def estimate(host: Any, lines: Iterable[ManifestLine]) -> dict[str, Any]:
    """Estimated cost, live and native (batch prices), from `apiedit.pricing`; None = unknown."""
    from ..pricing import estimate_cost, total

    lines = list(lines)
    live = total(estimate_cost(l.provider, _bare_request(l), host=host) for l in lines)
    native = total(estimate_cost(l.provider, _bare_request(l), batch=True, host=host)
                   for l in lines)
    return {"live": live, "native": native}


class Runner:
    """One run over DIR. Create with a manifest (new run) or without (resume of DIR)."""

    def __init__(self, out: str | Path, *, host: Any = None) -> None:
        if host is None:
            from ..host import default_host

            host = default_host()
        self.host = host
        self.out = Path(out)
        self.journal = Journal(self.out)
        (self.out / "outputs").mkdir(exist_ok=True)
        self._cancel = threading.Event()

    # -- setup
    def load(self, manifest: str | Path) -> list[ManifestLine]:
        lines = read_manifest(manifest, self.host.providers().keys())
        if self.journal.get_meta("run_id") is None:
            self.journal.set_meta("run_id", uuid.uuid4().hex)
            self.journal.set_meta("manifest", str(Path(manifest).resolve()))
            self.journal.set_meta("started", str(time.time()))
        self.journal.add_lines([(l.id, l.provider, l.model, {**l.to_json(), "line_no": l.line_no})
                                for l in lines])
        return lines

    def pending_lines(self) -> list[ManifestLine]:
        out = []
        for row in self.journal.rows("pending"):
            data = dict(row["line"])
            no = data.pop("line_no", 0)
            images, mask = tuple(data.pop("images") or ()), data.pop("mask")
            base = {k: data.pop(k) for k in ("id", "provider", "model", "prompt")}
            out.append(ManifestLine(no, images=images, mask=mask, fields=data, **base))
        return out

    def check_budget(self, lines: list[ManifestLine], mode_of: dict[str, str],
                     budget: Decimal | None, allow_unknown: bool) -> dict[str, Any]:
        """The estimate for these lines; raises InvalidInputError above the budget."""
        costs = estimate(self.host, lines)
        from ..pricing import estimate_cost, total

        planned = total(estimate_cost(l.provider, _bare_request(l),
                                      batch=mode_of[l.id] == "native", host=self.host)
                        for l in lines)
        costs["planned"] = planned
        if budget is not None:
            if planned.amount is None and not allow_unknown:
                raise InvalidInputError(
                    f"Not started: the cost of this run is unknown ({planned.basis}), so it "
                    f"cannot be held under the budget of {budget}. Pass --allow-unknown-prices "
                    "to run anyway.")
            if planned.amount is not None and planned.amount > budget:
                raise InvalidInputError(
                    f"Not started: the estimated cost {planned.label()} is above the budget of "
                    f"{budget} {planned.currency}. Raise --budget, or run fewer lines.")
        return costs

    # -- the work
    def modes(self, lines: list[ManifestLine], mode: str) -> dict[str, str]:
        if mode not in ("native", "live", "auto"):
            raise InvalidInputError(f"mode is native, live or auto, not {mode!r}.")
        found: dict[str, str] = {}
        for l in lines:
            capable = _native_capable(self.host, l.provider, l.model)
            if mode == "native" and not capable:
                raise InvalidInputError(
                    f"line {l.line_no}: {l.provider} model {l.model!r} has no native batch API "
                    "in the installed plugin. Use --mode live or auto.")
            found[l.id] = "native" if (mode == "native" or (mode == "auto" and capable)) else "live"
        return found

    def run(self, lines: list[ManifestLine], mode_of: dict[str, str], *,
            concurrency: int | None = None, progress: Progress | None = None) -> None:
        """Send every pending line; returns when all have an outcome (or on cancel)."""
        by_provider: dict[str, list[ManifestLine]] = defaultdict(list)
        native = [l for l in lines if mode_of[l.id] == "native"]
        for l in lines:
            if mode_of[l.id] == "live":
                by_provider[l.provider].append(l)
        total = len(self.journal.rows())
        report = (lambda: progress(self.journal.counts(), total)) if progress else (lambda: None)
        threads = []
        for provider, group in by_provider.items():
            from ..limits import max_parallel, set_max_parallel

            if concurrency:  # the process-wide limiter follows, so N really are in flight
                set_max_parallel(provider, concurrency)
            n = concurrency or DEFAULT_CONCURRENCY.get(provider) or max_parallel(provider)
            threads.append(threading.Thread(target=self._live,
                                            args=(provider, group, n, report, concurrency),
                                            daemon=True))
        if native:
            from .native import run_native

            threads.append(threading.Thread(target=run_native, args=(self, native, report),
                                            daemon=True))
        for t in threads:
            t.start()
        try:
            for t in threads:
                while t.is_alive():
                    t.join(0.2)
        except KeyboardInterrupt:
            self._cancel.set()
            raise

    def _live(self, provider: str, group: list[ManifestLine], n: int, report: Callable[[], None],
              concurrency: int | None) -> None:
        claimed: dict[str, threading.Event] = {}
        lock = threading.Lock()

        def one(line: ManifestLine) -> None:
            if self._cancel.is_set():
                return
            try:
                request = line.build_request(self._fetcher(provider))
            except ApiEditError as exc:
                self._fail(line.id, exc)
                return report()
            digest = request_hash(line, request)
            self.journal.update(line.id, hash=digest, mode="live")
            with lock:  # an identical line in flight: wait for it, then reuse its files
                first = claimed.get(digest)
                if first is None:
                    claimed[digest] = threading.Event()
            if first is not None:
                first.wait()
            if self._reuse(line.id, digest):
                return report()
            self.journal.update(line.id, state="sending")
            try:
                result = self.host.edit(provider, request, cancel=self._cancel)
            except ProviderTimeoutError as exc:
                self.journal.update(line.id, state="unknown", error_type=type(exc).__name__,
                                    error_message=f"{exc.fact} It may have been billed: not "
                                    "re-sent (resume --retry-unknown sends it again).")
            except ApiEditError as exc:
                self._fail(line.id, exc)
            else:
                self.store(line.id, result)
            finally:
                if first is None:
                    claimed[digest].set()
            report()

        try:
            with ThreadPoolExecutor(max_workers=max(1, n), thread_name_prefix=f"batch-{provider}") as pool:
                list(pool.map(one, group))
        finally:
            if concurrency:
                from ..limits import set_max_parallel

                set_max_parallel(provider, None)  # back to the environment's (or default) limit

    def _fetcher(self, provider: str) -> Callable[[str], Any]:
        from ..download import download_image

        return lambda url: download_image(url, self.host.settings(provider))

    def _fail(self, ident: str, exc: ApiEditError) -> None:
        self.journal.update(ident, state="failed", error_type=type(exc).__name__,
                            error_message=str(exc)[:2000])

    def _reuse(self, ident: str, digest: str) -> bool:
        prior = self.journal.done_with_hash(digest)
        if prior is None or prior["id"] == ident:
            return False
        outputs = []
        for i, item in enumerate(prior["outputs"], 1):
            src = self.out / item["path"]
            dest = self.out / "outputs" / f"{ident}-{i}{src.suffix}"
            if not dest.exists():
                atomic_write(dest, src.read_bytes())
            outputs.append({**item, "path": str(dest.relative_to(self.out))})
        self.journal.update(ident, state="done", outputs=outputs, reused=1,
                            request_id=prior["request_id"])
        return True

    def store(self, ident: str, result: Any) -> None:
        """Write a result's images (atomically) and journal them by content hash."""
        from ..pricing import reported_cost

        outputs = []
        for i, image in enumerate(result.images, 1):
            path = self.out / "outputs" / f"{ident}-{i}.{_EXT.get(image.mime_type, 'bin')}"
            atomic_write(path, image.data)
            outputs.append({"path": str(path.relative_to(self.out)), "sha256": image.sha256})
        cost = reported_cost(result)
        self.journal.update(ident, state="done", outputs=outputs, request_id=result.request_id,
                            error_type=None, error_message=None,
                            cost=str(cost.amount) if cost else None)

    def cancel(self) -> None:
        self._cancel.set()


def report(journal: Journal, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The run's summary: counts, failures by error type, unknown lines, cost, time."""
    rows = journal.rows()
    failed: dict[str, int] = defaultdict(int)
    for r in rows:
        if r["state"] == "failed":
            failed[r["error_type"] or "Error"] += 1
    started = float(journal.get_meta("started") or time.time())
    reported = [Decimal(r["cost"]) for r in rows if r["cost"]]
    data = {
        "total": len(rows), "counts": journal.counts(), "failed_by_type": dict(failed),
        "unknown": [{"id": r["id"], "error": r["error_message"]} for r in rows if r["state"] == "unknown"],
        "reused": sum(r["reused"] for r in rows),
        "reported_cost": str(sum(reported, Decimal(0))) if reported else None,
        "elapsed_s": round(time.time() - started, 3),
        **(extra or {}),
    }
    for key in ("estimated_cost_live", "estimated_cost_native", "estimated_cost_planned"):
        data.setdefault(key, journal.get_meta(key))
    atomic_write(journal.dir / "report.json", json.dumps(data, indent=2).encode())
    return data
