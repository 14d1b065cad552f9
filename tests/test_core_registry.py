"""Registry: lookup, lazy entries, duplicate names and did-you-mean errors."""
import pytest

from s2sbench.registry import Registry, RegistryError


def test_unknown_name_suggests_the_closest():
    reg = Registry("dataset")
    reg.register("m3so", 1)
    reg.register("m3so-nb", 2)
    reg.register("audioset-drums", 3)
    with pytest.raises(RegistryError) as e:
        reg.get("m3s0")
    msg = str(e.value)
    assert "unknown dataset 'm3s0'" in msg and "Did you mean 'm3so'" in msg and "audioset-drums" in msg


def test_unknown_name_without_close_match_lists_known_names():
    reg = Registry("model")
    reg.register("copy_last", object())
    msg = str(pytest.raises(RegistryError, reg.get, "zzzzzz").value)
    assert "Did you mean" not in msg and "Known: copy_last" in msg


def test_lazy_entry_is_imported_on_first_use_and_duplicates_are_rejected():
    reg = Registry("thing", lazy={"join": "os.path:join"})
    assert reg.keys() == ["join"] and "join" in reg
    import os.path

    assert reg.get("join") is os.path.join
    reg.register("x", 1)
    with pytest.raises(RegistryError, match="registered twice"):
        reg.register("x", 2)
