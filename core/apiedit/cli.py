"""The `apiedit` command: list plugins and models, manage keys, edit images, run the demo."""

from __future__ import annotations

import argparse
import getpass
import json
import re
import sys
from pathlib import Path
from typing import Any, Sequence

from .errors import ApiEditError

__all__ = ["main"]


def _print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, sort_keys=True))


def cmd_plugins(args: argparse.Namespace) -> int:
    from .host import default_host

    records = default_host().records()
    if args.json:
        _print_json([r.to_json() for r in records])
        return 0
    if not records:
        print("No apiedit plugins installed. Install one, e.g. `pip install apiedit-openai`.")
        return 0
    for r in records:
        dist = f"{r.distribution or '-'} {r.version or ''}".strip()
        line = f"{r.name:<12} {r.status:<9} {dist}"
        print(line + (f"\n    error: {r.error}" if r.error else ""))
    return 0


def cmd_models(args: argparse.Namespace) -> int:
    from .host import default_host

    models = default_host().list_models(args.provider, refresh=args.refresh, base_url=args.base_url)
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
        ("deprecated", is_deprecated(m) and not m.retired),
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
    if not args.provider:
        raise SystemExit(f"keys {args.action} needs a provider id")
    host.get_provider(args.provider)
    if args.action in ("trust", "untrust"):
        if not args.url:
            raise SystemExit(f"keys {args.action} needs a URL: apiedit keys {args.action} PROVIDER URL")
        if args.action == "trust":
            origin = keys.trust_base_url(args.provider, args.url)
            print(f"trusted {origin} for {args.provider}: workflows may now send its key there")
        else:
            print("untrusted" if keys.untrust_base_url(args.provider, args.url) else "was not trusted")
        return 0
    if args.action == "remove":
        removed = keys.delete_key(args.provider, base_url=args.base_url)
        print("removed" if removed else "no stored key")
        return 0
    whose = f"{args.provider} relay {args.base_url}" if args.base_url else args.provider
    key = sys.stdin.readline().strip() if args.stdin else getpass.getpass(f"{whose} API key: ")
    path = keys.store_key(args.provider, key, base_url=args.base_url)
    print(f"stored in {path} (mode 0600)")
    return 0


def _read_image(path: str) -> Any:
    from .images import sniff_mime
    from .types import ImageData

    data = Path(path).read_bytes()
    return ImageData(data, sniff_mime(data) or "application/octet-stream")


def _save(result: Any, out: Path, stem: str) -> list[str]:
    from .images import extension_for

    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for index, image in enumerate(result.images, 1):
        path = out / f"{stem}-{index}.{extension_for(image.data)}"
        path.write_bytes(image.data)
        paths.append(str(path))
    return paths


