"""Checkpoint directories (``textssl.training.checkpoint``): listing, resume resolution, pruning."""

from __future__ import annotations

import pytest

from textssl.training.checkpoint import (
    TrainState,
    list_checkpoints,
    prune_checkpoints,
    resolve_resume,
    write_manifest,
)


def test_checkpoint_listing_resume_and_pruning(tmp_path):
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        resolve_resume("latest", tmp_path)
    for step in (5, 10, 15):
        d = tmp_path / "checkpoints" / f"step_{step}"
        (d / "training_state").mkdir(parents=True)
        TrainState(step=step).save(d / "trainer_state.json")
        (d / "run_config.json").write_text('{"world_size": 1}')
        (d / "training_state" / "model.safetensors").write_bytes(b"weights")
        (d / "training_state" / "random_states_0.pkl").write_bytes(b"rng")
        write_manifest(d)
    (tmp_path / "checkpoints" / ".step_20.tmp").mkdir()  # an interrupted save is never picked
    (tmp_path / "checkpoints" / ".trash-step_1").mkdir()  # a killed prune's leftover goes at the next prune
    assert resolve_resume("latest", tmp_path).name == "step_15"
    with pytest.raises(ValueError, match="manifest.json is missing"):
        resolve_resume(str(tmp_path), tmp_path)
    prune_checkpoints(tmp_path, keep=2)
    assert [p.name for p in list_checkpoints(tmp_path)] == ["step_10", "step_15"]
    assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir()) == ["step_10", "step_15"]
    assert TrainState.load(tmp_path / "checkpoints" / "step_15" / "trainer_state.json").step == 15
