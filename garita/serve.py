"""Start the dashboard: ``python -m garita.serve [streamlit run options]`` (what `make run` does).

Streamlit 1.67 treats an app that has a ``pages/`` folder as an old-style multipage app
until ``st.navigation`` has run once in the process: a deep link opened first after a
restart (``/over_time?...``) would run that page file directly, without the router, its
filter bar and its staff check, and keep doing so for every visitor. Garita routes only
with ``st.navigation``, so the old mode is switched off before the server starts.
"""

from __future__ import annotations

import sys

from streamlit.runtime.pages_manager import PagesManager
from streamlit.web import cli

from garita.db import ROOT


def main() -> None:
    PagesManager.uses_pages_directory = False
    sys.argv = ["streamlit", "run", str(ROOT / "dashboard.py"), *sys.argv[1:]]
    sys.exit(cli.main())


if __name__ == "__main__":
    main()
