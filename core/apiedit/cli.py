"""The `apiedit` command: list plugins and models, manage keys, edit images, chat, batch, emulate, demo,
write a new plugin.

Argument parsing and the commands live here; exit codes, CLI-worded hints, output files,
progress and cancellation are in `apiedit.console`.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
import traceback
from pathlib import Path
from typing import Any, NoReturn, Sequence

from .errors import ApiEditError, InvalidInputError
from .console.exitcodes import EXIT_CODES_HELP, ExitCode, exit_code_for
from .console.hints import cli_message

__all__ = ["main"]


class UsageError(Exception):
    """A malformed command line: exit 2, like argparse's own errors."""


class _Parser(argparse.ArgumentParser):
    """argparse, but a mistake is one `error:` line pointing at --help, not a usage dump."""

    def error(self, message: str) -> NoReturn:
        print(f"error: {message} (see `{self.prog} --help`)", file=sys.stderr)
        raise SystemExit(ExitCode.USAGE)


def _print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, sort_keys=True))


def cmd_plugins(args: argparse.Namespace) -> int:
    from .host import default_host

    records = default_host().records()
    # A failed plugin exits with the plugin code (8), so that a CI gate notices; the list is
    # printed all the same. Disabled plugins are a choice, not a failure.
    code = ExitCode.PLUGIN if any(r.status == "failed" for r in records) else ExitCode.OK
    if args.json:
        _print_json([r.to_json() for r in records])
        return code
    if not records:
        print("No apiedit plugins installed. The README's Plugins section lists the providers "
              "this repository ships (e.g. `pip install ./plugins/openai` from a clone).")
        return 0
    for r in records:
        dist = f"{r.distribution or '-'} {r.version or ''}".strip()
        line = f"{r.name:<12} {r.status:<9} {dist}"
        print(line + (f"\n    error: {r.error}" if r.error else ""))
    return code


def cmd_models(args: argparse.Namespace) -> int:
    from .console.running import run_cancellable
    from .host import default_host

    host = default_host()
    label = host.get_provider(args.provider).label

    def fetch(_cancel: Any, progress: Any) -> Any:
        progress(f"{label}: asking for its model list" if args.refresh else f"{label}: models")
        return host.list_models(args.provider, refresh=args.refresh, base_url=args.base_url)

    models = run_cancellable(label, fetch)
    if args.json:
        _print_json([m.to_json() for m in models])
        return 0
    from .modelpolicy import choose_default

    for m in models:
        caps = ",".join(c.name.lower() for c in type(m.capabilities) if c and c in m.capabilities)
        print(f"{m.id:<45} inputs<={m.max_input_images:<3} {caps}{_model_flags(m)}")
    default = choose_default(models)
    print(f"default: {default.id if default else '(none)'}")
    status = default_host().list_status(args.provider, base_url=args.base_url)
    if status.stale:
        print(f"warning: the stored list is stale (last refresh failed: {status.error})",
              file=sys.stderr)
    elif status.fetched_at is None:
        print(f"note: built-in tables only; run `apiedit models {args.provider} --refresh` for "
              "the models your key can use", file=sys.stderr)
    return 0


def _model_flags(m: Any) -> str:
    """Why a listed model may not be what the user wants: retired, unavailable, unverified."""
    from .modelpolicy import is_deprecated

    flags = [name for name, on in (
        ("retired" + (f", use {m.replacement}" if m.replacement else ""), m.retired),
        ("not offered to this key", m.available is False and not m.retired),
        ("deprecated" + (f", use {m.replacement}" if m.replacement else ""),
         is_deprecated(m) and not m.retired),
        ("limits unverified", not m.verified),
    ) if on]
    return f" ({'; '.join(flags)})" if flags else ""


