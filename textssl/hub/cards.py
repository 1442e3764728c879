"""Model cards: one builder that describes a textssl checkpoint and merges into the card already there.

:func:`build_model_card` describes a checkpoint as a ``huggingface_hub.ModelCard``: metadata (``library_name:
transformers``, a ``textssl`` tag, the ``pipeline_tag`` of the saved head, the pretraining datasets that are Hub
ids, ``base_model`` and a ``model-index`` with the dev results when there are any) and a body (title, what the
model is, a facts table, the results table and a usage snippet with the right ``AutoModelFor*`` class). When the
directory already has a ``README.md`` the builder *merges* into it: facts that come later (GLUE results, the repo
id of a push) update the card; what is already there (front matter keys, tags, datasets, ``model-index``
entries, table rows, sections a person added) stays. :func:`write_model_card` writes the merged card atomically.

What finetuning contributes (the results table, dev scores, a finetuned model's facts) comes from
:mod:`textssl.finetuning.report`, which imports nothing from the training code.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from textssl.atomic import write_atomic
from textssl.errors import InputFileError
from textssl.finetuning.report import (
    as_results,
    finetune_facts,
    finetuned_scores,
    metric_split,
    results_table,
    suite_scores,
    task_dataset,
)
from textssl.hub.names import (
    card_preamble,
    card_repo_id,
    card_sections,
    check_repo_id,
    is_hub_id,
    recorded_repo_id,
    run_name,
    split_card,
    table_rows,
)

logger = logging.getLogger(__name__)

TAG = "textssl"
_SLUG = re.compile(r"^[\w.-]+$")
_SYNTHETIC = re.compile(r"^synthetic(?::(\d+))?(?::(\d+))?$")
# Which Auto class loads a saved head, and the Hub's pipeline tag for it (first matching suffix wins). The
# pretraining heads of ELECTRA and BERT-with-SOP/NSP have no pipeline on the Hub (google/electra-*-discriminator
# carries none), so their cards carry none either.
_HEADS = (
    ("ForSequenceClassification", "AutoModelForSequenceClassification", "text-classification"),
    ("ForMaskedLM", "AutoModelForMaskedLM", "fill-mask"),
    ("ForCausalLM", "AutoModelForCausalLM", "text-generation"),
    ("LMHeadModel", "AutoModelForCausalLM", "text-generation"),
    ("ForConditionalGeneration", "AutoModelForSeq2SeqLM", "text2text-generation"),
    ("ForPreTraining", "AutoModelForPreTraining", None),
)
_OBJECTIVE_HEADS = {
    "mlm": ("AutoModelForMaskedLM", "fill-mask"),
    "clm": ("AutoModelForCausalLM", "text-generation"),
    "seq2seq": ("AutoModelForSeq2SeqLM", "text2text-generation"),
    "electra": ("AutoModelForPreTraining", None),
    "sop": ("AutoModelForPreTraining", None),
    "nsp": ("AutoModelForPreTraining", None),
}
_TRAINING, _FINETUNING, _RESULTS, _USAGE = (
    "Training",
    "Finetuning",
    "GLUE-style evaluation (dev sets)",
    "Usage",
)
_OWN_INTROS = ("A Transformer language model pretrained with textssl", "A sequence classifier finetuned")


def model_head(config: Mapping[str, Any], objective: str | None = None) -> tuple[str, str | None]:
    """``(AutoModelFor* class name, Hub pipeline_tag or None)`` for a saved ``config.json`` (else the objective)."""
    for architecture in config.get("architectures") or ():
        for suffix, auto, pipeline in _HEADS:
            if architecture.endswith(suffix):
                return auto, pipeline
    return _OBJECTIVE_HEADS.get((objective or "").lower(), ("AutoModel", None))


# ----------------------------------------------------------------------------------------------- reading inputs


def _read_config(model_dir: Path | None) -> dict[str, Any]:
    if model_dir is None or not (model_dir / "config.json").is_file():
        return {}
    try:
        return json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return {}


def _count_parameters(model_dir: Path | None) -> int | None:
    """Parameter count from the safetensors header (no tensor is loaded)."""
    if model_dir is None or not (model_dir / "model.safetensors").is_file():
        return None
    try:
        from safetensors import safe_open

        total = 0
        with safe_open(str(model_dir / "model.safetensors"), framework="pt") as fh:
            for key in fh.keys():
                n = 1
                for dim in fh.get_slice(key).get_shape():
                    n *= dim
                total += n
        return total
    except Exception:  # an unreadable file only costs the card one line
        return None


def _table(rows: Mapping[str, Any]) -> list[str]:
    cell = lambda v: str(v).replace("|", "\\|").replace("\n", " ")  # noqa: E731
    return ["| | |", "|---|---|", *(f"| {cell(k)} | {cell(v)} |" for k, v in rows.items())]


def _unique(items) -> list:
    out: list = []
    for item in items:
        if item not in out:
            out.append(item)
    return out


# ----------------------------------------------------------------------------------------------- what it says


def _describe_data(source: str) -> str:
    """How the body names a pretraining corpus: Hub ids link to the Hub, local corpora say they are local."""
    if is_hub_id(source):
        return f"[{source}](https://huggingface.co/datasets/{source})"
    synthetic = _SYNTHETIC.match(source)
    if synthetic:
        n = f"{int(synthetic.group(1)):,} documents" if synthetic.group(1) else "default size"
        return f"textssl's embedded synthetic corpus ({n}; generated locally, not a Hub dataset)"
    return f"local corpus `{Path(source).name or source}` (not on the Hub)"


def _eval_result(task: str, metric: str, value: float, label: str):
    from huggingface_hub import EvalResult

    dataset_type, dataset_name, config, spec = task_dataset(task)
    metric_type, split = metric_split(metric, spec)
    return EvalResult(
        task_type="text-classification",
        task_name="Text Regression" if spec is not None and spec.is_regression else "Text Classification",
        dataset_type=dataset_type,
        dataset_name=dataset_name,
        dataset_config=config,
        dataset_split=split,
        metric_type=metric_type,
        metric_value=round(100 * float(value), 2),
        metric_name=f"{metric} ({label})",
    )


def _merge_eval_results(old: list, new: list) -> list:
    """Old entries stay unless a new one reports the same task, dataset, split and metric."""

    def key(r) -> tuple:
        return (r.task_type, r.dataset_type, r.dataset_config, r.dataset_split, r.metric_type)

    replaced = {key(r) for r in new}
    return [r for r in old if key(r) not in replaced] + list(new)


def _resolve_base(base_model: str | None) -> tuple[str | None, str | None]:
    """``(Hub id for the metadata, how the body names it)``; a local path is never put in the metadata."""
    if not base_model:
        return None, None
    path = Path(str(base_model))
    if path.exists():
        repo = card_repo_id(path) if path.is_dir() else None
        return repo, repo or f"a local checkpoint (`{run_name(path)}`)"
    if is_hub_id(str(base_model)):
        return str(base_model), str(base_model)
    return None, f"`{path.name}`"


def _pretrain_facts(
    objective: str | None,
    datasets: Sequence[str],
    steps: int | None,
    tokens_seen: int | None,
    budget: str | Mapping[str, Any] | None,
    base_note: str | None,
) -> dict[str, Any]:
    facts: dict[str, Any] = {}
    if objective:
        facts["objective"] = objective
    if datasets:
        facts["pretraining data"] = "; ".join(_describe_data(d) for d in datasets)
    if steps is not None:
        facts["steps"] = f"{int(steps):,}"
    if tokens_seen is not None:
        facts["tokens seen"] = f"{int(tokens_seen):,}"
    if isinstance(budget, Mapping):
        facts.update({f"budget: {k}": v for k, v in budget.items()})
    elif budget:
        facts["budget"] = budget
    if base_note:
        facts["continued from"] = base_note
    return facts


def _model_facts(config: Mapping[str, Any], mdir: Path | None) -> dict[str, Any]:
    """What ``config.json`` and the weights say (a fallback: rows already in the card win on a merge)."""
    facts: dict[str, Any] = {}
    architecture = (config.get("architectures") or [config.get("model_type", "")])[0]
    if architecture:
        facts["architecture"] = f"{architecture} ({config.get('model_type', '?')})"
    for key, label in (
        ("num_hidden_layers", "layers"),
        ("hidden_size", "hidden size"),
        ("vocab_size", "vocabulary"),
    ):
        if key in config:
            facts[label] = config[key]
    params = _count_parameters(mdir)
    if params:
        facts["parameters"] = f"{params / 1e6:.2f}M"
    return facts


def _intro(auto: str, classifier: bool, finetuned: Mapping[str, Any] | None, base_note: str | None) -> str:
    load = (
        f"It is a stock `transformers` model: load it with `{auto}.from_pretrained` (no `trust_remote_code`)."
    )
    if classifier:
        what = "A sequence classifier finetuned with textssl"
        if finetuned:
            what += f" on {task_dataset(finetuned['task'])[1]}"
        if base_note:
            what += f", starting from {base_note}"
        return f"{what}. {load}"
    return (
        "A Transformer language model pretrained with textssl (self-supervised pretraining with corruption "
        f"strategies). {load}"
    )


def _usage(auto: str, pipeline: str | None, ref: str, classifier: bool, known: bool) -> list[str]:
    code = [f"from transformers import {auto}, AutoTokenizer" + (", pipeline" if pipeline else ""), ""]
    code += [
        f'tokenizer = AutoTokenizer.from_pretrained("{ref}")',
        f'model = {auto}.from_pretrained("{ref}")',
    ]
    if pipeline == "fill-mask":
        code += [
            'fill = pipeline("fill-mask", model=model, tokenizer=tokenizer)',
            'print(fill(f"The dog {tokenizer.mask_token} in the park."))',
        ]
    elif pipeline == "text-generation":
        code += [
            'generate = pipeline("text-generation", model=model, tokenizer=tokenizer)',
            'print(generate("The dog", max_new_tokens=20))',
        ]
    elif pipeline == "text-classification":
        code += [
            'classify = pipeline("text-classification", model=model, tokenizer=tokenizer)',
            'print(classify("A sentence to classify."))',
        ]
    if pipeline == "text2text-generation":  # transformers 5 has no pipeline for it: call generate()
        code[0] = f"from transformers import {auto}, AutoTokenizer"
        code += [
            'ids = model.generate(**tokenizer("The dog sat", return_tensors="pt"), max_new_tokens=20)',
            "print(tokenizer.decode(ids[0], skip_special_tokens=True))",
        ]
    lines = ["```python", *code, "```", ""]
    if not classifier:
        lines += [
            f"Finetune on GLUE with `textssl glue --model {ref if known else '<this directory>'} "
            "--tasks cola,sst2,mrpc --seeds 3`.",
            "",
        ]
    return lines


@dataclass
class _Facts:
    """What the builder knows about the model, before any text is written."""

    mdir: Path | None
    name: str
    known_repo: str | None
    auto: str
    pipeline: str | None
    classifier: bool
    base_id: str | None
    base_note: str | None


def build_model_card(
    model_dir: str | os.PathLike | None = None,
    *,
    objective: str | None = None,
    datasets: str | Sequence[str] | None = None,
    steps: int | None = None,
    tokens_seen: int | None = None,
    budget: str | Mapping[str, Any] | None = None,
    glue_results: Mapping[str, Any] | str | os.PathLike | None = None,
    base_model: str | None = None,
    model_name: str | None = None,
    repo_id: str | None = None,
    license: str | None = None,
    language: str | Sequence[str] | None = None,
    tags: Sequence[str] = (),
    details: Mapping[str, Any] | None = None,
    finetuned: Mapping[str, Any] | None = None,
    merge: bool = True,
):
    """A ``huggingface_hub.ModelCard`` for a textssl checkpoint, merged into ``model_dir/README.md`` if present.

    ``model_dir`` is read for ``config.json`` (its architecture picks the ``AutoModelFor*`` class and the
    ``pipeline_tag``), the parameter count and, unless ``merge=False``, the existing card. ``objective`` names
    the pretraining objective (``mlm``, ``electra``, ``clm`` ...), ``datasets`` the pretraining data (Hub ids go
    to the metadata, local corpora and ``synthetic`` are described in the body), ``steps`` and
    ``tokens_seen`` how far training got, ``budget`` the compute budget (a string like ``"1 CPU-hour"`` or a
    mapping shown row by row), ``glue_results`` the results of
    :func:`textssl.finetuning.run_glue_suite` (a dict, a ``results.json`` or its directory) which become
    ``model-index`` entries, ``finetuned`` the result dict of :func:`textssl.finetuning.finetune` for
    a finetuned model's own card, ``base_model`` the checkpoint this one started from (its Hub id goes to
    the metadata; a local directory is named by the repo id its card records, never by its path), ``details``
    further facts for the table. ``repo_id`` (``user/name``), once known, is the title, the ``model-index``
    name and the id in the usage snippet; until then the card is named ``model_name`` or the run's folder.

    Merging keeps every front matter key, tag, dataset and ``model-index`` entry already there (an entry is
    replaced only by a new result for the same task, dataset, split and metric), keeps the facts table's rows
    (new values win), and keeps sections it does not write itself.
    """
    from huggingface_hub import ModelCard

    mdir = Path(model_dir) if model_dir is not None else None
    if repo_id is not None:
        check_repo_id(repo_id, "repo_id")
    card_path = mdir / "README.md" if mdir is not None else None
    meta, body = _read_card(card_path) if merge else ({}, "")
    head, sections = card_sections(body)
    old_title, old_intro = card_preamble(head)
    config = _read_config(mdir)
    results = as_results(glue_results)
    datasets = [datasets] if isinstance(datasets, str) else [str(d) for d in datasets or []]

    known_repo = repo_id or recorded_repo_id(meta, old_title)
    name = known_repo or model_name or old_title or (run_name(mdir) if mdir is not None else "textssl-model")
    if finetuned is not None and base_model is None and finetuned.get("init") != "random-init":
        base_model = finetuned.get("model")
    facts = _identify(mdir, name, known_repo, meta, config, objective, finetuned, base_model)
    auto, classifier, base_note = facts.auto, facts.classifier, facts.base_note

    scores = (suite_scores(results) if results else []) + (finetuned_scores(finetuned) if finetuned else [])
    front = _front_matter(
        meta, facts, scores, card_path,
        datasets=datasets, finetuned=finetuned, objective=objective, tags=tags, license=license,
        language=language, base_model=base_model,
    )  # fmt: skip
    if not old_intro or old_intro.startswith(_OWN_INTROS) and (finetuned is not None or not classifier):
        intro = _intro(auto, classifier, finetuned, base_note)
    else:
        intro = old_intro
    if finetuned is not None:
        new_facts = finetune_facts(finetuned, base_note)
    else:
        new_facts = _pretrain_facts(
            objective, datasets, steps, tokens_seen, budget, base_note if not classifier else None
        )
        if classifier and base_note:
            new_facts["base model"] = base_note
    table = _facts_table(sections, _model_facts(config, mdir), new_facts, details or {})
    ours = _our_sections(facts, table, results)
    return ModelCard(_render(front, name, intro, _place_sections(sections, ours, facts)))


def _identify(
    mdir: Path | None,
    name: str,
    known_repo: str | None,
    meta: Mapping[str, Any],
    config: Mapping[str, Any],
    objective: str | None,
    finetuned: Mapping[str, Any] | None,
    base_model: str | None,
) -> _Facts:
    """Which head loads the model (the card's pipeline tag when there is no config), and its base model."""
    auto, pipeline = model_head(config, objective)
    if auto == "AutoModel" and meta.get("pipeline_tag"):  # no config here: trust the card
        auto = next((a for _, a, p in _HEADS if p == meta["pipeline_tag"]), auto)
    base_id, base_note = _resolve_base(base_model)
    classifier = auto == "AutoModelForSequenceClassification" or finetuned is not None
    return _Facts(mdir, name, known_repo, auto, pipeline, classifier, base_id, base_note)


def _read_card(card_path: Path | None) -> tuple[dict[str, Any], str]:
    """``(front matter, body)`` of the card already in the directory (empty when there is none)."""
    if card_path is None or not card_path.is_file():
        return {}, ""
    try:
        text = card_path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InputFileError(f"{card_path}: the model card is not UTF-8 text") from None
    return split_card(text, card_path)


def _front_matter(
    meta: dict[str, Any],
    facts: _Facts,
    scores: list,
    card_path: Path | None,
    *,
    datasets: list[str],
    finetuned: Mapping[str, Any] | None,
    objective: str | None,
    tags: Sequence[str],
    license: str | None,
    language: str | Sequence[str] | None,
    base_model: str | None,
) -> dict[str, Any]:
    """The card's metadata: what we know now, merged over what the card already says (nothing of it dropped)."""
    from huggingface_hub.repocard_data import eval_results_to_model_index, model_index_to_eval_results

    meta = dict(meta)
    old_index = meta.pop("model-index", None)
    old_results: list = []
    if old_index:
        try:
            _, old_results = model_index_to_eval_results(old_index)
        except (KeyError, TypeError, ValueError, IndexError):
            logger.warning("%s: could not read its model-index; it is kept as it is", card_path)
    hub_data = [d for d in datasets if is_hub_id(d)]
    extra_tags = [objective] if objective and _SLUG.match(objective) else []
    if finetuned is not None:
        if task_dataset(finetuned["task"])[2]:
            hub_data.append(task_dataset(finetuned["task"])[0])
        if _SLUG.match(finetuned["task"]):
            extra_tags.append(finetuned["task"])
    old_data = _as_list(meta.get("datasets"))
    old_base = meta.get("base_model")
    front = {
        **meta,
        "library_name": meta.get("library_name") or "transformers",
        "license": license or meta.get("license") or "apache-2.0",
        "language": language if language is not None else meta.get("language", "en"),
        "tags": _unique([TAG, *_as_list(meta.get("tags")), *tags, *extra_tags]),
        "datasets": _unique([d for d in old_data if is_hub_id(d)] + hub_data) or None,
        "base_model": facts.base_id or (old_base if is_hub_id(old_base) and base_model is None else None),
        "pipeline_tag": facts.pipeline or meta.get("pipeline_tag"),
    }
    merged = _merge_eval_results(old_results, [_eval_result(*score) for score in scores])
    if merged:
        front["model-index"] = eval_results_to_model_index(facts.name, merged)
    elif old_index:
        front["model-index"] = old_index  # unreadable, but not ours to drop
    return {k: v for k, v in front.items() if v is not None}


def _as_list(value: Any) -> list:
    return [value] if isinstance(value, str) else list(value or [])


def _facts_table(
    sections: list[tuple[str, list[str]]],
    model_facts: dict[str, Any],
    new_facts: dict[str, Any],
    details: Mapping[str, Any],
) -> dict[str, Any]:
    """The facts table: rows already in the card keep their place, new values win, new rows follow."""
    old_facts: dict[str, str] = {}
    for heading, lines in sections:
        if heading in (_TRAINING, _FINETUNING):
            old_facts.update(table_rows(lines))
    values = {**model_facts, **old_facts, **new_facts, **details}
    lead = [k for k in ("objective", "task") if k in new_facts]
    order = _unique([*old_facts, *lead, *model_facts, *new_facts, *details])
    return {k: values[k] for k in order}


def _our_sections(
    facts: _Facts, table: dict[str, Any], results: Mapping[str, Any] | None
) -> dict[str, list[str] | None]:
    """The sections the builder writes, in order (``None``: nothing to say; an old section of that name stays)."""
    ref = facts.known_repo or f"path/to/{run_name(facts.mdir) if facts.mdir is not None else facts.name}"
    return {
        _FINETUNING if facts.classifier else _TRAINING: ["", *_table(table), ""] if table else None,
        _RESULTS: ["", results_table(results, model=facts.name).rstrip(), ""] if results else None,
        _USAGE: ["", *_usage(facts.auto, facts.pipeline, ref, facts.classifier, bool(facts.known_repo))],
    }


def _place_sections(
    sections: list[tuple[str, list[str]]], ours: dict[str, list[str] | None], facts: _Facts
) -> list[tuple[str, list[str]]]:
    """Our sections replace theirs in place; new ones go before Usage; a person's own sections stay where they are."""
    ours = dict(ours)
    usage = ours.pop(_USAGE)
    facts_heading = _FINETUNING if facts.classifier else _TRAINING
    out: list[tuple[str, list[str]]] = []
    for heading, lines in sections:
        if heading in (_TRAINING, _FINETUNING) and heading != facts_heading:
            continue  # the facts moved under the other heading
        if heading == _USAGE:
            lines = usage
        elif heading in ours:
            lines = ours.pop(heading) or lines
        out.append((heading, lines))
    at = next((i for i, (h, _) in enumerate(out) if h == _USAGE), len(out))
    for heading, lines in ours.items():  # ours not yet in the card: before Usage, in our order
        if lines is not None:
            out.insert(at, (heading, lines))
            at += 1
    if not any(h == _USAGE for h, _ in out):
        out.append((_USAGE, usage))
    return out


def _render(front: Mapping[str, Any], title: str, intro: str, sections: list[tuple[str, list[str]]]) -> str:
    """The card's text: YAML front matter, title, intro, then the sections (no doubled blank lines)."""
    import yaml

    text = [
        "---",
        yaml.safe_dump(dict(front), sort_keys=False, allow_unicode=True, width=1000).rstrip(),
        "---",
        "",
        f"# {title}",
        "",
        intro,
        "",
    ]
    for heading, lines in sections:
        text += [f"## {heading}", *lines]
        while len(text) > 1 and text[-1] == "" and text[-2] == "":
            text.pop()
        if text[-1] != "":
            text.append("")
    return "\n".join(text).rstrip() + "\n"


def write_model_card(model_dir: str | os.PathLike, **kwargs: Any) -> Path:
    """Merge :func:`build_model_card` (same keyword arguments) into ``model_dir/README.md``, atomically.

    The file is replaced whole by the merged card (a crash leaves the old card, never half of one).
    """
    mdir = Path(model_dir)
    if not mdir.is_dir():
        raise InputFileError(f"model card: {mdir} is not a directory")
    card = build_model_card(mdir, **kwargs)
    return write_atomic(mdir / "README.md", str(card))
