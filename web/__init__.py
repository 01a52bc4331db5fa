"""``segue web``: a page where anyone with a browser makes a transition (docs/web.md).

One more client of segue-renderd, like the CLI and the editor integrations: the page
uploads two clips, asks the daemon for the transition, shows its progress and the
result beside a plain dissolve, and offers it for download. Modules:

* `app`: starting it (which daemon: ``--server``, a running one, or its own);
* `server`: the HTTP routes, the security rules and the static page (``static/``);
* `uploads`: clips streamed to disk, probed with the engine's readers, or refused;
* `jobs`: the daemon's jobs behind the page, their history and files.
"""
