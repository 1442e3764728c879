"""``textssl corrupt``: preview what a corruption strategy does to a piece of text.

The text is cut into documents at blank lines and packed into blocks by :func:`textssl.data.blocks_from_texts`,
the same sentence splitter, tokenizer pass and packer that training uses (``document_ids`` / ``sentence_ids``
included, so sentence-level strategies work), and run through :class:`textssl.Collator`. Each block prints its
original and corrupted text one under the other, decoded with special tokens, masks and sentinels visible:

* ``shown{target}``: a position with a loss: the token the model sees, then the token it must predict;
* ``*token*``: a replaced token (replaced-token detection);
* ``target:``: the decoder target of seq2seq strategies (T5, BART); row labels (sentence order, next
  sentence) print as ``name: value``.
"""

from __future__ import annotations

import argparse
import ast
import sys
import textwrap
from pathlib import Path
from typing import Any

import torch

from textssl.commands.flags import add_switch, add_underscore_aliases
from textssl.errors import ConfigError, InputFileError
from textssl.tokenization import TokenizerInfo, load_tokenizer

IGNORE = -100
# Keys printed by the generic sections below, or not worth printing.
_SHOWN = {"input_ids", "attention_mask", "labels", "original_ids", "replaced", "decoder_attention_mask"}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "corrupt",
        help="preview a corruption strategy on some text",
        description="Show original vs corrupted text for a corruption strategy (masks, sentinels, targets).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=textwrap.dedent(
            """\
            examples:
              textssl corrupt --strategy whole_word_masking "The quick brown fox jumps over the lazy dog."
              textssl corrupt --strategy span_masking --param rate=0.3 --seed 1 notes.txt
              textssl corrupt --strategy t5_span_corruption "Some text."      (defaults to the unigram tokenizer)
              textssl corrupt --strategy sentence_permutation+text_infilling --param text_infilling.rate=0.3 doc.txt
              textssl corrupt --spec '{compose: [sentence_permutation, text_infilling], probs: [1.0, 0.5]}' doc.txt
            """
        ),
    )
    p.add_argument(
        "--strategy",
        default=None,
        help="a strategy name (see textssl.corruption.STRATEGIES); join several with '+' to Compose them",
    )
    p.add_argument(
        "--spec",
        default=None,
        metavar="FILE_OR_YAML",
        help="instead of --strategy/--param: a strategy spec as YAML, inline or in a file, exactly as a "
        "pretraining config writes it (e.g. '{name: token_masking, rate: {linear: [0.3, 0.15, 1000]}}'); "
        "a config file with a 'strategy' key previews that strategy",
    )
    p.add_argument(
        "--tokenizer",
        default=None,
        help="shipped name (wordpiece, bpe, unigram) or tokenizer directory; default wordpiece "
        "(unigram for t5_span_corruption, which needs sentinel tokens)",
    )
    p.add_argument("--seed", type=int, default=0, help="corruption seed (default 0)")
    p.add_argument("--step", type=int, default=0, help="training step, for rate schedules (default 0)")
    p.add_argument("--max-length", type=int, default=128, help="block length in tokens (default 128)")
    p.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="strategy argument, repeatable (e.g. rate=0.3, exact=true, rate='linear(0.3,0.15,1000)'); "
        "with several strategies prefix the name: text_infilling.rate=0.3",
    )
    add_switch(p, "--tokens", "also print a token-by-token table")
    p.add_argument(
        "text", metavar="TEXT_OR_FILE", help="the text itself, a path to a text file, or - for stdin"
    )
    add_underscore_aliases(p)
    p.set_defaults(func=run_corrupt)


# --------------------------------------------------------------------------- arguments


def parse_value(raw: str) -> Any:
    """Turn a ``--param`` value into a Python value: bool, None, int, float, list, ``linear(...)`` or str.

    ``linear(START, END, STEPS)`` is read by the strategy-spec parser (the same form a YAML config may use).
    """
    from textssl.corruption.spec import schedule_from_spec

    text = raw.strip()
    low = text.lower()
    if low in ("true", "false"):
        return low == "true"
    if low in ("none", "null"):
        return None
    if low.startswith("linear("):
        return schedule_from_spec(text, f"--param value {raw!r}")
    for conv in (int, float):
        try:
            return conv(text)
        except ValueError:
            pass
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def parse_params(items: list[str], names: list[str]) -> dict[str, dict[str, Any]]:
    """``["rate=0.3", "text_infilling.rate=0.5"]`` -> keyword arguments per strategy name."""
    out: dict[str, dict[str, Any]] = {n: {} for n in names}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(f"--param {item!r}: expected KEY=VALUE, e.g. --param rate=0.3")
        target, dot, name = key.rpartition(".")
        if dot:
            if target not in out:
                raise ConfigError(
                    f"--param {item!r}: {target!r} is not one of the strategies {', '.join(names)}"
                )
            out[target][name] = parse_value(value)
        elif len(names) == 1:
            out[names[0]][key] = parse_value(value)
        else:
            raise ConfigError(
                f"--param {item!r}: with several strategies, prefix the strategy name (e.g. {names[-1]}.{key}=...)"
            )
    return out


