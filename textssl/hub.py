"""Model cards and pushing checkpoints to the Hugging Face Hub.

One card builder, :func:`build_model_card`, describes a textssl checkpoint as a ``huggingface_hub.ModelCard``:
metadata (``library_name: transformers``, a ``textssl`` tag, the ``pipeline_tag`` of the saved head, the
pretraining datasets that are Hub ids, ``base_model`` and a ``model-index`` with the dev results when there are
any) and a body (title, what the model is, a facts table, the results table and a usage snippet with the right
``AutoModelFor*`` class). When the directory already has a ``README.md`` the builder *merges* into it: facts
that come later (GLUE results, the repo id of a push) update the card; what is already there (front matter
keys, tags, datasets, ``model-index`` entries, table rows, sections a person added) stays.
:func:`write_model_card` writes the merged card atomically; :func:`push_to_hub` stamps the repo id into the
card (title, usage snippet, ``model-index`` name) and uploads the folder with ``HfApi.create_repo`` +
``upload_folder``. Tokens come from the argument, ``HF_TOKEN`` or the stored login, and are never printed or
logged.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from textssl.atomic import write_atomic
from textssl.errors import ConfigError, DataError, HubError, InputFileError, MissingKeyError

logger = logging.getLogger(__name__)

TAG = "textssl"
# What a pretraining checkpoint holds besides the model: never uploaded by default.
DEFAULT_IGNORE = (
    ".*",
    "**/.*",
    "*.tmp*",
    "optimizer*.bin",
    "optimizer*.pt",
    "scheduler*.bin",
    "scheduler*.pt",
    "scaler*.pt",
    "random_states_*.pkl",
    "training_state/**",
    "accelerate_state/**",
)
_SLUG = re.compile(r"^[\w.-]+$")
_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
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
# Folder names that say nothing about the run: a card titled "model" is named after its parent run instead.
_GENERIC_DIRS = {
    "model", "models", "checkpoint", "checkpoints", "final", "best", "last", "output", "outputs", "out",
    "generator", "discriminator", "pretrain", "pretrained", "finetune", "finetuned", "hf", "export",
}  # fmt: skip
_STEP_DIR = re.compile(r"^(step|checkpoint)[-_]?\d+$")
_FILE_SUFFIXES = {
    ".txt", ".text", ".tokens", ".raw", ".json", ".jsonl", ".csv", ".tsv", ".parquet", ".arrow",
    ".gz", ".bz2", ".xz", ".zst", ".zip", ".tar", ".md",
}  # fmt: skip
_TRAINING, _FINETUNING, _RESULTS, _USAGE = (
    "Training",
    "Finetuning",
    "GLUE-style evaluation (dev sets)",
    "Usage",
)
_OWN_INTROS = ("A Transformer language model pretrained with textssl", "A sequence classifier finetuned")


# ------------------------------------------------------------------------------------------------ names and ids


def is_hub_id(name: Any) -> bool:
    """Whether ``name`` is (conservatively) a Hub repo id: ``owner/name`` form, no file suffix, not a local path.

    ``synthetic:400``, ``corpus.txt``, ``data/wiki.train.tokens`` and any path that exists here are not.
    """
    if not isinstance(name, str) or len(name) > 96 or not _REPO_ID.match(name):
        return False
    if ".." in name or "--" in name or Path(name).suffix.lower() in _FILE_SUFFIXES:
        return False
    return not Path(name).exists()


def check_repo_id(repo_id: str | None, option: str = "--repo-id") -> str:
    """``repo_id`` if it has the Hub's ``user-or-org/name`` form, else a :class:`ConfigError` naming ``option``."""
    if not isinstance(repo_id, str) or not _REPO_ID.match(repo_id):
        raise ConfigError(f"{option} {repo_id!r}: expected 'user-or-org/name'")
    return repo_id


def run_name(path: str | os.PathLike) -> str:
    """A meaningful name for a checkpoint directory: its own name, or its run's when the folder is generic.

    ``runs/mlm-tiny/model`` -> ``mlm-tiny``; ``runs/mlm-tiny/checkpoints/step_300`` -> ``mlm-tiny``; a
    temporary ``.model.tmpXYZ`` folder (atomic writes) counts as ``model``.
    """
    resolved = Path(path).resolve()
    for part in (resolved, *resolved.parents):
        name = part.name
        if name.startswith(".") and ".tmp" in name:
            name = name[1:].split(".tmp")[0]
        if name and name.lower() not in _GENERIC_DIRS and not _STEP_DIR.match(name.lower()):
            return name
    return "textssl-model"


