"""Model cards and pushing checkpoints to the Hugging Face Hub.

The package, by question:

* :mod:`textssl.hub.names` -- Hub repo ids, run names, the repo id a card records (and reading a card's text);
* :mod:`textssl.hub.cards` -- the one card builder (:func:`build_model_card`, :func:`write_model_card`);
* :mod:`textssl.hub.push` -- :func:`push_to_hub`;
* :mod:`textssl.hub.network` -- the Hub's network errors as one line (:func:`hub_error`, :func:`require_online`).

``from textssl.hub import write_model_card`` (or any name below) keeps working: the names are re-exported here,
imported lazily on first use (PEP 562), so importing one module of the package does not load the others. The
results.json checker :func:`load_glue_results` lives with the finetuning report
(:mod:`textssl.finetuning.report`) and is re-exported for ``textssl push --glue-results``.
"""

from __future__ import annotations

from textssl.lazy import lazy_exports

# public name -> module that defines it
_EXPORTS = {
    "is_hub_id": "textssl.hub.names",
    "check_repo_id": "textssl.hub.names",
    "run_name": "textssl.hub.names",
    "card_repo_id": "textssl.hub.names",
    "display_name": "textssl.hub.names",
    "TAG": "textssl.hub.cards",
    "model_head": "textssl.hub.cards",
    "build_model_card": "textssl.hub.cards",
    "write_model_card": "textssl.hub.cards",
    "DEFAULT_IGNORE": "textssl.hub.push",
    "push_to_hub": "textssl.hub.push",
    "hub_unreachable": "textssl.hub.network",
    "hub_error": "textssl.hub.network",
    "require_online": "textssl.hub.network",
    "load_glue_results": "textssl.finetuning.report",
    "RESULTS_KEYS": "textssl.finetuning.report",
    "PROTOCOL_KEYS": "textssl.finetuning.report",
    "TASK_KEYS": "textssl.finetuning.report",
    "SUMMARY_KEYS": "textssl.finetuning.report",
}

__all__ = list(_EXPORTS)


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
