"""Parameters several methods share, each written once (its default among them). A method
that needs another default or help takes ``PARAM.but(default=...)``."""

from __future__ import annotations

from ..baselines.models import DEFAULT_CAUSAL_LM, DEFAULT_ENCODER
from ..io import SERIALIZERS
from .spec import SCORE, SELECT, Param

BUDGET_GROUP = "budget (one of)"
SHARED = "shared by several methods"
MODELS = "cluster, perplexity, ifd (models)"

BUDGET = Param("budget", None, int, "records to select", group=BUDGET_GROUP, commands=(SELECT,))
BUDGET_TOKENS = Param("budget_tokens", None, int, "tokens to select", group=BUDGET_GROUP, commands=(SELECT,))
TOKENIZER = Param(
    "tokenizer",
    "unicode",
    str,
    "how tokens are counted: unicode (words, and one token per CJK ideograph or kana), whitespace, "
    "bytes, or a Hugging Face tokenizer path/name",
    group=BUDGET_GROUP,
    commands=(SELECT,),
)
MIN_TOKENS = Param(
    "min_tokens",
    None,
    int,
    "leave out records with fewer tokens (by --tokenizer) before selecting. Why: a record shorter "
    "than a compressor's header and end codes compresses to more bytes than it holds, so its ratio "
    "is below 1 and ZIP takes it first ('hey', 'okay', a zero-width space); 8 tokens "
    "keeps such records out. 0 keeps every record. dsir counts word-punct tokens and drops records "
    "under 100 by default, as the DSIR package does",
    group=BUDGET_GROUP,
    commands=(SELECT,),
    minimum=0,
)
DECONTAMINATE = Param(
    "decontaminate",
    None,
    str,
    "leave out records that share an n-gram of --decontaminate-ngram words, or their whole text, with "
    "this benchmark before selecting (humaneval, mbpp, mt_bench, proofnet, minif2f, or a records "
    "file; repeat for several): see zipkit decontaminate",
    action="append",
    group=BUDGET_GROUP,
    commands=(SELECT,),
    metavar="BENCHMARK",
)
DECONTAMINATE_NGRAM = Param(
    "decontaminate_ngram", 13, int, "words in a shared sequence", group=BUDGET_GROUP, commands=(SELECT,), minimum=1
)
# Every selection method takes a budget, counted in records or in tokens...
BUDGETS = (BUDGET, BUDGET_TOKENS, TOKENIZER)
# ...and the filters zipkit.select applies before it: a minimum length, decontamination.
FILTERS = (MIN_TOKENS, DECONTAMINATE, DECONTAMINATE_NGRAM)

TARGET = Param(
    "target",
    None,
    None,
    "the target task's examples (a file, as for the pool)",
    group="target (zipfit, dsir)",
    metavar="FILE",
)
COMPRESSOR = Param("compressor", None, str, "a spec such as zlib:9, zstd:19, lz4hc:12", group=SHARED)
SERIALIZER = Param("serializer", "text", str, "what is compressed", choices=tuple(SERIALIZERS), group=SHARED)
WORKERS = Param(
    "workers",
    None,
    int,
    "cores for the per-record pass (threads for compression sizes, processes "
    "for zipfit and dsir); 0 = one per core (default: one per core)",
    changes_result=False,
    group=SHARED,
    minimum=0,
)
SEED = Param("seed", 0, int, "of the random draw", group=SHARED, minimum=0, maximum=2**32 - 1)
PROGRESS = Param("progress", None, None, "show progress bars (default: on a terminal)", changes_result=False, cli=False)

ENCODER = Param(
    "model", DEFAULT_ENCODER, str, "a local model directory, or packaged:minilm / packaged:smollm2", group=MODELS
)
CAUSAL_LM = ENCODER.but(default=DEFAULT_CAUSAL_LM)
DEVICE = Param("device", "auto", str, "auto (CUDA when present), cpu, cuda, cuda:1 ...", group=MODELS)
CACHE = Param(
    "cache",
    None,
    str,
    "where embeddings and LM losses are cached (default $ZIPKIT_CACHE or ~/.cache/zipkit)",
    changes_result=False,
    group=MODELS,
)
BATCH_TOKENS = Param(
    "batch_tokens",
    None,
    int,
    "padded tokens per LM batch (default by device)",
    changes_result=False,
    group=MODELS,
    minimum=1,
)
MAX_LENGTH = Param("max_length", None, int, "tokens per scored sequence", group=MODELS, minimum=1)

__all__ = [
    "BUDGET",
    "BUDGETS",
    "BUDGET_TOKENS",
    "CACHE",
    "CAUSAL_LM",
    "COMPRESSOR",
    "DECONTAMINATE",
    "DECONTAMINATE_NGRAM",
    "FILTERS",
    "DEVICE",
    "ENCODER",
    "MAX_LENGTH",
    "MIN_TOKENS",
    "PROGRESS",
    "SCORE",
    "SEED",
    "SELECT",
    "SERIALIZER",
    "TARGET",
    "TOKENIZER",
    "WORKERS",
]