def card_repo_id(model_dir: str | os.PathLike) -> str | None:
    """The Hub repo id recorded in ``model_dir/README.md`` by an earlier push (``None`` if never pushed)."""
    path = Path(model_dir) / "README.md"
    if not path.is_file():
        return None
    try:
        meta, body = _split_card(path.read_text(encoding="utf-8"), path)
    except (OSError, UnicodeDecodeError, InputFileError):
        return None
    title, _ = _preamble(_sections(body)[0])
    return _recorded_repo_id(meta, title)


def display_name(model: str | os.PathLike) -> str:
    """How reports name a model: its Hub id (given, or recorded in its card), else its run's name."""
    text = str(model)
    if Path(text).is_dir():
        return card_repo_id(text) or run_name(text)
    return text


def _recorded_repo_id(meta: Mapping[str, Any], title: str | None) -> str | None:
    index = meta.get("model-index")
    candidates = [
        index[0].get("name") if isinstance(index, list) and index and isinstance(index[0], dict) else None
    ]
    candidates.append(title)
    for name in candidates:
        if isinstance(name, str) and _REPO_ID.match(name) and not Path(name).exists():
            return name
    return None


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


# What the model card reads from a `textssl glue` results.json (see run_glue_suite): checked before anything is
# written, so an incomplete or hand-edited file fails with the missing key instead of a bare KeyError.
RESULTS_KEYS = ("model", "seeds", "selection", "protocol", "tasks")
PROTOCOL_KEYS = ("learning_rate", "batch_size", "epochs", "warmup_ratio", "max_length")
TASK_KEYS = ("main_metric", "summary", "majority")
SUMMARY_KEYS = ("median", "min", "max", "metrics", "last_epoch_median")