def cmd_models_diff(args: argparse.Namespace) -> int:
    """Maintainers: a saved live list against the tables; exit 1 when they differ."""
    from .host import default_host
    from .modeldiff import diff_models

    diff = diff_models(default_host(), args.provider, args.file)
    if args.json:
        _print_json(diff.to_json())
    else:
        for model_id, family in diff.added:
            print(f"added           {model_id}  (family {family}: limits inherited)")
        for model_id in diff.unknown_family:
            print(f"unknown-family  {model_id}  (no table describes it: add an entry or family)")
        for model_id in diff.removed:
            print(f"removed         {model_id}  (in the table, not in the live list)")
        if diff.clean:
            print(f"{args.provider}: the tables match the live list.")
    return 0 if diff.clean else 1


def cmd_keys(args: argparse.Namespace) -> int:
    from . import keys
    from .host import default_host

    host = default_host()
    if args.action == "list":
        for pid, info in host.providers().items():
            source = keys.key_source(info)
            print(f"{pid:<12} {'set (' + source + ')' if source else 'not set'}")
            for url in keys.relay_keys(pid):
                print(f"{'':<12} relay {url}: own key set")
            for url in keys.trusted_base_urls(pid):
                print(f"{'':<12} trusted {url}")
        return 0
    host.get_provider(args.provider)
    if args.action == "trust":
        origin = keys.trust_base_url(args.provider, args.url)
        print(f"trusted {origin} for {args.provider}: workflows may now send its key there")
        return 0
    if args.action == "untrust":
        print("untrusted" if keys.untrust_base_url(args.provider, args.url) else "was not trusted")
        return 0
    if args.action == "remove":
        removed = keys.delete_key(args.provider, base_url=args.base_url)
        print("removed" if removed else "no stored key")
        return 0
    whose = f"{args.provider} relay {args.base_url}" if args.base_url else args.provider
    key = sys.stdin.readline().strip() if args.stdin else getpass.getpass(f"{whose} API key: ")
    if not key:
        raise InvalidInputError("No key was given; nothing was stored. Paste the key, or pipe it "
                                "with --stdin.")
    path = keys.store_key(args.provider, key, base_url=args.base_url)
    print(f"stored in {path} (mode 0600)")
    return 0


def _request_from(args: argparse.Namespace) -> Any:
    """The EditRequest the flags describe; every mistake is an InvalidInputError."""
    from .console.inputs import read_image
    from .types import EditRequest

    return EditRequest(
        model=args.model,
        prompt=args.prompt,
        images=tuple(read_image(p, "-i") for p in args.image),
        mask=read_image(args.mask, "--mask") if args.mask else None,
        negative_prompt=args.negative_prompt or "",
        size=args.size,
        aspect_ratio=args.aspect_ratio,
        resolution=args.resolution,
        n=args.n,
        seed=args.seed,
        steps=args.steps,
        guidance=args.guidance,
        strength=args.strength,
    )


_CONVERSATION_FIELDS = ("mask", "negative_prompt", "size", "aspect_ratio", "resolution", "n",
                        "seed", "steps", "guidance", "strength")


def cmd_edit(args: argparse.Namespace) -> int:
    from .console.outputs import file_stem, prepare_out_dir, save_images
    from .console.running import run_cancellable
    from .host import default_host

    request = _request_from(args)
    out = prepare_out_dir(args.out)  # before any paid call: a bad -o must not lose an image
    host = default_host()
    label = host.get_provider(args.provider).label
    if args.conversation:
        from .conversation import Conversation

        fields = {f: getattr(request, f) for f in _CONVERSATION_FIELDS}
        conversation = Conversation.open(args.conversation)
        result = run_cancellable(label, lambda cancel, progress: conversation.send(
            args.provider, model=request.model, prompt=request.prompt, images=request.images,
            use_last_image=not args.no_last_image, base_url=args.base_url,
            allow_unlisted=args.allow_unlisted, cancel=cancel, progress=progress, **fields,
        ))
        turn = result.info["turn"]
        reused = result.info.get("reused")
        how = "stored answer reused, nothing sent" if reused else result.info["conversation"]
        print(f"conversation {args.conversation!r}, turn {turn} ({how})", file=sys.stderr)
        suffix = f"turn{turn}" if turn is not None else "unsaved"
        stem = args.name or f"{file_stem(args.conversation)}-{suffix}"
    else:
        from .resultcache import cached_edit

        result = run_cancellable(label, lambda cancel, progress: cached_edit(
            host, args.provider, request, cache=False if args.no_cache else None,
            base_url=args.base_url, allow_unlisted=args.allow_unlisted, cancel=cancel,
            progress=progress,
        ))
        stem = args.name or "apiedit"
    paths = [str(p) for p in save_images(result.images, out, file_stem(stem))]
    record = {**result.info_record(), "text": result.text, "files": paths}
    if args.json:
        _print_json(record)
    else:
        print("\n".join(paths))
        if result.text:
            print(f"model text: {result.text}")
        for warning in result.warnings:
            print(f"warning: {warning}", file=sys.stderr)
    return 0


