"""Train a cross-attention scoring head on your own labelled data, over cached frozen-draft hidden states.

The sentence scorer's embedding model fine-tunes with :func:`train_sentences` on :class:`RankingExample` items,
and :func:`contextsieve.scoring.sentences.save_sentences` writes its folder. Its cross-encoder reranker trains on
the same items with :func:`train_reranker`; :func:`contextsieve.scoring.rerank.save_reranker` writes it beside.
An encoder token classifier (the LLMLingua-2 recipe, query-aware) trains with :func:`encoder_windows` and
:func:`train_encoder`, and :func:`contextsieve.scoring.encoder.save_encoder` writes its folder.

Items are anything with ``task``, ``context``, ``question`` and ``gold_spans`` (e.g. :class:`LabelledText`);
:func:`extract_features` runs the frozen draft once, :func:`train_head` fits the head, and
:func:`contextsieve.models.heads.save_head` writes a folder ``Compressor.from_pretrained`` loads. The two-stage
recipe behind the shipped head (generated tasks, cached stages, ``contextsieve train``) lives in the research
package ``contextsieve_eval.recipe``.
"""

from contextsieve.training.data import LabelledText, document_items, split_documents
from contextsieve.training.encoder_trainer import (
    EncoderTrainConfig,
    LabelledWindow,
    encoder_windows,
    keep_layers,
    load_base_encoder,
    train_encoder,
)
from contextsieve.training.features import Labelled, SampleFeatures, extract_features
from contextsieve.training.reranker_trainer import RerankerTrainConfig, train_reranker
from contextsieve.training.sentence_trainer import RankingExample, SentenceTrainConfig, train_sentences
from contextsieve.training.trainer import TrainConfig, TrainResult, train_head, validation_recall

__all__ = [
    "EncoderTrainConfig",
    "Labelled",
    "LabelledText",
    "LabelledWindow",
    "RankingExample",
    "RerankerTrainConfig",
    "SampleFeatures",
    "SentenceTrainConfig",
    "TrainConfig",
    "TrainResult",
    "document_items",
    "encoder_windows",
    "extract_features",
    "keep_layers",
    "load_base_encoder",
    "split_documents",
    "train_encoder",
    "train_head",
    "train_reranker",
    "train_sentences",
    "validation_recall",
]