def load_glue_results(path: str | os.PathLike) -> dict[str, Any]:
    """Read and check the results.json of `textssl glue` (a file or the directory holding it).

    Raises :class:`~textssl.errors.InputFileError` for a missing or unreadable file,
    :class:`~textssl.errors.DataError` for invalid JSON and :class:`~textssl.errors.MissingKeyError` naming the
    first missing key (``tasks.sst2.summary.pretrained.median``).
    """
    source = Path(path)
    if source.is_dir():
        source = source / "results.json"
    hint = "pass the results.json written by `textssl glue`; rerun it if the file was cut short"
    if not source.is_file():
        raise InputFileError(f"--glue-results {source}: no such file", hint=hint)
    try:
        results = json.loads(source.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise InputFileError(f"--glue-results {source}: cannot read the file ({exc})", hint=hint) from None
    except json.JSONDecodeError as exc:
        raise DataError(
            f"--glue-results {source}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})",
            hint=hint,
        ) from None

    def need(obj: Any, keys: tuple[str, ...], where: str) -> None:
        if not isinstance(obj, dict):
            raise DataError(
                f"--glue-results {source}: {where or 'the file'} must be a JSON object", hint=hint
            )
        for key in keys:
            if key not in obj:
                raise MissingKeyError(
                    f"--glue-results {source}: missing key '{where + '.' if where else ''}{key}'", hint=hint
                )

    need(results, RESULTS_KEYS, "")
    need(results["protocol"], PROTOCOL_KEYS, "protocol")
    if not isinstance(results["seeds"], list) or not results["seeds"]:
        raise DataError(f"--glue-results {source}: seeds must be a non-empty list", hint=hint)
    tasks = results["tasks"]
    need(tasks, (), "tasks")
    if not tasks:
        raise DataError(f"--glue-results {source}: no task results (tasks is empty)", hint=hint)
    for name, task in tasks.items():
        need(task, TASK_KEYS, f"tasks.{name}")
        need(task["summary"], ("pretrained",), f"tasks.{name}.summary")
        for init, summary in task["summary"].items():
            need(summary, SUMMARY_KEYS, f"tasks.{name}.summary.{init}")
            bad = [k for k in ("median", "min", "max", "last_epoch_median") if not _number(summary[k])]
            if bad:
                raise DataError(
                    f"--glue-results {source}: tasks.{name}.summary.{init}.{bad[0]} is not a number",
                    hint=hint,
                )
    return results


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _load_results(glue_results: Mapping[str, Any] | str | os.PathLike | None) -> Mapping[str, Any] | None:
    if glue_results is None or isinstance(glue_results, Mapping):
        return glue_results
    return load_glue_results(glue_results)


def _split_card(text: str, source: Path | str) -> tuple[dict[str, Any], str]:
    """``(front matter, body)`` of a model card; a card without front matter is all body."""
    import yaml

    match = re.match(r"^\s*---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|$)", text, flags=re.S)
    if not match:
        return {}, text
    try:
        meta = yaml.safe_load(match.group(1)) or {}
    except yaml.YAMLError as exc:
        raise InputFileError(
            f"{source}: the model card's front matter is not valid YAML ({str(exc).splitlines()[0]})",
            hint="fix the YAML between the '---' lines, or move the file away to start a fresh card",
        ) from None
    if not isinstance(meta, dict):
        raise InputFileError(
            f"{source}: the model card's front matter is not a mapping of keys",
            hint="fix the YAML between the '---' lines, or move the file away to start a fresh card",
        )
    return meta, text[match.end() :]


def _sections(body: str) -> tuple[list[str], list[tuple[str, list[str]]]]:
    """Split a card body into the lines before the first ``## `` heading and ``(heading, lines)`` sections."""
    head: list[str] = []
    sections: list[tuple[str, list[str]]] = []
    in_code = False
    for line in body.splitlines():
        if line.lstrip().startswith("```"):
            in_code = not in_code
        if not in_code and line.startswith("## "):
            sections.append((line[3:].strip(), []))
        elif sections:
            sections[-1][1].append(line)
        else:
            head.append(line)
    return head, sections


def _preamble(head: Sequence[str]) -> tuple[str | None, str]:
    """``(title, intro)`` of the lines before the first section."""
    title, rest = None, []
    for line in head:
        if title is None and line.startswith("# "):
            title = line[2:].strip()
        else:
            rest.append(line)
    return title, "\n".join(rest).strip()


def _table_rows(lines: Sequence[str]) -> dict[str, str]:
    """The ``| key | value |`` rows of a two-column facts table (header and rule skipped)."""
    rows: dict[str, str] = {}
    for line in lines:
        line = line.strip()
        if not (line.startswith("|") and line.endswith("|")) or set(line) <= set("|-: "):
            continue
        cells = [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", line[1:-1])]
        if len(cells) == 2 and cells[0]:
            rows[cells[0]] = cells[1]
    return rows


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


def _task_dataset(name: str) -> tuple[str, str, str | None, Any]:
    """``(dataset type, dataset name, config, spec)`` of a task for a model-index entry."""
    from textssl.glue import HUB_DATASET, TASKS

    spec = TASKS.get(name)
    if spec is not None and spec.hub_config:
        return HUB_DATASET, f"GLUE {spec.dir_name}", spec.hub_config, spec
    return name, name, None, spec


def _split_of(metric: str, spec) -> tuple[str, str]:
    """``(metric type, dev split)`` of a metric key (``accuracy_mismatched`` -> MNLI's mismatched split)."""
    splits = list(spec.eval_splits) if spec is not None else ["validation"]
    for split in splits[1:]:
        suffix = "_" + split.removeprefix("validation_")
        if metric.endswith(suffix):
            return metric[: -len(suffix)], split
    return metric, splits[0]


def _eval_result(task: str, metric: str, value: float, label: str):
    from huggingface_hub import EvalResult

    dataset_type, dataset_name, config, spec = _task_dataset(task)
    metric_type, split = _split_of(metric, spec)
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


def _eval_results(results: Mapping[str, Any]) -> list:
    """One ``EvalResult`` per task and metric: the median over seeds of the pretrained runs."""
    out = []
    for name, task in results.get("tasks", {}).items():
        summary = (task.get("summary") or {}).get("pretrained")
        if not summary:
            continue
        n = len(summary.get("scores", [])) or len(results.get("seeds", []))
        label = f"dev, x100, median of {n} seed{'s' * (n != 1)}"
        out += [_eval_result(name, m, v, label) for m, v in summary.get("metrics", {}).items()]
    return out


def _finetuned_eval_results(result: Mapping[str, Any]) -> list:
    """The finetuned model's own dev result (the selected epoch of its one run)."""
    select = (result.get("config") or {}).get("select", "best")
    label = f"dev, x100, seed {result.get('seed', 0)}, {select} epoch"
    return [_eval_result(result["task"], m, v, label) for m, v in (result.get("metrics") or {}).items()]


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


def _finetune_facts(result: Mapping[str, Any], base_note: str | None) -> dict[str, Any]:
    _, dataset_name, _, _ = _task_dataset(result["task"])
    protocol = result.get("config") or {}
    epochs = protocol.get("epochs")
    facts: dict[str, Any] = {"task": dataset_name if dataset_name != result["task"] else result["task"]}
    facts["initialization"] = (
        "random (a baseline: no pretraining)" if result.get("init") == "random-init" else "pretrained"
    )
    if base_note:
        facts["base model"] = base_note
    if "seed" in result:
        facts["seed"] = result["seed"]
    if "best_epoch" in result and epochs:
        facts["selected epoch"] = (
            f"{result['best_epoch']} of {epochs} ({protocol.get('select', 'best')} on dev)"
        )
    if "num_train" in result:
        facts["training examples"] = f"{int(result['num_train']):,}"
    if protocol:
        facts["protocol"] = (
            f"lr {protocol['learning_rate']:g}, batch {protocol['batch_size']}, "
            f"{epochs} epoch{'s' * (epochs != 1)}, warmup {protocol['warmup_ratio']:g}, "
            f"max length {protocol['max_length']}"
        )
    for metric, value in (result.get("metrics") or {}).items():
        facts[f"dev {metric}"] = f"{100 * float(value):.2f}"
    return facts


def _intro(auto: str, classifier: bool, finetuned: Mapping[str, Any] | None, base_note: str | None) -> str:
    load = (
        f"It is a stock `transformers` model: load it with `{auto}.from_pretrained` (no `trust_remote_code`)."
    )
    if classifier:
        what = "A sequence classifier finetuned with textssl"
        if finetuned:
            what += f" on {_task_dataset(finetuned['task'])[1]}"
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


# ---------------------------------------------------------------------------------------------- the builder


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
    :func:`textssl.training.finetune.run_glue_suite` (a dict, a ``results.json`` or its directory) which become
    ``model-index`` entries, ``finetuned`` the result dict of :func:`textssl.training.finetune.finetune` for
    a finetuned model's own card, ``base_model`` the checkpoint this one started from (its Hub id goes to
    the metadata; a local directory is named by the repo id its card records, never by its path), ``details``
    further facts for the table. ``repo_id`` (``user/name``), once known, is the title, the ``model-index``
    name and the id in the usage snippet; until then the card is named ``model_name`` or the run's folder.

    Merging keeps every front matter key, tag, dataset and ``model-index`` entry already there (an entry is
    replaced only by a new result for the same task, dataset, split and metric), keeps the facts table's rows
    (new values win), and keeps sections it does not write itself.
    """
    from huggingface_hub import ModelCard
    from huggingface_hub.repocard_data import eval_results_to_model_index, model_index_to_eval_results

    mdir = Path(model_dir) if model_dir is not None else None
    if repo_id is not None:
        check_repo_id(repo_id, "repo_id")
    card_path = mdir / "README.md" if mdir is not None else None
    meta: dict[str, Any] = {}
    body = ""
    if merge and card_path is not None and card_path.is_file():
        try:
            text = card_path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise InputFileError(f"{card_path}: the model card is not UTF-8 text") from None
        meta, body = _split_card(text, card_path)
    head, sections = _sections(body)
    old_title, old_intro = _preamble(head)
    config = _read_config(mdir)
    results = _load_results(glue_results)
    datasets = [datasets] if isinstance(datasets, str) else [str(d) for d in datasets or []]

    known_repo = repo_id or _recorded_repo_id(meta, old_title)
    name = known_repo or model_name or old_title or (run_name(mdir) if mdir is not None else "textssl-model")
    auto, pipeline = model_head(config, objective)
    if auto == "AutoModel" and meta.get("pipeline_tag"):  # no config here: trust the card
        auto = next((a for _, a, p in _HEADS if p == meta["pipeline_tag"]), auto)
    classifier = auto == "AutoModelForSequenceClassification" or finetuned is not None
    if finetuned is not None and base_model is None and finetuned.get("init") != "random-init":
        base_model = finetuned.get("model")
    base_id, base_note = _resolve_base(base_model)

    # ---- front matter: update what we know, keep everything else
    old_index = meta.pop("model-index", None)
    old_results: list = []
    if old_index:
        try:
            _, old_results = model_index_to_eval_results(old_index)
        except (KeyError, TypeError, ValueError, IndexError):
            logger.warning("%s: could not read its model-index; it is kept as it is", card_path)
    new_results = (_eval_results(results) if results else []) + (
        _finetuned_eval_results(finetuned) if finetuned else []
    )
    hub_data = [d for d in datasets if is_hub_id(d)]
    if finetuned is not None and _task_dataset(finetuned["task"])[2]:
        hub_data.append(_task_dataset(finetuned["task"])[0])
    old_data = meta.get("datasets")
    old_data = [old_data] if isinstance(old_data, str) else list(old_data or [])
    extra_tags = [objective] if objective and _SLUG.match(objective) else []
    if finetuned is not None and _SLUG.match(finetuned["task"]):
        extra_tags.append(finetuned["task"])
    old_tags = meta.get("tags")
    old_tags = [old_tags] if isinstance(old_tags, str) else list(old_tags or [])
    old_base = meta.get("base_model")
    updates: dict[str, Any] = {
        "library_name": meta.get("library_name") or "transformers",
        "license": license or meta.get("license") or "apache-2.0",
        "language": language if language is not None else meta.get("language", "en"),
        "tags": _unique([TAG, *old_tags, *tags, *extra_tags]),
        "datasets": _unique([d for d in old_data if is_hub_id(d)] + hub_data) or None,
        "base_model": base_id or (old_base if is_hub_id(old_base) and base_model is None else None),
        "pipeline_tag": pipeline or meta.get("pipeline_tag"),
    }
    front = {**meta, **updates}
    merged_results = _merge_eval_results(old_results, new_results)
    if merged_results:
        front["model-index"] = eval_results_to_model_index(name, merged_results)
    elif old_index:
        front["model-index"] = old_index  # unreadable, but not ours to drop
    front = {k: v for k, v in front.items() if v is not None}

    # ---- body: title, intro, facts table, results, usage; other sections stay where they were
    title = name
    if not old_intro or old_intro.startswith(_OWN_INTROS) and (finetuned is not None or not classifier):
        intro = _intro(auto, classifier, finetuned, base_note)
    else:
        intro = old_intro
    facts_heading = _FINETUNING if classifier else _TRAINING
    old_facts: dict[str, str] = {}
    for heading, lines in sections:
        if heading in (_TRAINING, _FINETUNING):
            old_facts.update(_table_rows(lines))
    if finetuned is not None:
        new_facts = _finetune_facts(finetuned, base_note)
    else:
        new_facts = _pretrain_facts(
            objective,
            datasets,
            steps,
            tokens_seen,
            budget,
            base_note if not classifier else None,
        )
        if classifier and base_note:
            new_facts["base model"] = base_note
    model_facts = _model_facts(config, mdir)
    values = {**model_facts, **old_facts, **new_facts, **(details or {})}
    lead = [k for k in ("objective", "task") if k in new_facts]
    order = _unique([*old_facts, *lead, *model_facts, *new_facts, *(details or {})])
    facts = {k: values[k] for k in order}
    ours: dict[str, list[str] | None] = {
        facts_heading: ["", *_table(facts), ""] if facts else None,
        _RESULTS: None,
        _USAGE: [
            "",
            *_usage(
                auto,
                pipeline,
                known_repo or f"path/to/{run_name(mdir) if mdir is not None else name}",
                classifier,
                bool(known_repo),
            ),
        ],
    }
    if results:
        from textssl.training.finetune import results_table

        ours[_RESULTS] = ["", results_table(results, model=name).rstrip(), ""]
    usage = ours.pop(_USAGE)
    out_sections: list[tuple[str, list[str]]] = []
    for heading, lines in sections:
        if heading in (_TRAINING, _FINETUNING) and heading != facts_heading:
            continue  # the facts moved under the other heading
        if heading == _USAGE:
            lines = usage
        elif heading in ours:
            lines = ours.pop(heading) or lines
        out_sections.append((heading, lines))
    at = next((i for i, (h, _) in enumerate(out_sections) if h == _USAGE), len(out_sections))
    for heading, lines in ours.items():  # ours not yet in the card: before Usage, in our order
        if lines is not None:
            out_sections.insert(at, (heading, lines))
            at += 1
    if not any(h == _USAGE for h, _ in out_sections):
        out_sections.append((_USAGE, usage))

    import yaml

    text = [
        "---",
        yaml.safe_dump(front, sort_keys=False, allow_unicode=True, width=1000).rstrip(),
        "---",
        "",
        f"# {title}",
        "",
        intro,
        "",
    ]
    for heading, lines in out_sections:
        text += [f"## {heading}", *lines]
        while len(text) > 1 and text[-1] == "" and text[-2] == "":
            text.pop()
        if text[-1] != "":
            text.append("")
    return ModelCard("\n".join(text).rstrip() + "\n")


def write_model_card(model_dir: str | os.PathLike, **kwargs: Any) -> Path:
    """Merge :func:`build_model_card` (same keyword arguments) into ``model_dir/README.md``, atomically.

    The file is replaced whole by the merged card (a crash leaves the old card, never half of one).
    """
    mdir = Path(model_dir)
    if not mdir.is_dir():
        raise InputFileError(f"model card: {mdir} is not a directory")
    card = build_model_card(mdir, **kwargs)
    return write_atomic(mdir / "README.md", str(card))


# --------------------------------------------------------------------------------------------------------------
# Network errors: one line naming what could not be fetched and the local alternative, never the token.

_NETWORK_ERROR_NAMES = {
    "OfflineModeIsEnabled",
    "LocalEntryNotFoundError",
    "ConnectError",
    "ConnectTimeout",
    "ConnectionError",
    "ReadTimeout",
    "Timeout",
    "TimeoutException",
    "NetworkError",
    "TransportError",
    "ProxyError",
    "SSLError",
    "gaierror",
}
_NETWORK_PHRASES = (
    "couldn't connect",
    "couldn't reach",
    "offline mode",
    "outgoing traffic has been disabled",
)


def _chain(exc: BaseException | None) -> list[BaseException]:
    seen: list[BaseException] = []
    while exc is not None and not any(exc is s for s in seen):
        seen.append(exc)
        exc = exc.__cause__ or exc.__context__
    return seen


def hub_unreachable(exc: BaseException) -> bool:
    """Whether ``exc`` (or an exception it was raised from) means the Hub could not be reached at all:
    offline mode (``HF_HUB_OFFLINE=1``), no network, DNS failure, a timeout, or a file not in the local cache."""
    for e in _chain(exc):
        if isinstance(e, (ConnectionError, TimeoutError)) and not isinstance(e, HubError):
            return True
        if any(t.__name__ in _NETWORK_ERROR_NAMES for t in type(e).__mro__):
            return True
        if any(phrase in str(e).lower() for phrase in _NETWORK_PHRASES):
            return True
    return False


def hub_error(what: str, exc: BaseException, hint: str) -> HubError:
    """A one-line :class:`~textssl.errors.HubError`: the Hub is unreachable, so ``what`` failed; ``hint`` names
    the local alternative. Only the exception's class name is kept (its text can hold URLs, never needed here)."""
    names = [type(e).__name__ for e in _chain(exc)]
    cause = next((n for n in names if n in _NETWORK_ERROR_NAMES), names[-1] if names else "error")
    return HubError(
        f"the Hugging Face Hub is unreachable (offline mode or no network; {cause}): could not {what}",
        hint=hint,
    )


def require_online(what: str, hint: str) -> None:
    """Raise the one-line :class:`HubError` at once when offline mode (``HF_HUB_OFFLINE=1``) is on, before any
    work or file write that would only be followed by a failed network call."""
    from huggingface_hub import constants

    if constants.HF_HUB_OFFLINE:  # read from HF_HUB_OFFLINE when huggingface_hub is imported
        raise HubError(
            f"the Hugging Face Hub is unreachable (offline mode: HF_HUB_OFFLINE is set): could not {what}",
            hint=hint,
        )


def _refused(what: str, exc: BaseException) -> HubError | None:
    """A one-line :class:`HubError` for an HTTP error answer of the Hub (bad token, no access, no such repo)."""
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None)
    if status is None:
        return None
    hints = {
        401: "the token was not accepted: set HF_TOKEN to a valid token with write access, or run `hf auth login`",
        403: "the token may not write to this repository: check the name and the token's permissions",
        404: "check the repository id (user-or-org/name)",
    }
    return HubError(
        f"the Hugging Face Hub refused to {what} (HTTP {status} {type(exc).__name__})",
        hint=hints.get(status, "check the repository id and your token, then try again"),
    )


