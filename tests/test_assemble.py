import sys
import types

from promptsearch.lm import assemble


def test_chunks_are_concatenated_in_order_once(tmp_path, monkeypatch):
    names = []
    for index, payload in enumerate([b"GGUF", b"-middle-", b"end"]):
        part = tmp_path / f"part{index}.bin"
        part.write_bytes(payload)
        module = types.ModuleType(f"fake_part_{index}")
        module.get_part_path = (lambda path: lambda: str(path))(part)
        monkeypatch.setitem(sys.modules, module.__name__, module)
        names.append(module.__name__)
    monkeypatch.setattr(assemble, "QWEN_PARTS", names)
    monkeypatch.setattr(assemble, "QWEN_BYTES", 15)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    path = assemble.qwen_path()
    with open(path, "rb") as handle:
        assert handle.read() == b"GGUF-middle-end"
    (tmp_path / "part0.bin").unlink()  # a second call reuses the assembled file
    assert assemble.qwen_path() == path


def test_a_missing_chunk_package_names_the_extra(tmp_path, monkeypatch):
    import pytest

    from promptsearch.errors import InputError

    monkeypatch.setattr(assemble, "QWEN_PARTS", ["no_such_chunk_module"])
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    with pytest.raises(InputError, match=r"promptsearch\[qwen\]"):
        assemble.qwen_path()
