"""Configuration layering and the path policy, without a daemon."""
from __future__ import annotations

import os

import pytest

from segue.renderd.client import is_loopback_address, is_loopback_host
from segue.renderd.config import (
    ConfigError,
    ServeConfig,
    load_config,
    split_address,
)
from segue.renderd.errors import PermissionDenied
from segue.renderd.paths import PathPolicy


@pytest.mark.parametrize(("host", "loopback"), [
    ("127.0.0.1", True), ("127.8.9.10", True), ("::1", True), ("localhost", True), ("LOCALHOST", True),
    ("0.0.0.0", False), ("::", False), ("192.168.1.4", False), ("render-node", False), ("localhost.evil", False),
])
def test_loopback_detection(host, loopback):
    assert is_loopback_host(host) is loopback
    assert is_loopback_address(f"[{host}]:50051" if ":" in host else f"{host}:50051") is loopback


def test_addresses_are_parsed():
    assert split_address("127.0.0.1:50051") == ("127.0.0.1", 50051)
    assert split_address("[::1]:0") == ("::1", 0)
    for bad in ("127.0.0.1", ":50051", "host:port", "host:70000"):
        with pytest.raises(ConfigError, match="listen"):
            split_address(bad)


def test_defaults_then_file_then_flags(tmp_path):
    (tmp_path / "roots" / "a").mkdir(parents=True)
    config_file = tmp_path / "renderd.toml"
    config_file.write_text('workers = 2\nqueue_limit = 5\nstore = "state"\nallow_root = ["roots/a"]\n')
    config = load_config(str(config_file), {"workers": 3, "listen": None})
    assert config.workers == 3  # the flag wins
    assert config.queue_limit == 5  # the file beats the default
    assert config.store == str(tmp_path / "state")  # relative to the file
    assert config.allow_root == (str(tmp_path / "roots" / "a"),)
    assert config.listen == ServeConfig().listen and config.grace == ServeConfig().grace


def test_wrongly_typed_settings_are_named(tmp_path):
    config_file = tmp_path / "renderd.toml"
    config_file.write_text('workers = "two"\n')
    with pytest.raises(ConfigError, match="workers"):
        load_config(str(config_file), {})
    config_file.write_text("workers = \n")
    with pytest.raises(ConfigError, match="renderd.toml"):
        load_config(str(config_file), {})


def test_policy_resolves_symlinks_and_dotdot(tmp_path):
    root, outside = tmp_path / "root", tmp_path / "outside"
    (root / "sub").mkdir(parents=True)
    outside.mkdir()
    (root / "link").symlink_to(outside)
    (root / "inner").symlink_to(root / "sub")
    policy = PathPolicy([str(root)])
    assert policy.allows(str(root)) and policy.allows(str(root / "sub" / "x.png"))
    assert policy.allows(str(root / "inner" / "new" / "deeper"))  # a symlink that stays inside
    assert policy.allows(str(root / "new" / ".." / "sub"))
    assert not policy.allows(str(root / ".." / "outside"))
    assert not policy.allows(str(root / "link" / "x.png"))
    assert not policy.allows(str(root / "sub" / ".." / ".." / "outside" / "x"))
    assert not policy.allows(str(tmp_path / "root-sibling"))  # a prefix is not a parent
    with pytest.raises(PermissionDenied) as info:
        policy.check("spec.out_dir", str(root / "link"))
    assert info.value.field == "spec.out_dir" and str(info.value).startswith("spec.out_dir: ")


def test_no_roots_means_no_restriction():
    assert PathPolicy().allows("/") and not PathPolicy().restricted
    assert PathPolicy([os.sep]).allows("/etc/hosts")


def test_retention_settings_from_file_and_flags_are_checked(tmp_path):
    config_file = tmp_path / "renderd.toml"
    config_file.write_text("keep_days = 7\nkeep_jobs = 200\n")
    config = load_config(str(config_file), {"keep_jobs": 0})
    assert (config.keep_days, config.keep_jobs) == (7, 0)  # the flag wins; 0 turns the limit off
    assert (ServeConfig().keep_days, ServeConfig().keep_jobs) == (30, 10_000)
    for flags, name in (({"keep_days": -1}, "keep_days"), ({"keep_days": float("nan")}, "keep_days"),
                        ({"keep_jobs": -5}, "keep_jobs"), ({"keep_jobs": 2.5}, "keep_jobs"),
                        ({"keep_jobs": True}, "keep_jobs")):
        with pytest.raises(ConfigError, match=name):
            load_config(None, flags)