def _resolve_token(token: str | None) -> str:
    if token:
        return token
    if os.environ.get("HF_TOKEN"):
        return os.environ["HF_TOKEN"]
    from huggingface_hub import get_token

    found = get_token()
    if not found:
        raise ConfigError(
            "no Hugging Face token: pass token=..., set the HF_TOKEN environment variable, or run `hf auth login`"
        )
    return found


def push_to_hub(
    folder: str | os.PathLike,
    repo_id: str,
    token: str | None = None,
    private: bool = False,
    commit_message: str = "Upload model trained with textssl",
    *,
    endpoint: str | None = None,
    ignore_patterns: Sequence[str] | None = DEFAULT_IGNORE,
    exist_ok: bool = True,
    update_card: bool = True,
) -> str:
    """Create ``repo_id`` (if needed) and upload ``folder`` to it; return the commit URL.

    The token comes from ``token``, else ``HF_TOKEN``, else the stored ``hf auth login``; it is passed to
    ``HfApi`` only and never logged. ``ignore_patterns`` (default :data:`DEFAULT_IGNORE`) keeps optimizer and
    training state out of the upload. ``endpoint`` overrides the Hub URL (default: ``HF_ENDPOINT``). With
    ``update_card`` (default) the folder's ``README.md`` is first merged with the repo id (title, usage
    snippet, ``model-index`` name; :func:`write_model_card`), so the local and the uploaded card agree.
    """
    from huggingface_hub import HfApi

    path = Path(folder)
    if not path.is_dir():
        raise InputFileError(f"push: {path} is not a directory")
    if not _REPO_ID.match(repo_id or ""):
        raise ConfigError(f"--repo-id {repo_id!r}: expected 'user-or-org/name'")
    require_online(f"push {path} to {repo_id}", "unset HF_HUB_OFFLINE and connect to the network to push")
    if not (path / "README.md").is_file():
        logger.warning("%s has no README.md model card; write one with textssl.hub.write_model_card", path)
    api = HfApi(endpoint=endpoint, token=_resolve_token(token))
    card = path / "README.md"
    old_card = card.read_bytes() if card.is_file() else None
    if update_card and old_card is not None:
        write_model_card(path, repo_id=repo_id)
    step = f"create the repository {repo_id}"
    try:
        url = api.create_repo(repo_id, private=private, exist_ok=exist_ok, repo_type="model")
        logger.info("uploading %s to %s", path, url)
        step = f"upload {path} to {repo_id}"
        info = api.upload_folder(
            repo_id=repo_id,
            folder_path=str(path),
            commit_message=commit_message,
            repo_type="model",
            ignore_patterns=list(ignore_patterns) if ignore_patterns else None,
        )
    except Exception as exc:  # network and HTTP errors become one line; anything else is a bug
        if old_card is not None and card.read_bytes() != old_card:
            write_atomic(card, old_card)  # a failed push leaves the folder as it was
        if hub_unreachable(exc):
            raise hub_error(
                step,
                exc,
                "connect to the network and unset HF_HUB_OFFLINE to push; the folder stays as it is",
            ) from None
        refused = _refused(step, exc)
        if refused is not None:
            raise refused from None
        raise
    commit_url = getattr(info, "commit_url", None) or str(info)
    logger.info("pushed %s -> %s", path, commit_url)
    return commit_url
