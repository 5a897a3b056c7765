"""A small local tokenizer for the load generator, built with Hugging Face's `tokenizers`.

AIPerf counts prompt and output tokens with a Hugging Face tokenizer (`--tokenizer`: a Hub name,
a local directory, or `builtin`, which downloads tiktoken's o200k_base file on first use). The
Hub is not reachable everywhere, so by default the benchmark builds a byte-level BPE tokenizer
(about 4 characters a token on English text, like the Llama/Mistral/Qwen tokenizers) from the
Shakespeare corpus AIPerf ships for its synthetic prompts, and saves it as a directory that
`transformers.AutoTokenizer.from_pretrained` loads. With `--tokenizer DIR` a model's own
tokenizer directory is used instead (then the token counts are the model's).

Runs in the bench virtual environment (.venv-bench): `python -m components.bench.tokenizer DIR`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

VOCAB_SIZE = 8000
SPECIALS = ["<unk>", "<s>", "</s>"]


def corpus_path() -> Path:
    import aiperf  # type: ignore[import-not-found]  # only in .venv-bench

    return Path(aiperf.__file__).parent / "dataset" / "generator" / "assets" / "shakespeare.txt"


def build(directory: Path, corpus: Path | None = None) -> Path:
    """Train the tokenizer on `corpus` and save it into `directory` (tokenizer.json + config)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers  # type: ignore[import-not-found]

    directory.mkdir(parents=True, exist_ok=True)
    if (directory / "tokenizer.json").exists():
        return directory
    tokenizer = Tokenizer(models.BPE(unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB_SIZE,
        special_tokens=SPECIALS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train([str(corpus or corpus_path())], trainer)
    tokenizer.save(str(directory / "tokenizer.json"))
    config = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "bos_token": "<s>",
        "eos_token": "</s>",
        "unk_token": "<unk>",
        "model_max_length": 1_000_000,
    }
    (directory / "tokenizer_config.json").write_text(json.dumps(config, indent=2) + "\n")
    return directory


if __name__ == "__main__":
    print(build(Path(sys.argv[1])))
