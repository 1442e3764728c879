"""Training loops: pretraining (``pretrain``) and finetuning (``textssl.training.finetune``)."""
