"""Every broken file in tests/corpus is rejected with the message on its first line.

Each file starts with ``# expect: <text>``; loading it must raise ConfigError whose message
starts with the file's path and contains <text>. Nothing half-loads: the loaders build the
frozen objects only after every rule has passed.
"""

from pathlib import Path

import pytest

from corridor_core.agreement import load_agreement
from corridor_core.errors import ConfigError
from corridor_core.map_io import load_map

CORPUS = Path(__file__).resolve().parent / "corpus"
CASES = sorted(CORPUS.glob("maps/*.yaml")) + sorted(CORPUS.glob("agreements/*.yaml"))


def test_corpus_has_at_least_twenty_files() -> None:
    assert len(CASES) >= 20


@pytest.mark.parametrize("path", CASES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_broken_file_is_rejected_with_its_expected_message(path: Path) -> None:
    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith("# expect: "), f"{path} lacks its expected message"
    expected = first.removeprefix("# expect: ")
    loader = load_map if path.parent.name == "maps" else load_agreement
    with pytest.raises(ConfigError) as info:
        loader(path)
    message = str(info.value)
    assert message.startswith(str(path)), message
    assert expected in message, message
