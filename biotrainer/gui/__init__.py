"""The desktop app (PyQt5 + pyqtgraph): live session, client view, replay, library and compare screens.

Layout of the package, one reason to change per module:

- :mod:`theme` — dark and light palettes, fonts, the one stylesheet.
- :mod:`ring` — preallocated ring buffers the plots draw from (no Qt).
- :mod:`model` — :class:`~biotrainer.gui.model.SessionModel`, a bus listener that hands events to the GUI thread
  and keeps the state the screens render (buffers, phase, cue, metrics with reasons, device state).
- :mod:`pacer_widget`, :mod:`plots`, :mod:`metric_tiles` — views: they render a model, they hold no logic.
- :mod:`session_axis`, :mod:`attunement` — the replay's session-time axis and its attunement timeline and card
  (they draw :mod:`biotrainer.analysis.synchrony` results); :mod:`quiet_panel` — the calm live screen of a
  therapy session (no numbers to chase).
- :mod:`controller` — runs a live session on a worker thread; :mod:`replay_controller` replays a recording.
- :mod:`main_window`, :mod:`app` — menus, settings, start-up; :func:`biotrainer.gui.app.run_app` is the entry point.

Importing this package imports nothing from Qt; the modules below do.
"""

from biotrainer.core.lazy import lazy_face

__all__ = ["run_app"]
__getattr__, __dir__ = lazy_face(__name__, {"run_app": "app"}, globals())
