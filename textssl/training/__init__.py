"""Pretraining: the loop (``pretrain``), its config, checkpoints, schedules and reporting (finetuning: ``textssl.finetuning``)."""
