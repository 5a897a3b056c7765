"""A small, lossless tokenizer and chat template for the stand-in.

Real counts need the model's tokenizer; the stand-in only needs counts that are consistent:
`/tokenize` of a prompt, the `usage` of a request with that prompt and the context-length check
all use this one tokenizer, and `/detokenize` gives back the text. Pieces are runs of up to six
non-space characters with their leading space (about what a BPE vocabulary does for English).
Ids are handed out on first sight, so they are stable within one emulator process.
"""

from __future__ import annotations

import re
from typing import Any

BOS = "<s>"
SPECIALS = ("<unk>", BOS, "</s>", "<|system|>", "<|user|>", "<|assistant|>", "<|tool|>")
_PIECE = re.compile("|".join(re.escape(s) for s in SPECIALS) + r"| ?\S{1,6}|\s")


class Vocabulary:
    def __init__(self) -> None:
        self._pieces: list[str] = list(SPECIALS)
        self._ids: dict[str, int] = {piece: index for index, piece in enumerate(self._pieces)}

    def __len__(self) -> int:
        return len(self._pieces)

    def encode(self, text: str, *, add_bos: bool = False) -> list[int]:
        ids = [self._ids[BOS]] if add_bos else []
        for piece in _PIECE.findall(text):
            if piece not in self._ids:
                self._ids[piece] = len(self._pieces)
                self._pieces.append(piece)
            ids.append(self._ids[piece])
        return ids

    def piece(self, token_id: int) -> str | None:
        return self._pieces[token_id] if 0 <= token_id < len(self._pieces) else None

    def pieces(self, text: str) -> list[str]:
        return [self._pieces[i] for i in self.encode(text)]

    def decode(self, ids: list[int]) -> str:
        return "".join(self._pieces[i] for i in ids if 0 <= i < len(self._pieces))


VOCAB = Vocabulary()


def _content_text(content: Any) -> str:
    if isinstance(content, list):  # [{"type": "text", "text": ...}, ...]
        return " ".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return "" if content is None else str(content)


def render_chat(messages: list[dict[str, Any]], tools: list[Any] | None = None) -> str:
    """The prompt the chat template makes: BOS, one block per message, the generation prompt."""
    parts = [BOS]
    if tools:
        names = ", ".join(str((t.get("function") or {}).get("name")) for t in tools if isinstance(t, dict))
        parts.append(f"<|system|>\nTools: {names}\n")
    for message in messages:
        parts.append(f"<|{message.get('role')}|>\n{_content_text(message.get('content'))}\n")
    parts.append("<|assistant|>\n")
    return "".join(parts)
