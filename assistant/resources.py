"""Where the data that ships with the assistant lives, in a source tree and in an install.

The jobs and phrases (``dialogs/``), the voice profiles (``voices/``) and the model manifest
(``models/manifest.yaml``) sit at the top of the source tree, beside the packages, because
staff edit them there. A wheel cannot install top-level folders, so ``setup.py`` copies them
into ``assistant/_data/`` when it builds one; this module finds whichever is present, so the
same settings work from a clone, an editable install and ``pip install .``.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
PACKAGED_DATA = PACKAGE_DIR / "_data"
SOURCE_ROOT = PACKAGE_DIR.parent


def data_root() -> Path:
    """The folder holding ``dialogs/``, ``voices/`` and ``models/``: the install's copy when
    the package was built into a wheel, otherwise the source tree."""
    return PACKAGED_DATA if PACKAGED_DATA.is_dir() else SOURCE_ROOT


DATA_ROOT = data_root()