def spec_from_flags(strategy: str, params: list[str]) -> Any:
    """The strategy spec that ``--strategy a+b --param b.rate=0.3`` stands for (plain data, as in a config):
    ``{"name": "a", ...}`` for one name, ``{"compose": [{"name": "a"}, {"name": "b", "rate": 0.3}]}`` for
    several."""
    from textssl.corruption import STRATEGIES

    names = [n.strip() for n in strategy.split("+") if n.strip()]
    if not names:
        raise ConfigError("--strategy is empty; give a strategy name such as token_masking")
    for n in names:
        if n not in STRATEGIES:
            raise ConfigError(f"--strategy: unknown strategy {n!r}; choose one of: {', '.join(STRATEGIES)}")
    kwargs = parse_params(params, names)
    members = [{"name": n, **kwargs[n]} for n in names]
    return members[0] if len(members) == 1 else {"compose": members}


def read_spec(arg: str) -> Any:
    """``--spec``: a YAML file or inline YAML holding a strategy spec, or a config whose ``strategy`` is one."""
    import yaml

    path = Path(arg)
    looks_like_path = "\n" not in arg and len(arg) < 4096 and not arg.lstrip().startswith(("{", "["))
    if looks_like_path and path.is_file():
        where, text = f"--spec {arg}", path.read_text(encoding="utf-8")
    elif looks_like_path and path.suffix in (".yaml", ".yml", ".json"):
        raise InputFileError(f"--spec {arg}: no such file (or give the spec itself as YAML)")
    else:
        where, text = "--spec", arg
    try:
        spec = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{where}: not valid YAML ({' '.join(str(exc).split())})") from None
    if isinstance(spec, dict) and "strategy" in spec and not {"name", "compose"} & set(spec):
        # a pretraining config: preview its strategy
        args = spec.get("strategy_args") or {}
        spec = spec["strategy"]
        if isinstance(spec, str) and args:
            spec = {"name": spec, **args}
    if spec is None:
        raise ConfigError(f"{where}: empty spec; write e.g. {{name: whole_word_masking, rate: 0.3}}")
    return spec


def build(args: argparse.Namespace):
    """The strategy from ``--spec`` or ``--strategy``/``--param``, through the one spec parser."""
    from textssl.corruption import strategy_from_spec

    if args.spec is not None:
        if args.strategy is not None or args.param:
            raise ConfigError("--spec replaces --strategy and --param; give the arguments inside the spec")
        return strategy_from_spec(read_spec(args.spec))
    if args.strategy is None:
        raise ConfigError("give --strategy NAME (e.g. --strategy whole_word_masking) or --spec YAML")
    return strategy_from_spec(spec_from_flags(args.strategy, args.param))


def read_text(arg: str) -> str:
    """The positional argument: ``-`` (stdin), an existing file, or the text itself."""
    if arg == "-":
        text = sys.stdin.read()
    else:
        path = Path(arg)
        looks_like_path = "\n" not in arg and len(arg) < 4096
        if looks_like_path and path.is_file():
            try:
                text = path.read_text(encoding="utf-8", errors="replace")
            except OSError as exc:
                raise InputFileError(
                    f"TEXT_OR_FILE {arg}: cannot read the file ({exc.strerror or exc})"
                ) from None
        elif looks_like_path and path.is_dir():
            raise InputFileError(f"TEXT_OR_FILE {arg}: is a directory; pass a text file or the text itself")
        elif looks_like_path and path.suffix in (".txt", ".md") and " " not in arg:
            raise InputFileError(f"TEXT_OR_FILE {arg}: no such file (pass the text itself in quotes)")
        else:
            text = arg
    if not text.strip():
        raise ConfigError("TEXT_OR_FILE is empty; give some text or a non-empty file")
    return text


# --------------------------------------------------------------------------- features


def make_features(tokenizer, info: TokenizerInfo, text: str, max_length: int) -> list[dict]:
    """Blocks of ``max_length`` tokens exactly as training makes them (:func:`textssl.data.blocks_from_texts`).

    The padding of the last block is cut off (the Collator pads it again, with ``attention_mask`` 0), so the
    preview does not print pad tokens.
    """
    from textssl.data import blocks_from_texts, split_text_documents

    feats = blocks_from_texts(tokenizer, split_text_documents(text), max_length, trim_padding=True)
    for i, feat in enumerate(feats):
        feat["_index"] = i
    return feats


