from pathlib import Path

import pytest

from appliance.config import ConfigError, load


def test_precedence_defaults_file_environment_flags(tmp_path):
    f = tmp_path / "callbox.toml"
    f.write_text('data_dir = "/srv/a"\nweb_listen = "127.0.0.1:9000"\nlog_level = "debug"\n')
    assert load(f, environ={}).data_dir == Path("/srv/a")
    assert load(f, environ={"CALLBOX_DATA": "/srv/b"}).data_dir == Path("/srv/b")
    c = load(f, data="/srv/c", sip="[::1]:5070", environ={"CALLBOX_DATA": "/srv/b"})
    assert c.data_dir == Path("/srv/c")
    assert c.sip_address == ("::1", 5070)
    assert c.web_address == ("127.0.0.1", 9000)
    assert c.log_level == "debug"


@pytest.mark.parametrize("text, message", [
    ('data_dir = ', "callbox.toml"),
    ('colour = "blue"', "unknown setting"),
    ('web_listen = 8080', "must be a string"),
    ('log_level = "chatty"', "log_level"),
    ('web_listen = "localhost"', "ADDR:PORT"),
])
def test_bad_files_are_explained(tmp_path, text, message):
    f = tmp_path / "callbox.toml"
    f.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load(f, environ={})


def test_missing_named_file(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load(tmp_path / "nope.toml", environ={})