def cmd_conversations(args: argparse.Namespace) -> int:
    import time

    from .conversation import Conversation, default_store

    store = default_store()
    action = args.action
    if action == "list":
        rows = store.summaries()
        if args.json:
            _print_json([
                {"name": r.name, "turns": r.turns, "first_turn": r.first_turn,
                 "last_turn": r.last_turn, "images": r.images, "updated_at": r.updated_at}
                for r in rows
            ])
            return 0
        if not rows:
            print(f"No conversations in {store.path}.")
        for r in rows:
            span = f"turns {r.first_turn}-{r.last_turn}" if r.turns else "empty"
            when = time.strftime("%Y-%m-%d %H:%M", time.localtime(r.updated_at))
            print(f"{r.name:<24} {span:<14} {r.images:>3} image(s)  {when}")
        return 0
    if not args.name:
        raise UsageError(f"conversations {action} needs a conversation name")
    conversation = Conversation(args.name, store)
    if action in ("show", "reset", "delete", "fork", "export") and not store.exists(args.name):
        from .host import did_you_mean

        raise InvalidInputError(
            f"There is no conversation {args.name!r}{did_you_mean(args.name, store.names())}. "
            "Run `apiedit conversations list` to see the stored ones."
        )
    if action == "show":
        exchanges = conversation.exchanges()
        if args.json:
            _print_json([
                {"turn": e.turn, "prompt": e.user.text, "provider": e.user.provider,
                 "model": e.user.model, "input_images": len(e.user.images),
                 "output_images": len(e.assistant.images), "text": e.assistant.text,
                 "mode": e.info.get("conversation")}
                for e in exchanges
            ])
            return 0
        if not exchanges:
            print(f"Conversation {args.name!r} has no turns.")
        for e in exchanges:
            print(f"turn {e.turn}: [{e.user.provider}/{e.user.model}] {e.user.text!r} "
                  f"({len(e.user.images)} in, {len(e.assistant.images)} out)"
                  + (f" -> {e.assistant.text!r}" if e.assistant.text else ""))
        return 0
    rest = list(args.rest)
    expected = {"fork": (2, 2), "export": (1, 1), "import": (0, 1)}.get(action, (0, 0))
    if not expected[0] <= len(rest) <= expected[1]:
        usage = {"fork": "NAME TURN NEW_NAME", "export": "NAME FILE", "import": "FILE [NEW_NAME]"}
        raise UsageError(f"usage: apiedit conversations {action} {usage.get(action, 'NAME')}")
    if action == "reset":
        conversation.reset()
        print(f"reset {args.name!r}")
    elif action == "delete":
        conversation.delete()
        print(f"deleted {args.name!r}")
    elif action == "fork":
        try:
            turn = int(rest[0])
        except ValueError:
            raise UsageError(f"conversations fork: TURN must be a number, not {rest[0]!r}") from None
        conversation.fork(turn, rest[1])
        print(f"forked {args.name!r} at turn {turn} into {rest[1]!r}")
    elif action == "export":
        conversation.export(rest[0])
        print(f"exported {args.name!r} to {rest[0]}")
    elif action == "import":
        imported = Conversation.import_(args.name, rest[0] if rest else None, store=store,
                                        replace=args.replace)
        print(f"imported {args.name} as {imported.name!r}")
    return 0