# --------------------------------------------------------------------------- rendering


def token_pieces(tokenizer, info: TokenizerInfo, ids: list[int]) -> list[str]:
    """Display text per token: a leading space where a word starts; special tokens verbatim."""
    tokens = tokenizer.convert_ids_to_tokens(ids)
    pieces = []
    for tid, tok in zip(ids, tokens):
        if tok is None:
            piece = f" <{tid}>"
        elif 0 <= tid < info.vocab_size and bool(info.special[tid]):
            piece = " " + tok
        elif info.kind == "wordpiece":
            piece = tok[2:] if tok.startswith("##") else " " + tok
        elif info.kind == "bpe":
            piece = tokenizer.convert_tokens_to_string([tok])
        elif info.kind == "unigram":
            piece = tok.replace("▁", " ")
        else:
            piece = " " + tok
        if (
            pieces
            and pieces[-1].startswith(" ")
            and _is_special_piece(pieces[-1])
            and not piece.startswith(" ")
        ):
            piece = " " + piece
        pieces.append(piece)
    return pieces


def _is_special_piece(piece: str) -> bool:
    p = piece.strip()
    return (p.startswith("[") and p.endswith("]")) or (p.startswith("<") and p.endswith(">"))


def _join(pieces: list[str]) -> str:
    return "".join(pieces).strip()


def _row(t: torch.Tensor, i: int, length: int | None = None) -> list[int]:
    r = t[i].tolist()
    return r if length is None else r[:length]


def _runs(values: list[int]) -> str:
    out, prev, n = [], None, 0
    for v in values + [None]:
        if v == prev:
            n += 1
            continue
        if prev is not None:
            out.append(f"{prev}x{n}")
        prev, n = v, 1
    return " ".join(out)


def render(tokenizer, info: TokenizerInfo, feats: list[dict], out: dict, show_tokens: bool) -> list[str]:
    """Lines describing each block: original, corrupted (with targets marked), targets and row labels."""
    lines: list[str] = []
    ids = out["input_ids"]
    attn = out.get("attention_mask", torch.ones_like(ids))
    labels = out.get("labels")
    replaced = out.get("replaced")
    wrap = textwrap.TextWrapper(width=110, subsequent_indent=" " * 13, break_on_hyphens=False)
    for i, feat in enumerate(feats):
        orig = list(feat["input_ids"])
        n = int(attn[i].sum())
        cur = _row(ids, i, n)
        orig_pieces = token_pieces(tokenizer, info, orig)
        cur_pieces = token_pieces(tokenizer, info, cur)
        n_docs = len(set(feat["document_ids"]))
        lines.append(f"block {i} ({len(orig)} tokens, {n_docs} document{'s' if n_docs != 1 else ''})")
        lines.append(wrap.fill("  original : " + _join(orig_pieces)))
        mode = "plain"
        lab = None
        if labels is not None and labels.dim() == 2:
            lab = _row(labels, i)
            if replaced is not None:
                mode = "rtd"
            elif labels.shape[1] == ids.shape[1] and len(cur) == len(orig):
                # Masking-style targets (never on special tokens) are shown inline; dense ones are the input
                # itself (causal LM) or a whole target sequence (e.g. sentence permutation's original text).
                set_pos = [j for j in range(n) if lab[j] != IGNORE]
                on_special = any(bool(info.special[orig[j]]) for j in set_pos)
                if not on_special and len(set_pos) < n:
                    mode = "token"
                elif cur == orig and all(lab[j] == cur[j] for j in set_pos):
                    mode = "lm"
                else:
                    mode = "seq2seq"
            else:
                mode = "seq2seq"
        shown = list(cur_pieces)
        if mode == "token":
            for j in range(n):
                if lab[j] != IGNORE:
                    target = token_pieces(tokenizer, info, [lab[j]])[0].strip()
                    shown[j] = f"{cur_pieces[j]}{{{target}}}"
        elif mode == "rtd":
            # Star runs of replaced tokens, one pair per word: *replaced* (continuations join the word).
            rep = [bool(x) for x in _row(replaced, i, n)] + [False]
            for j in range(n):
                if rep[j]:
                    p = cur_pieces[j]
                    opens = not (j > 0 and rep[j - 1] and not p.startswith(" "))
                    closes = not (rep[j + 1] and not cur_pieces[j + 1].startswith(" "))
                    body = p.strip() if opens else p
                    lead = " " if p.startswith(" ") else ""
                    shown[j] = (lead + "*" + body if opens else body) + ("*" if closes else "")
        lines.append(wrap.fill("  corrupted: " + _join(shown)))
        if mode == "lm":
            no_loss = [j for j in range(n) if lab[j] == IGNORE]
            note = "the input itself (next-token prediction)"
            if no_loss:
                note += f"; no loss at position(s) {', '.join(map(str, no_loss))}"
            lines.append(wrap.fill("  targets  : " + note))
        elif mode == "seq2seq":
            target_ids = [t for t in lab if t != IGNORE]
            lines.append(wrap.fill("  target   : " + _join(token_pieces(tokenizer, info, target_ids))))
        elif mode == "rtd":
            n_rep = sum(_row(replaced, i, n))
            lines.append(f"  replaced : {n_rep} of {n} tokens")
        for key, value in out.items():
            if key in _SHOWN or not isinstance(value, torch.Tensor) or value.shape[0] != len(feats):
                continue
            if value.dim() == 1:
                lines.append(f"  {key}: {value[i].item()}")
            elif key.endswith("input_ids"):
                lines.append(wrap.fill(f"  {key}: " + _join(token_pieces(tokenizer, info, _row(value, i)))))
            elif key in ("token_type_ids", "sentence_ids", "document_ids"):
                lines.append(f"  {key}: {_runs(_row(value, i, n))}")
        if show_tokens:
            lines += _token_table(tokenizer, orig, cur, lab if mode in ("token", "rtd", "lm") else None)
        lines.append("")
    return lines


