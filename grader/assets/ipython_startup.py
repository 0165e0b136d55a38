"""ImageNet class names for offline kernels, supplied through IPython's own startup folder.

`decode_predictions` loads `imagenet_class_index.json` with an md5 check, and the mirror's copy
(same names, pretty-printed) fails it. Rather than touch the notebooks, offline kernels get an
`IPYTHONDIR` whose startup file fills Keras's class-index cache from the mirror's file, so
`keras.applications.*.decode_predictions` works unchanged.
"""

from __future__ import annotations

from pathlib import Path

from grader.assets.catalog import find
from grader.assets.mirror import verified_file

STARTUP_TEMPLATE = '''\
# Written by `course assets prepare` for offline kernels only; see grader/assets/ipython_startup.py.
def _course_offline_imagenet_labels(path={path!r}):
    import json

    from keras.src.applications import imagenet_utils

    with open(path) as f:
        imagenet_utils.CLASS_INDEX = json.load(f)


_course_offline_imagenet_labels()
del _course_offline_imagenet_labels
'''


def prepare_ipython_dir(mirror: Path, ipython_dir: Path) -> Path:
    labels = verified_file(mirror, find("files", "imagenet_class_index").mirror)
    startup = ipython_dir / "profile_default" / "startup"
    startup.mkdir(parents=True, exist_ok=True)
    (startup / "00-course-offline-imagenet-labels.py").write_text(STARTUP_TEMPLATE.format(path=str(labels)))
    return ipython_dir