def _file_stem(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._") or "conversation"


def cmd_edit(args: argparse.Namespace) -> int:
    from .host import default_host
    from .types import EditRequest

    request = EditRequest(
        model=args.model,
        prompt=args.prompt,
        images=tuple(_read_image(p) for p in args.image),
        mask=_read_image(args.mask) if args.mask else None,
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
    progress = lambda text: print(text, file=sys.stderr)
    if args.conversation:
        from .conversation import Conversation

        fields = {f: getattr(request, f) for f in ("mask", "negative_prompt", "size", "aspect_ratio",
                                                   "resolution", "n", "seed", "steps", "guidance",
                                                   "strength")}
        result = Conversation.open(args.conversation).send(
            args.provider, model=request.model, prompt=request.prompt, images=request.images,
            use_last_image=not args.no_last_image, base_url=args.base_url,
            allow_unlisted=args.allow_unlisted, progress=progress, **fields,
        )
        turn = result.info["turn"]
        reused = result.info.get("reused")
        how = "stored answer reused, nothing sent" if reused else result.info["conversation"]
        print(f"conversation {args.conversation!r}, turn {turn} ({how})", file=sys.stderr)
        suffix = f"turn{turn}" if turn is not None else "unsaved"
        stem = args.name or f"{_file_stem(args.conversation)}-{suffix}"
    else:
        from .resultcache import cached_edit

        result = cached_edit(
            default_host(), args.provider, request, cache=False if args.no_cache else None,
            base_url=args.base_url, allow_unlisted=args.allow_unlisted, progress=progress,
        )
        stem = args.name or "apiedit"
    paths = _save(result, Path(args.out), stem)
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
    from .errors import InvalidInputError

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
        raise SystemExit(f"conversations {action} needs a conversation name")
    conversation = Conversation(args.name, store)
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
        raise SystemExit(f"usage: apiedit conversations {action} {usage.get(action, 'NAME')}")
    if action == "reset":
        conversation.reset()
        print(f"reset {args.name!r}")
    elif action == "delete":
        print(f"deleted {args.name!r}" if conversation.delete() else f"no conversation {args.name!r}")
    elif action == "fork":
        try:
            turn = int(rest[0])
        except ValueError:
            raise SystemExit(f"conversations fork: TURN must be a number, not {rest[0]!r}") from None
        conversation.fork(turn, rest[1])
        print(f"forked {args.name!r} at turn {turn} into {rest[1]!r}")
    elif action == "export":
        if not store.exists(args.name):
            raise InvalidInputError(f"There is no conversation {args.name!r} to export.")
        conversation.export(rest[0])
        print(f"exported {args.name!r} to {rest[0]}")
    elif action == "import":
        imported = Conversation.import_(args.name, rest[0] if rest else None, store=store,
                                        replace=args.replace)
        print(f"imported {args.name} as {imported.name!r}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    return run_demo(args.provider, Path(args.out))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="apiedit",
        description="Create and edit images through cloud APIs (one plugin per provider).",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("plugins", help="list installed provider plugins, their status and errors")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_plugins)

    p = sub.add_parser("models", help="list a provider's image models")
    p.add_argument("provider")
    p.add_argument("--refresh", action="store_true",
                   help="ask the provider instead of the cache (a failed refresh is an error)")
    p.add_argument("--base-url", help="override the provider's base URL")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_models)

    p = sub.add_parser(
        "models-diff", help="maintainers: compare a saved live model list with the tables",
        description="Compare FILE (saved `apiedit models PROVIDER --refresh --json`, or a raw "
                    "/models answer) with PROVIDER's tables: prints added (new member of a known "
                    "family), unknown-family and removed ids; exits 1 when there is any.",
    )
    p.add_argument("provider")
    p.add_argument("file")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_models_diff)

    p = sub.add_parser(
        "keys", help="store, remove or list API keys (key file, mode 0600); trust relay URLs",
        description="A key is sent only to its provider's own host or to a base URL you chose: "
                    "an environment variable, the key file, --base-url, your own code, or "
                    "`keys trust`. A base URL inside a workflow is used only if trusted here. "
                    "`keys set PROVIDER --base-url URL` stores a relay's own key: it goes to "
                    "that relay only, and the relay never receives the provider's key.",
    )
    p.add_argument("action", choices=["set", "remove", "list", "trust", "untrust"])
    p.add_argument("provider", nargs="?")
    p.add_argument("url", nargs="?", help="for trust/untrust: the relay or proxy base URL")
    p.add_argument("--base-url", help="set/remove the key of this relay instead of the provider's")
    p.add_argument("--stdin", action="store_true", help="read the key from standard input")
    p.set_defaults(func=cmd_keys)

    p = sub.add_parser("edit", help="generate (no --image) or edit/compose images")
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
    p.add_argument("-o", "--out", default=".", help="output directory")
    p.add_argument("--name", help="output file name stem (default: apiedit, or "
                   "CONVERSATION-turnN with --conversation)")
    p.add_argument("--conversation", metavar="NAME",
                   help="continue the stored conversation NAME (created on first use) and store "
                        "this turn in it; see `apiedit conversations`")
    p.add_argument("--no-last-image", action="store_true",
                   help="with --conversation and no --image: do not feed the last answer's image "
                        "back as input")
    p.add_argument("--json", action="store_true", help="print the info record as JSON")
    p.set_defaults(func=cmd_edit)

    p = sub.add_parser(
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

    p = sub.add_parser("demo", help="offline demo against the built-in emulators (no key needed)")
    p.add_argument("--provider", action="append", help="limit to these providers (repeatable)")
    p.add_argument("-o", "--out", default="apiedit-demo", help="output directory")
    p.set_defaults(func=cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ApiEditError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