def _token_table(tokenizer, orig: list[int], cur: list[int], lab: list[int] | None) -> list[str]:
    o_tok = tokenizer.convert_ids_to_tokens(orig)
    c_tok = tokenizer.convert_ids_to_tokens(cur)
    rows = [f"  {'pos':>4}  {'original':<18} {'corrupted':<18} label"]
    for j in range(max(len(o_tok), len(c_tok))):
        o = o_tok[j] if j < len(o_tok) else ""
        c = c_tok[j] if j < len(c_tok) else ""
        label = ""
        if lab is not None and j < len(lab) and lab[j] != IGNORE:
            label = (
                str(lab[j]) if lab[j] in (0, 1) and o == c else tokenizer.convert_ids_to_tokens([lab[j]])[0]
            )
        mark = " " if o == c else "*"
        rows.append(f"  {j:>4}{mark} {o:<18} {c:<18} {label}")
    return rows


# --------------------------------------------------------------------------- command


def _default_tokenizer(strategy) -> str:
    from textssl.corruption import T5SpanCorruption

    members = getattr(strategy, "strategies", [strategy])
    return "unigram" if any(isinstance(s, T5SpanCorruption) for s in members) else "wordpiece"


def _needs_unigram_counts(strategy) -> bool:
    members = getattr(strategy, "strategies", [strategy])
    return any(getattr(s, "source", None) == "unigram" for s in members)


def run_corrupt(args: argparse.Namespace) -> int:
    from textssl.collator import Collator
    from textssl.corruption import spec_line

    if args.max_length < 2:
        raise ConfigError(f"--max-length must be at least 2, got {args.max_length}")
    if args.step < 0:
        raise ConfigError(f"--step must be >= 0 (the training step a rate schedule reads), got {args.step}")
    strategy = build(args)
    tok_name = args.tokenizer or _default_tokenizer(strategy)
    tokenizer = load_tokenizer(tok_name)
    info = TokenizerInfo.from_tokenizer(tokenizer)
    feats = make_features(tokenizer, info, read_text(args.text), args.max_length)
    notes = []
    if _needs_unigram_counts(strategy) and info.unigram_probs is None:
        counts = torch.bincount(
            torch.tensor([t for f in feats for t in f["input_ids"]], dtype=torch.long),
            minlength=info.vocab_size,
        )
        info.set_unigram_counts(counts)
        notes.append("unigram frequencies for source='unigram' estimated from this text")
    collator = Collator(info, strategy, seed=args.seed)
    for f in feats:
        f["_step"] = args.step
    out = collator(feats)
    print(f"strategy : {strategy!r}")
    print(f"spec     : {spec_line(strategy)}")
    print(
        f"tokenizer: {tok_name} ({info.kind}); seed {args.seed}; step {args.step}; block length {args.max_length}"
    )
    print(
        "legend   : shown{target} = a position with a loss; *tok* = replaced token; specials shown verbatim"
    )
    for note in notes:
        print(f"note     : {note}")
    print()
    print("\n".join(render(tokenizer, info, feats, out, args.tokens)).rstrip())
    return 0