def cmd_new_plugin(args: argparse.Namespace) -> int:
    from .scaffold import check_name, generate

    name = check_name(args.name)
    target = Path(args.dir) if args.dir else Path.cwd() / f"apiedit-{name}"
    written = generate(name, target, is_async=args.is_async)
    print(f"Wrote {len(written)} files to {target}:")
    for path in written:
        print(f"  {path.relative_to(target)}")
    print(f"Next: cd {target} && pip install -e . && pytest tests   (then `apiedit plugins` "
          f"lists {name!r}; `apiedit emulate {name}` runs its emulator)")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    return run_demo(args.provider, Path(args.out))


def cmd_emulate(args: argparse.Namespace) -> int:
    from .console.emulate import run_emulator

    return run_emulator(args.provider, port=args.port, delay=args.delay, fault=args.fault)


def cmd_chat(args: argparse.Namespace) -> int:
    from .console.chat import run_chat

    return run_chat(args.provider, args.model, conversation=args.conversation,
                    out=args.out, base_url=args.base_url, allow_unlisted=args.allow_unlisted)


def cmd_batch(args: argparse.Namespace) -> int:
    """`apiedit batch run|status|resume|cancel`: see `apiedit.batch`."""
    from . import batch
    from .console.batchview import BatchProgress, print_estimate, print_report
    from .console.exitcodes import ExitCode

    if args.action == "status":
        data = batch.status(args.dir)
        if args.json:
            _print_json(data)
        else:
            print(" ".join(f"{k}={v}" for k, v in data["counts"].items() if v) or "empty",
                  f"(total {data['total']})")
            for line in data["lines"]:
                if line["state"] in ("failed", "unknown"):
                    print(f"{line['state']}: {line['id']}: {line['error_type']}: "
                          f"{line['error_message']}")
        return 0
    if args.action == "cancel":
        report = batch.cancel(args.dir)
        for job in report["cancelled_jobs"]:
            outcome = job.get("state") or f"cancel refused: {job['error']}"
            print(f"job {job['provider']} {job['job_id']}: {outcome}")
        print_report(report)
        refused = any("error" in job for job in report["cancelled_jobs"])
        return ExitCode.PROVIDER if refused else ExitCode.OK
    progress = BatchProgress()
    if args.action == "run":
        report = batch.submit(args.manifest, args.out, mode=args.mode,
                              concurrency=args.concurrency, budget=args.budget,
                              allow_unknown_prices=args.allow_unknown_prices,
                              progress=progress, on_estimate=print_estimate)
        out = args.out
    else:
        report = batch.resume(args.dir, retry_unknown=args.retry_unknown,
                              concurrency=args.concurrency, progress=progress)
        out = args.dir
    print_report(report)
    print(f"report: {Path(out) / 'report.json'}")
    counts = report["counts"]
    return ExitCode.OK if counts["failed"] == counts["unknown"] == 0 else ExitCode.PROVIDER


