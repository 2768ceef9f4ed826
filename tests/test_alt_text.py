"""Alternative text for images: ``post new --media FILE --alt TEXT`` to the channel's
``publish(text, media=[MediaFile...])`` (docs/plugins.md, "Data types")."""

from __future__ import annotations

import json
import textwrap


def test_alt_text_goes_from_post_new_to_the_channel(workspace, cli, monkeypatch, clock):
    folder = workspace.parent / "plugs"
    folder.mkdir()
    (folder / "pics.py").write_text(textwrap.dedent('''
        import json
        from socialsell.api import Channel, Published, hookimpl

        class Pics(Channel):
            name = "pics"
            def publish(self, text, *, media=()):
                out = self.account.workspace.root / "sent.json"
                out.write_text(json.dumps([[str(m), m.alt, isinstance(m, str)] for m in media]))
                return Published(remote_id="p1")

        @hookimpl
        def register_channels(register):
            register("pics", Pics)
    '''))
    monkeypatch.setenv("SOCIALSELL_PLUGINS_DIR", str(folder))
    workspace.write_text(workspace.read_text() + '\n[[accounts]]\nname = "pics"\nchannel = "pics"\n')
    chart, photo = workspace.parent / "chart.png", workspace.parent / "photo.png"
    for image in (chart, photo):
        image.write_bytes(b"\x89PNG\r\n\x1a\n" + b"0" * 64)
    refused = cli("post", "new", "--channel", "pics", "--text", "x", "--at", "+1m", "--media", str(chart),
                  "--alt", "one", "--alt", "two")
    assert refused.exit_code == 2 and "2 --alt for 1 --media" in refused.output
    made = cli("post", "new", "--channel", "pics", "--text", "Our month", "--at", "+1m", "--media", str(chart),
               "--alt", "Bar chart: replies doubled in May", "--media", str(photo))
    assert made.exit_code == 0, made.output
    clock.advance(minutes=2)
    assert cli("run", "--once").exit_code == 0
    sent = json.loads((workspace.parent / "sent.json").read_text())
    assert sent == [[str(chart), "Bar chart: replies doubled in May", True], [str(photo), "", True]]