def _version() -> str:
    from . import __version__

    return f"apiedit {__version__}"


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="show the full traceback of an error")
    parser = _Parser(
        prog="apiedit",
        description="Create and edit images through cloud APIs (one plugin per provider).",
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=_version())
    parser.add_argument("--debug", action="store_true", help="show the full traceback of an error")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def command(name: str, **kw: Any) -> argparse.ArgumentParser:
        kw.setdefault("epilog", EXIT_CODES_HELP)
        return sub.add_parser(name, parents=[common],
                              formatter_class=argparse.RawDescriptionHelpFormatter, **kw)

    p = command("plugins", help="list installed provider plugins and providers.toml entries, their "
                "status and errors",
                description="List installed provider plugins and providers.toml entries. Exits 8 "
                            "when any failed to load (the list is printed all the same), so CI "
                            "can gate on it.")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_plugins)

    p = command("models", help="list a provider's image models")
    p.add_argument("provider")
    p.add_argument("--refresh", action="store_true",
                   help="ask the provider instead of the cache (a failed refresh is an error)")
    p.add_argument("--base-url", help="override the provider's base URL")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_models)

    p = command(
        "models-diff", help="maintainers: compare a saved live model list with the tables",
        description="Compare FILE (saved `apiedit models PROVIDER --refresh --json`, or a raw "
                    "/models answer) with PROVIDER's tables: prints added (new member of a known "
                    "family), unknown-family and removed ids; exits 1 when there is any.",
    )
    p.add_argument("provider")
    p.add_argument("file")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_models_diff)

    p = command(
        "keys", help="store, remove or list API keys (key file, mode 0600); trust relay URLs",
        description="A key is sent only to its provider's own host or to a base URL you chose: "
                    "an environment variable, the key file, --base-url, your own code, or "
                    "`keys trust`. A base URL inside a workflow is used only if trusted here. "
                    "`keys set PROVIDER --base-url URL` stores a relay's own key: it goes to "
                    "that relay only, and the relay never receives the provider's key.",
    )
    keys_sub = p.add_subparsers(dest="action", required=True, parser_class=_Parser)
    k = keys_sub.add_parser("set", parents=[common], help="store a provider's key (asked for, "
                            "or read from stdin)")
    k.add_argument("provider")
    k.add_argument("--stdin", action="store_true", help="read the key from standard input")
    k.add_argument("--base-url", help="store the key of this relay instead of the provider's: "
                   "it is sent to that relay only")
    k = keys_sub.add_parser("remove", parents=[common], help="remove a provider's stored key")
    k.add_argument("provider")
    k.add_argument("--base-url", help="remove this relay's key instead of the provider's")
    keys_sub.add_parser("list", parents=[common], help="which providers have a key (never the "
                        "key), trusted base URLs and relays with their own key")
    for action, text in (("trust", "let workflows send this provider's requests (and key) to "
                                   "URL, a relay or proxy you run"),
                         ("untrust", "stop trusting URL")):
        k = keys_sub.add_parser(action, parents=[common], help=text)
        k.add_argument("provider")
        k.add_argument("url", help="the relay or proxy base URL (its scheme, host and port count)")
    p.set_defaults(func=cmd_keys)

    p = command("edit", help="generate (no --image) or edit/compose images")
    p.add_argument("provider")
    p.add_argument("-m", "--model", required=True)
    p.add_argument("-p", "--prompt", required=True)
    p.add_argument("-i", "--image", action="append", default=[], help="input image (repeatable, in order)")
    p.add_argument("--mask")
    p.add_argument("--negative-prompt")
    p.add_argument("--size", help="e.g. 1024x1024 or auto")
    p.add_argument("--aspect-ratio", help="e.g. 16:9")
    p.add_argument("--resolution", help="e.g. 1K, 2K, 4K")
    p.add_argument("-n", type=int, default=1, help="number of images")
    p.add_argument("--seed", type=int)
    p.add_argument("--steps", type=int)
    p.add_argument("--guidance", type=float)
    p.add_argument("--strength", type=float)
    p.add_argument("--base-url", help="override the provider's base URL (proxy, relay)")
    p.add_argument("--allow-unlisted", action="store_true",
                   help="deprecated and ignored: any model id is sent, listed or not")
    p.add_argument("--no-cache", action="store_true",
                   help="always call the provider (by default an identical request with --seed "
                        "answered before returns the cached result, not billed again)")
    p.add_argument("-o", "--out", default=".", help="output directory (created if missing); "
                   "files are never overwritten: the next free number is used")
    p.add_argument("--name", help="output file name stem (default: apiedit, or "
                   "CONVERSATION-turnN with --conversation); files are STEM-N.EXT")
    p.add_argument("--conversation", metavar="NAME",
                   help="continue the stored conversation NAME (created on first use) and store "
                        "this turn in it; see `apiedit conversations`")
    p.add_argument("--no-last-image", action="store_true",
                   help="with --conversation and no --image: do not feed the last answer's image "
                        "back as input")
    p.add_argument("--json", action="store_true", help="print the info record as JSON")
    p.set_defaults(func=cmd_edit)

    p = command(
        "chat",
        help="interactive multi-turn editing (/image PATH, /reset, /history, /undo, /quit)",
        description="Each line you type is the next turn's prompt; each answer's image is saved "
                    "and its path printed. /image PATH attaches an input image to the next turn, "
                    "/reset starts over, /history lists the turns, /undo goes back one turn (the "
                    "conversation is forked from the previous turn), /quit leaves.",
    )
    p.add_argument("provider")
    p.add_argument("-m", "--model", required=True)
    p.add_argument("--conversation", metavar="NAME", default="chat",
                   help="the stored conversation to continue (default: chat)")
    p.add_argument("-o", "--out", default=".", help="output directory (created if missing)")
    p.add_argument("--base-url", help="override the provider's base URL (proxy, relay, emulator)")
    p.add_argument("--allow-unlisted", action="store_true", help="accept a model id no list knows yet")
    p.set_defaults(func=cmd_chat)

    p = command(
        "conversations",
        help="list, show, reset, delete, fork, export or import stored conversations",
        description="Stored conversations (in the user data directory, or $APIEDIT_DATA_DIR). "
                    "list | show NAME | reset NAME | delete NAME | fork NAME TURN NEW_NAME | "
                    "export NAME FILE | import FILE [NEW_NAME]",
    )
    p.add_argument("action", choices=["list", "show", "reset", "delete", "fork", "export", "import"])
    p.add_argument("name", nargs="?", help="the conversation (for import: the exported file)")
    p.add_argument("rest", nargs="*", help="fork: TURN NEW_NAME; export: FILE; import: NEW_NAME")
    p.add_argument("--replace", action="store_true",
                   help="import: overwrite a conversation of that name that has turns")
    p.add_argument("--json", action="store_true", help="list/show: print JSON")
    p.set_defaults(func=cmd_conversations)

    p = command(
        "emulate",
        help="run a provider's loopback emulator in the foreground and print its base URL",
        description="Starts the provider's built-in emulator on 127.0.0.1 (no key, no cost) and "
                    "prints the base URL to pass as --base-url or APIEDIT_<PROVIDER>_BASE_URL. "
                    "Ctrl-C stops it.",
    )
    p.add_argument("provider")
    p.add_argument("--port", type=int, default=0, help="port to listen on (default: any free one)")
    p.add_argument("--delay", type=float, default=0.0, metavar="S",
                   help="answer every request S seconds late (to watch progress and Ctrl-C)")
    p.add_argument("--fault", metavar="KIND",
                   help="answer every paid request with this canned error: auth, quota, "
                        "rate_limit, blocked, bad_request, overloaded, server_error")
    p.set_defaults(func=cmd_emulate)

    p = command(
        "new-plugin", help="write a new provider plugin distribution (hooks, emulator, tests)",
        description="Writes a working distribution for provider NAME into DIR (default: "
                    "./apiedit-NAME; it must not exist or be empty): pyproject.toml with the "
                    "`apiedit` and `apiedit.emulators` entry points, LICENSE (MIT), README, the "
                    "hooks (provider_info, list_models via ModelTable, model_info, edit), a wire "
                    "module, a loopback emulator and a test running core's conformance suite. "
                    "It passes its own tests as written; then adapt it to the real API. "
                    "NAME: lower-case letters and digits, words joined by '-'.",
    )
    p.add_argument("name", help="the provider id, e.g. acme (the package is apiedit_acme)")
    p.add_argument("--async", dest="is_async", action="store_true",
                   help="a job API: one paid submit, then polls (apiedit.protocols.async_tasks)")
    p.add_argument("--dir", help="where to write it (default: ./apiedit-NAME)")
    p.set_defaults(func=cmd_new_plugin)

    p = command(
        "batch", help="run a manifest of many requests (native batch APIs or live), resumable",
        description="run MANIFEST --out DIR: every line of a JSONL or CSV manifest (id, provider, "
                    "model, prompt, images, mask, and the edit fields) is checked, the cost is "
                    "estimated (live vs native batch) and checked against --budget, then sent: "
                    "through the provider's native batch API where the plugin has one (--mode "
                    "auto), live otherwise. DIR holds the journal, outputs/ and report.json. "
                    "status DIR | resume DIR (sends nothing already sent; --retry-unknown "
                    "re-sends lines that may have been billed) | cancel DIR. Exit 7 when any "
                    "line failed or is unknown.",
    )
    batch_sub = p.add_subparsers(dest="action", required=True, parser_class=_Parser)
    b = batch_sub.add_parser("run", parents=[common], help="start a run")
    b.add_argument("manifest")
    b.add_argument("--out", required=True, help="the run's folder (journal, outputs, report)")
    b.add_argument("--mode", choices=["native", "live", "auto"], default="auto")
    b.add_argument("--concurrency", type=int, help="live requests in flight per provider "
                   "(default 1 for ModelScope, else APIEDIT_<PROVIDER>_MAX_PARALLEL or 4)")
    b.add_argument("--budget", help="refuse to start above this estimated cost (USD)")
    b.add_argument("--allow-unknown-prices", action="store_true",
                   help="with --budget: start even when some prices are unknown")
    b = batch_sub.add_parser("status", parents=[common], help="counts and failed lines of DIR")
    b.add_argument("dir")
    b.add_argument("--json", action="store_true", help="print the status as JSON")
    b = batch_sub.add_parser("resume", parents=[common], help="continue the run in DIR")
    b.add_argument("dir")
    b.add_argument("--retry-unknown", action="store_true",
                   help="also re-send lines whose outcome is unknown (they may be billed twice)")
    b.add_argument("--concurrency", type=int)
    b = batch_sub.add_parser("cancel", parents=[common], help="cancel DIR's native jobs and "
                             "unsent lines")
    b.add_argument("dir")
    p.set_defaults(func=cmd_batch)

    p = command("demo", help="offline demo against the built-in emulators (no key needed)")
    p.add_argument("--provider", action="append", help="limit to these providers (repeatable)")
    p.add_argument("-o", "--out", default="apiedit-demo", help="output directory")
    p.set_defaults(func=cmd_demo)
    return parser


def _silence_stdout() -> None:
    """After a closed pipe (`apiedit ... | head`), send the rest to /dev/null quietly."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; every failure ends in one `error:` line and its family's exit code."""
    args = build_parser().parse_args(argv)
    debug = bool(getattr(args, "debug", False)) or os.environ.get("APIEDIT_DEBUG") == "1"
    try:
        code = int(args.func(args) or 0)
        sys.stdout.flush()
        return code
    except BrokenPipeError:
        _silence_stdout()
        return ExitCode.OK
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return ExitCode.USAGE
    except ApiEditError as exc:
        if debug:
            traceback.print_exc()
        print(f"error: {cli_message(exc)}", file=sys.stderr)
        return exit_code_for(exc)
    except KeyboardInterrupt:
        print("error: Cancelled.", file=sys.stderr)
        return ExitCode.CANCELLED
    except Exception as exc:
        if debug:
            traceback.print_exc()
        text = " ".join(f"{type(exc).__name__}: {exc}".split())
        print(f"error: internal error ({text[:300]}). Rerun with --debug and report it.",
              file=sys.stderr)
        return ExitCode.INTERNAL
